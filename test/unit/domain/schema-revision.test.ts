import assert from 'node:assert/strict';
import { composeDowngrade, composeRevision, type ComposeRuntime } from '../../../src/commands/compose.js';
import { targetRunbook, updateSegments, updateSteps } from '../../../src/commands/runbook.js';
import { toShell } from '../../../src/commands/shell.js';
import { downgradeTarget, readRevision } from '../../../src/domain/schema-revision.js';
import { configProblems } from '../../support/config.js';

const runtime: ComposeRuntime = {
  kind: 'compose', dir: '/opt/shop', file: 'compose.yml', envFile: '.env', imageVars: { BACKEND_IMAGE: 'backend' },
  migrate: { service: 'backend', command: 'alembic upgrade head', revision: 'alembic current', downgrade: 'alembic downgrade {revision}' }, prune: false, keepReleases: 5,
};

describe('schema revisions', () => {
  it('reads the first word of the last non-empty line, and refuses output that names no revision', () => {
    assert.equal(readRevision('INFO  [alembic] Context impl\nae1027a6acf (head)\n\n'), 'ae1027a6acf');
    assert.equal(readRevision('20261203_add_total\n'), '20261203_add_total');
    assert.throws(() => readRevision('\n  \n'), /printed no revision/);
    assert.throws(() => readRevision("x'; rm -rf / #\n"), /does not look like a revision/);
  });

  it('downgrades only to a known revision other than the schema\'s', () => {
    assert.equal(downgradeTarget('r2', { revision: 'r1' }), 'r1');
    assert.equal(downgradeTarget('r1', { revision: 'r1' }), undefined);
    assert.equal(downgradeTarget(undefined, { revision: 'r1' }), undefined, 'the schema was never read');
    assert.equal(downgradeTarget('r2', {}), undefined, 'a release from before revision was configured');
  });

  it('runs revision and downgrade as the migration runs, the revision quoted', () => {
    const env = { BACKEND_IMAGE: 'ghcr.io/acme/b:sha-1@sha256:ab' };
    assert.equal(toShell(composeRevision(runtime, '/opt/shop', {})!), 'cd /opt/shop || exit 1\ndocker compose -f compose.yml --env-file .env run --rm backend alembic current');
    const downgrade = composeDowngrade(runtime, '/opt/shop', env, 'ae10')!;
    assert.equal(downgrade.label, 'downgrade: alembic downgrade ae10');
    assert.match(toShell(downgrade), /\nexport BACKEND_IMAGE=\S+\ndocker compose -f compose.yml --env-file .env run --rm backend alembic downgrade '?ae10'?$/);
    assert.equal(composeRevision({ ...runtime, migrate: { service: 'backend', command: 'alembic upgrade head' } }, '/opt/shop', {}), undefined);
  });

  it('reads the revision right after the migration, in an activity of its own whose answer the run keeps', () => {
    const runbook = targetRunbook({ runtime, pinned: { backend: 'r@sha256:ab' }, values: {}, dir: '/opt/shop', migrate: true, build: false });
    const steps = updateSteps(runbook, 1);
    assert.deepEqual(steps.map((s) => (s.kind === 'run' ? s.command.label : s.label)), ['pin images in .env', 'docker compose pull', 'migrate: alembic upgrade head', 'revision: alembic current', 'docker compose up -d', 'health checks (1)']);
    assert.deepEqual(updateSegments(steps), [{ from: 0, to: 2 }, { from: 2, to: 3 }, { from: 3, to: 4 }, { from: 4, to: 6 }]);
    const other = targetRunbook({ runtime, pinned: { backend: 'r@sha256:ab' }, values: {}, dir: '/opt/shop', migrate: false, build: false });
    assert.ok(!other.some((s) => s.kind === 'run' && s.readsRevision), 'only where the migration runs');
  });

  it('names what is wrong in migrate\'s revision and downgrade', () => {
    const config = (migrate: string) => `
ssh: { privateKey: k, knownHosts: /kh }
services:
  shop:
    images: { backend: ghcr.io/acme/b }
    runtime: { kind: compose, dir: /srv, imageVars: { BACKEND_IMAGE: backend }, migrate: ${migrate} }
    environments: { production: { targets: [ { name: web-1, address: 10.0.0.1 } ] } }
`;
    assert.deepEqual(configProblems(config('{ service: backend, command: up, revision: "alembic current", downgrade: "alembic downgrade -1" }'), {}), [
      'services.shop.runtime.migrate.downgrade: expected a command with {revision}, the revision to go down to',
    ]);
    assert.deepEqual(configProblems(config('{ service: backend, command: up, downgrade: "alembic downgrade {revision}" }'), {}), [
      'services.shop.runtime.migrate.downgrade: needs revision: Slipway must know which revision each release is at to go down to it',
    ]);
  });
});
