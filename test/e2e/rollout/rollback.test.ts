import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { hostCalls } from '../../../src/sandbox/fleet.js';
import { sharedFixture } from '../../support/fixtures.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { runHelpers } from '../../support/runs.js';

/** Rollbacks that finish: batch by batch, last first; a host that cannot come back waits for an operator without stopping the others. */
describe('rollbacks that finish', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  const { act, clear, deploy, file, get, release, settled, waitFor, webEnv } = runHelpers(() => h);
  beforeEach(clear);
  afterEach(clear);

  it('rolls back batch by batch, last first and in parallel; a host that cannot come back waits for retry without stopping the others', async () => {
    const good = await h.waitForRun((await deploy('stuck', await release())).id);
    assert.equal(good.status, 'succeeded');
    clear();
    const bad = await release();
    writeFileSync(file('web-2', 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    const started = await deploy('stuck', bad);
    // web-3 is healthy on the new version; from now on it cannot pull.
    await waitFor(started.id, (r) => r.targets[2].status === 'healthy', 'web-3 healthy');
    writeFileSync(file('web-3', 'fail-pull'), 'registry: connection refused\n');
    const queued = await deploy('stuck', good.version.sha);
    const stuck = await waitFor(started.id, (r) => r.status === 'failed', 'failed');
    assert.equal(stuck.awaitingOperator, true);
    assert.deepEqual(stuck.leftToFix.map((l: { target: string }) => l.target), ['web-3']);
    assert.match(stuck.leftToFix[0].error, /connection refused/);
    assert.deepEqual(stuck.targets.map((t: { status: string }) => t.status), ['rolled_back', 'rolled_back', 'failed']);
    for (const host of ['web-1', 'web-2']) assert.ok(webEnv(host).includes(`BACKEND_IMAGE=${good.version.images.backend}\n`), `${host} is back`);
    // The second batch went back together, before the canary.
    const rollbackPull = (host: string) => hostCalls(h.host(host)).filter((c) => c.step === 'pull').at(-1)!.at;
    const lastUp = (host: string) => hostCalls(h.host(host)).filter((c) => c.step === 'up').at(-1)!.at;
    assert.ok(rollbackPull('web-3') < lastUp('web-2'), 'web-2 and web-3 were rolled back in parallel');
    assert.ok(lastUp('web-2') <= rollbackPull('web-1'), 'the canary last');
    assert.equal((await get(queued.id)).status, 'queued', 'the environment is held until the operator decides');

    rmSync(file('web-3', 'fail-pull'));
    assert.equal((await act(started.id, 'retry')).status, 202);
    const done = await h.waitForRun(started.id);
    assert.equal(done.status, 'rolled_back', JSON.stringify(done));
    assert.equal(done.leftToFix, undefined);
    assert.ok(webEnv('web-3').includes(`BACKEND_IMAGE=${good.version.images.backend}\n`), 'web-3 is back after the retry');
    assert.equal((await h.waitForRun(queued.id)).status, 'succeeded');
  });

  it('rolls back only what it touched when a host presents a new key: that host is left as it was, and the environment is released', async () => {
    const good = await h.waitForRun((await deploy('rekeyed', await release())).id);
    assert.equal(good.status, 'succeeded');
    const before = webEnv('web-2');
    const restore = await h.fleet.changeHostKey(h.host('web-2'));
    try {
      clear();
      const run = await h.waitForRun((await deploy('rekeyed', await release())).id);
      assert.equal(run.status, 'rolled_back', JSON.stringify(run));
      assert.equal(run.awaitingOperator, undefined);
      assert.equal(run.leftToFix, undefined);
      assert.equal(run.error.type, 'HostKeyMismatch');
      assert.deepEqual(run.targets.map((t: { name: string; status: string }) => `${t.name} ${t.status}`), ['web-1 rolled_back', 'web-2 failed']);
      assert.ok(webEnv('web-1').includes(`BACKEND_IMAGE=${good.version.images.backend}\n`), 'the canary is back');
      assert.equal(webEnv('web-2'), before, 'the host with the new key was never touched');
      assert.deepEqual(h.steps('web-2'), [], 'no command reached it, not even a rollback');
      const env = await settled('web', 'rekeyed', run.id);
      assert.equal(env.current.sha, good.version.sha);
    } finally {
      await restore();
    }
  });

  it('aborts a rollback in progress: it stops where it is and ends failed, listing who is left on what', async () => {
    await h.waitForRun((await deploy('stuck', await release())).id);
    clear();
    const bad = await release();
    writeFileSync(file('web-2', 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    writeFileSync(file('web-1', 'delay-pull'), '4');
    const started = await deploy('stuck', bad);
    await waitFor(started.id, (r) => r.phase === 'rollback' && r.targets[1].status === 'rolled_back' && r.targets[2].status === 'rolled_back', 'rolling back the canary');
    await new Promise((r) => setTimeout(r, 500));
    const aborted = await act(started.id, 'abort');
    assert.equal(aborted.status, 202, JSON.stringify(aborted.body));
    const run = await h.waitForRun(started.id);
    assert.equal(run.status, 'failed');
    assert.deepEqual(run.leftToFix.map((l: { target: string }) => l.target), ['web-1']);
    assert.match(run.leftToFix[0].version, new RegExp(`unknown: between ${bad}`));
    assert.deepEqual(run.targets.map((t: { status: string }) => t.status), ['failed', 'rolled_back', 'rolled_back']);
    const entry = (await settled('web', 'stuck', started.id)).history.find((e: { runId: string }) => e.runId === started.id);
    assert.match(entry.leftToFix[0], /^web-1 is left on unknown/);
  });

  it('never bounces: a second default rollback does not return to the version just rolled back from, and the ledger says why', async () => {
    const oldest = await h.waitForRun((await deploy('stuck', await release())).id);
    const middle = await h.waitForRun((await deploy('stuck', await release())).id);
    const newest = await h.waitForRun((await deploy('stuck', await release())).id);
    assert.equal(newest.status, 'succeeded');
    const back = async () => h.waitForRun((await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'stuck', reason: 'bad release' })).body.id);
    assert.equal((await back()).version.sha, middle.version.sha);
    const second = await back();
    assert.equal(second.status, 'succeeded');
    assert.equal(second.version.sha, oldest.version.sha, 'further back, not to the version rolled back from');
    const env = await settled('web', 'stuck', second.id);
    assert.deepEqual(env.retired.slice(0, 2).map((r: { sha: string }) => r.sha), [middle.version.sha, newest.version.sha]);
    assert.match(env.retired[1].reason, /^rolled back from by rollback-web-stuck-\S+ \(bad release\)$/);
    assert.ok(!env.knownGood.some((r: { sha: string }) => r.sha === newest.version.sha));
  });
});
