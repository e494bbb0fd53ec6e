import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { emptyLedger } from '../../../src/domain/ledger.js';
import { sharedFixture } from '../../support/fixtures.js';
import { startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { runHelpers } from '../../support/runs.js';

/** A run always ends: a plan that cannot be carried out is refused, or fails with a named type, and the queue goes on. */
describe('runs whose plan cannot be carried out', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  const { clear, deploy, environment, file, release, restartEnvironment } = runHelpers(() => h);
  beforeEach(clear);
  afterEach(clear);

  it('refuses at POST a deploy whose templates cannot be filled, naming the template and the variable', async () => {
    const byTag = await h.request('POST', '/v1/deployments', { service: 'tagonly', environment: 'production', tag: 'v1.2.3' }, TOKENS.ops);
    assert.equal(byTag.status, 400, JSON.stringify(byTag.body));
    assert.deepEqual(byTag.body.errors.map((e: { field: string }) => e.field), ['services.tagonly.health.checks[0].http.bodyContains']);
    assert.match(byTag.body.detail, /template "\{sha7\}" uses \{sha7\}.*no commit is known when a service without a repo is deployed by tag/);
    const env = await environment('tagonly', 'production');
    assert.equal(env.active, null, 'nothing was enqueued');
    assert.deepEqual(env.history, []);
  });

  it('fails a rollback to a release that lacks an image the config names, with a named type, and lets the next run go', async () => {
    // The ledger says the known-good release ran without the backend image (an older config).
    const old = { sha: 'a1a1a1a'.padEnd(40, '0'), images: {}, runId: 'deploy-before-backend', deployedAt: new Date().toISOString() };
    await restartEnvironment('web', 'lacking', { ledger: { ...emptyLedger(), current: old, knownGood: [old] } });
    const bad = await release();
    writeFileSync(file('web-1', 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    const first = await deploy('lacking', bad);
    const good = await release();
    const second = await deploy('lacking', good);
    const failed = await h.waitForRun(first.id);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.deepEqual(failed.leftToFix.map((l: { target: string; type: string }) => [l.target, l.type]), [['web-1', 'ReleaseIncomplete']]);
    assert.match(failed.leftToFix[0].error, /no pinned reference for image "backend"/);
    assert.ok(!failed.awaitingOperator, 'a retry could not help: the run does not hold the environment');
    rmSync(file('web-1', 'bad-versions'));
    const next = await h.waitForRun(second.id);
    assert.equal(next.status, 'succeeded', 'the next run in the queue got the environment');
  });
});
