import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeMigrate, composePull, composeRecreate, composeUp, imageEnvironment, imagePrune, type ComposeRuntime } from '../../src/commands/compose.js';
import { readEnvValues, restoreEnvValues, rewriteEnvFile } from '../../src/commands/envfile.js';
import { backupFileCommand, readFileCommand, replaceFileCommand } from '../../src/commands/files.js';
import { quote, toShell, type HostCommand } from '../../src/commands/shell.js';
import { buildSteps, restartUnit } from '../../src/commands/systemd.js';
import { afterHealthySteps, targetRunbook, updateSegments, updateSteps } from '../../src/commands/runbook.js';
import { forLoginShell } from '../../src/ssh/session.js';
import { ensureDebianPackage } from '../support/packages.js';

/** A login shell whose syntax is not sh's (installed from Debian's packages when root). */
const tcsh = ensureDebianPackage('tcsh', '/usr/bin/tcsh');

const runtime: ComposeRuntime = {
  kind: 'compose', dir: '/opt/shop', file: 'docker-compose.prod.yml', envFile: '.env.production',
  imageVars: { BACKEND_IMAGE: 'backend', WORKER_IMAGE: 'backend' }, migrate: { service: 'backend', command: 'alembic upgrade head' }, prune: true,
};
const pinned = { backend: 'ghcr.io/acme/shop-backend:sha-abc1234@sha256:' + 'a'.repeat(64) };

/** Runs a command through a real shell with `printf` standing in for the program, returning argv as seen. */
function argvSeenByShell(command: HostCommand): string[] {
  const shell = toShell({ ...command, cwd: undefined }).replace(/^(env (\S+ )*)?\S+/, (m) => m.replace(/\S+$/, "printf '%s\\0'"));
  return execFileSync('sh', ['-c', shell]).toString().split('\0').slice(0, -1);
}

describe('host commands', () => {
  it('lists a target\'s runbook in order: pin, pull, migrate once on the first target only, up, prune; systemd builds once per host', () => {
    const labels = (migrate: boolean) => targetRunbook({ runtime, pinned, values: {}, dir: '/opt/shop', migrate, build: false })
      .map((s) => (s.kind === 'pin' ? s.label : `${s.command.label}${s.onceStep ? ` [once: ${s.onceStep}]` : ''}`));
    assert.deepEqual(labels(true), ['pin images in .env.production', 'docker compose pull', 'migrate: alembic upgrade head [once: migrate]', 'docker compose up -d', 'docker image prune']);
    assert.deepEqual(labels(false), ['pin images in .env.production', 'docker compose pull', 'docker compose up -d', 'docker image prune']);
    const systemd = { kind: 'systemd' as const, dir: '/srv/bot', unit: 'bot@{instance}.service', build: ['git checkout --force {sha}', 'npm ci'], envFile: '.env' };
    const steps = (build: boolean) => targetRunbook({ runtime: systemd, pinned: {}, values: { instance: '2', sha: 'abc' }, dir: '/srv/bot', migrate: false, build })
      .map((s) => (s.kind === 'run' ? [s.command.label, s.onceStep ?? null] : [s.label, null]));
    assert.deepEqual(steps(true), [['git checkout --force abc', 'build/0'], ['npm ci', 'build/1'], ['systemctl restart bot@2.service', null]]);
    assert.deepEqual(steps(false), [['systemctl restart bot@2.service', null]]);
  });

  it('splits a target\'s update into activities: the idempotent steps share one, a run-once step is its own; prune waits for healthy', () => {
    const label = (s: ReturnType<typeof updateSteps>[number]) => (s.kind === 'run' ? s.command.label : s.label);
    const compose = (migrate: boolean) => updateSteps(targetRunbook({ runtime, pinned, values: {}, dir: '/opt/shop', migrate, build: false }), 2);
    assert.deepEqual(compose(false).map(label), ['pin images in .env.production', 'docker compose pull', 'docker compose up -d', 'health checks (2)'], 'no prune on the way to healthy');
    assert.deepEqual(updateSegments(compose(false)), [{ from: 0, to: 4 }], 'one activity, one connection');
    assert.deepEqual(updateSegments(compose(true)), [{ from: 0, to: 2 }, { from: 2, to: 3 }, { from: 3, to: 5 }], 'the migration alone');
    assert.deepEqual(updateSegments(compose(true), 3), [{ from: 3, to: 5 }], 'a retry from up');
    assert.deepEqual(updateSegments(compose(true), 2), [{ from: 2, to: 3 }, { from: 3, to: 5 }], 'a retry from the migration');
    assert.deepEqual(afterHealthySteps(targetRunbook({ runtime, pinned, values: {}, dir: '/opt/shop', migrate: false, build: false })).map((c) => c.label), ['docker image prune']);
    const systemd = { kind: 'systemd' as const, dir: '/srv/bot', unit: 'bot@{instance}.service', build: ['git checkout --force {sha}', 'npm ci'], envFile: '.env' };
    const bot = updateSteps(targetRunbook({ runtime: systemd, pinned: {}, values: { instance: '1', sha: 'abc' }, dir: '/srv/bot', migrate: false, build: true }), 0);
    assert.deepEqual(updateSegments(bot), [{ from: 0, to: 1 }, { from: 1, to: 2 }, { from: 2, to: 3 }], 'each build step alone, then the restart');
  });

  it('quotes every word so that no value can inject a command', () => {
    const hostile = ["$(touch /tmp/pwned)", "a'b", '`id`', 'x; rm -rf /', 'new\nline', '', '*'];
    assert.deepEqual(argvSeenByShell({ label: 't', argv: ['prog', ...hostile] }), hostile);
    assert.equal(quote('sha-abc1234'), 'sha-abc1234');
    assert.throws(() => quote('a\0b'), /NUL/);
  });

  it('builds the compose steps with the pinned images in the environment', () => {
    const env = imageEnvironment(runtime, pinned);
    assert.deepEqual(env, { BACKEND_IMAGE: pinned.backend, WORKER_IMAGE: pinned.backend });
    assert.equal(toShell(composePull(runtime, '/opt/shop', env)),
      `cd /opt/shop && env BACKEND_IMAGE=${pinned.backend} WORKER_IMAGE=${pinned.backend} docker compose -f docker-compose.prod.yml --env-file .env.production pull`);
    assert.deepEqual(composeUp(runtime, '/opt/shop', env).argv,
      ['docker', 'compose', '-f', 'docker-compose.prod.yml', '--env-file', '.env.production', 'up', '-d', '--remove-orphans']);
    assert.equal(toShell(composeMigrate(runtime, '/opt/shop', {})!),
      'cd /opt/shop || exit 1\ndocker compose -f docker-compose.prod.yml --env-file .env.production run --rm backend alembic upgrade head');
    assert.equal(composeMigrate({ ...runtime, migrate: undefined }, '/opt/shop', {}), undefined);
    assert.deepEqual(imagePrune('/opt/shop').argv, ['docker', 'image', 'prune', '-f']);
    assert.throws(() => imageEnvironment(runtime, {}), /no pinned reference for image "backend"/);
  });

  it('builds systemd build steps and restarts', () => {
    assert.deepEqual(buildSteps('/opt/bot', ['git checkout --force abc']).map(toShell), ['cd /opt/bot || exit 1\ngit checkout --force abc']);
    assert.equal(toShell(restartUnit('/opt/bot', 'bot-worker@1.service')), 'cd /opt/bot && systemctl restart bot-worker@1.service');
  });

  it('guards every line of a script with its cd: nothing runs in the wrong directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-cd-'));
    const script = toShell({ label: 'build', argv: [], cwd: join(dir, 'missing'), script: 'echo building\ntouch built' });
    assert.throws(() => execFileSync('sh', ['-c', script], { cwd: dir, stdio: 'pipe' }));
    assert.throws(() => statSync(join(dir, 'built')), 'the second line did not run');
  });

  it('runs under /bin/sh whatever the login shell, values intact', function () {
    const command: HostCommand = { label: 'env', argv: [], cwd: "/tmp", env: { QUOTED: "it's $(not) run", MULTI: 'a\nb' }, script: 'printf "%s|" "$QUOTED" "$MULTI"\nprintf "%s" "$0"' };
    const wire = forLoginShell(toShell(command));
    const seen = (shell: string) => execFileSync(shell, ['-c', wire], { encoding: 'utf8' });
    assert.equal(seen('sh'), "it's $(not) run|a\nb|/bin/sh");
    if (!tcsh) return this.skip();
    assert.equal(seen(tcsh), "it's $(not) run|a\nb|/bin/sh", 'tcsh, whose syntax is not sh');
  });

  it('quotes directories with spaces', () => {
    assert.equal(toShell({ label: 'x', argv: ['ls'], cwd: "/srv/my app" }), "cd '/srv/my app' && ls");
  });
});

describe('env file rewrite', () => {
  it('changes only the named keys, keeps every other line and appends new keys', () => {
    const before = '# production\nDATABASE_URL=postgres://db/shop\nexport BACKEND_IMAGE=old\n\nFRONTEND_IMAGE=keep\n';
    const after = rewriteEnvFile(before, { BACKEND_IMAGE: 'ghcr.io/a/b:t@sha256:1', WORKER_IMAGE: 'w' });
    assert.equal(after, '# production\nDATABASE_URL=postgres://db/shop\nexport BACKEND_IMAGE=ghcr.io/a/b:t@sha256:1\n\nFRONTEND_IMAGE=keep\nWORKER_IMAGE=w\n');
    assert.equal(rewriteEnvFile(after, { BACKEND_IMAGE: 'ghcr.io/a/b:t@sha256:1', WORKER_IMAGE: 'w' }), after, 'idempotent');
    assert.equal(rewriteEnvFile('', { A: '1' }), 'A=1\n');
    assert.equal(rewriteEnvFile('A=1\nA=2\n', { A: '3' }), 'A=3\nA=3\n');
  });

  it('quotes values that need it and reads them back unchanged', () => {
    const values = { SPACE: 'a b', QUOTE: "it's", DOLLAR: '$HOME' };
    assert.deepEqual(readEnvValues(rewriteEnvFile('', values)), values);
    assert.throws(() => rewriteEnvFile('', { A: 'x\ny' }), /line break/);
  });

  it('replaces a file atomically, keeping the previous one and its mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-envfile-'));
    const target = join(dir, '.env');
    writeFileSync(target, 'OLD=1\n');
    chmodSync(target, 0o640);
    const command = replaceFileCommand(dir, '.env', 'NEW=2\n');
    execFileSync('sh', ['-c', toShell(command)], { input: command.stdin });
    assert.equal(readFileSync(target, 'utf8'), 'NEW=2\n');
    assert.equal(readFileSync(`${target}.slipway-prev`, 'utf8'), 'OLD=1\n');
    assert.equal(statSync(target).mode & 0o777, 0o640);
  });

  it('restores rotated values from a backup: old values back, variables that were new removed, other lines kept', () => {
    const backup = '# app\nDB=postgres://db\nAPI_KEY=old-key\n';
    const current = '# app\nDB=postgres://db2\nAPI_KEY=new-key\nAPI_KEY_ID=k2\nADDED_LATER=1\n';
    assert.equal(restoreEnvValues(current, backup, ['API_KEY', 'API_KEY_ID']), '# app\nDB=postgres://db2\nAPI_KEY=old-key\nADDED_LATER=1\n');
    assert.equal(restoreEnvValues('A=1\n', '', ['A']), '');
  });

  it('backs a file up once, so a retried rotation keeps what was there before it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-backup-'));
    writeFileSync(join(dir, '.env'), 'API_KEY=old\n');
    const backup = backupFileCommand(dir, '.env', '.env.slipway-rotation-r1');
    execFileSync('sh', ['-c', toShell(backup)]);
    writeFileSync(join(dir, '.env'), 'API_KEY=new\n');
    execFileSync('sh', ['-c', toShell(backup)]);
    assert.equal(readFileSync(join(dir, '.env.slipway-rotation-r1'), 'utf8'), 'API_KEY=old\n');
    execFileSync('sh', ['-c', toShell(backupFileCommand(dir, '.missing', '.missing.bak'))]);
    assert.equal(readFileSync(join(dir, '.missing.bak'), 'utf8'), '', 'a missing file is backed up as empty');
    assert.equal(statSync(join(dir, '.missing.bak')).mode & 0o777, 0o600);
    assert.equal(readFileCommand(dir, '.env').sensitiveOutput, true, 'what a read prints never reaches an error');
  });

  it('recreates the compose services after a rotation so they read the new env file', () => {
    assert.equal(toShell(composeRecreate(runtime, '/opt/shop')), 'cd /opt/shop && docker compose -f docker-compose.prod.yml --env-file .env.production up -d --force-recreate --remove-orphans');
  });
});
