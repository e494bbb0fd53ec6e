import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerSecret } from '../../../src/redact.js';
import { OUTPUT_LINES, StepLogStore } from '../../../src/step-logs/store.js';

describe('step logs', () => {
  const fresh = (keepMs = 86_400_000) => new StepLogStore(mkdtempSync(join(tmpdir(), 'step-logs-')), keepMs);
  const ref = { run: 'deploy-web-prod-1/odd#id', target: 'web-1', phase: 'deploy' as const };

  it('keeps the last 64 lines of a step, with every known secret redacted, and its exit code and duration', () => {
    const store = fresh();
    registerSecret('hunter2-db-password');
    const step = store.begin(ref, 'docker compose up -d', 1);
    assert.deepEqual(store.read(ref.run, ref.target).map((s) => s.status), ['running'], 'visible from its start');
    for (let i = 1; i <= 100; i++) step.append(i === 90 ? 'DATABASE_URL=postgres://app:hunter2-db-password@db/app\n' : `line ${i}\n`);
    step.exited(1);
    step.end(false);
    const [record] = store.read(ref.run, ref.target);
    assert.equal(record!.status, 'failed');
    assert.equal(record!.exitCode, 1);
    assert.ok(record!.durationMs! >= 0);
    assert.equal(record!.output.length, OUTPUT_LINES);
    assert.equal(record!.output.at(-1), 'line 100');
    assert.equal(record!.output[0], 'line 37');
    assert.ok(record!.output.includes('DATABASE_URL=postgres://app:[REDACTED]@db/app'), record!.output.join('\n'));
  });

  it('drops the line a cut falls in, so a long output never keeps half a secret', () => {
    const store = fresh();
    registerSecret('s3cret-in-a-long-output');
    const step = store.begin(ref, 'noisy', 1);
    const secret = 's3cret-in-a-long-output';
    step.append(`${'x'.repeat(1000)}${secret}\n`);
    // The 64 KiB kept start in the middle of the secret.
    step.append(`${'y'.repeat(64 * 1024 - Math.floor(secret.length / 2) - 7)}\nlast\n`);
    step.end(true);
    const text = store.read(ref.run, ref.target)[0]!.output.join('\n');
    assert.ok(!text.includes('s3cret') && !text.includes('long-output'), 'no piece of the secret');
    assert.ok(text.endsWith('\nlast'));
  });

  it('lists every attempt of every step, oldest first, per target', async () => {
    const store = fresh();
    for (const [label, attempt] of [['pull', 1], ['up', 1], ['up', 2]] as const) {
      store.begin(ref, label, attempt).end(attempt === 2);
      await new Promise((r) => setTimeout(r, 2));
    }
    store.begin({ ...ref, target: 'web-2', phase: 'rollback' }, 'up', 1).end(true);
    assert.deepEqual(store.read(ref.run, 'web-1').map((s) => `${s.label}#${s.attempt}:${s.status}`), ['pull#1:failed', 'up#1:failed', 'up#2:succeeded']);
    assert.deepEqual(store.read(ref.run, 'web-2').map((s) => s.phase), ['rollback']);
    assert.deepEqual(store.read(ref.run, 'web-3'), [], 'nothing logged yet');
    assert.deepEqual(store.read('no-such-run', 'web-1'), []);
  });

  it('skips a file it did not write, and removes only runs older than the retention', () => {
    const store = fresh(60_000);
    store.begin(ref, 'pull', 1).end(true);
    store.begin({ ...ref, run: 'recent' }, 'pull', 1).end(true);
    const runDir = join(store.dir, readdirSync(store.dir).find((d) => d.startsWith('deploy'))!);
    const targetDir = join(runDir, readdirSync(runDir)[0]!);
    writeFileSync(join(targetDir, '999999999999999-zz.json'), '{"not":"a step"}');
    assert.equal(store.read(ref.run, ref.target).length, 1);

    const old = new Date(Date.now() - 120_000);
    utimesSync(targetDir, old, old);
    utimesSync(runDir, old, old);
    assert.equal(store.prune(), 1);
    assert.deepEqual(store.read(ref.run, ref.target), []);
    assert.equal(store.read('recent', ref.target).length, 1, 'a recent run stays');
  });

  it('removes only what it wrote: a directory it shares with the credential store keeps the keys', () => {
    const store = fresh(60_000);
    store.begin(ref, 'pull', 1).end(true);
    // stepLogs.dir set to /var/lib/slipway, which holds the rotated SSH keys too.
    const keys = join(store.dir, 'credentials', 'ssh');
    mkdirSync(keys, { recursive: true });
    writeFileSync(join(keys, 'deploy@10.0.0.1:22'), 'the only key the hosts accept');
    writeFileSync(join(store.dir, 'notes.txt'), 'kept by hand');
    const old = new Date(Date.now() - 120_000);
    for (const path of [join(store.dir, 'credentials'), keys, join(keys, 'deploy@10.0.0.1:22'), join(store.dir, 'notes.txt')]) utimesSync(path, old, old);
    const runDir = join(store.dir, readdirSync(store.dir).find((d) => d.startsWith('deploy'))!);
    for (const dir of [join(runDir, readdirSync(runDir)[0]!), runDir]) utimesSync(dir, old, old);

    assert.equal(store.prune(), 1, 'the old run');
    assert.deepEqual(store.read(ref.run, ref.target), []);
    assert.equal(readFileSync(join(keys, 'deploy@10.0.0.1:22'), 'utf8'), 'the only key the hosts accept');
    assert.equal(readFileSync(join(store.dir, 'notes.txt'), 'utf8'), 'kept by hand');
  });
});
