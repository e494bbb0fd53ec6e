import assert from 'node:assert/strict';
import { sharedFixture } from '../../support/fixtures.js';
import { startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { runHelpers } from '../../support/runs.js';

/** Idempotency keys across the environment continuing as new. */
describe('idempotency keys', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  const { clear, deploy, release, restartEnvironment } = runHelpers(() => h);
  beforeEach(clear);
  afterEach(clear);

  it('return the same run after the environment continued as new, and never reuse a run id', async () => {
    // A small history threshold, so that a few deploys make it continue as new.
    const handle = await restartEnvironment('web', 'ledger', { continueAfterEvents: 30 });
    const sha = await release();
    const key = { 'Idempotency-Key': `ci-build-${Date.now()}` };
    const first = await h.request('POST', '/v1/deployments', { service: 'web', environment: 'ledger', sha }, TOKENS.ci, key);
    assert.equal(first.status, 202);
    await h.waitForRun(first.body.id);
    const firstRunOfEnvironment = (await handle.describe()).runId;
    for (let i = 0; i < 3; i++) await h.waitForRun((await deploy('ledger', await release())).id);
    for (let i = 0; (await handle.describe()).runId === firstRunOfEnvironment; i++) {
      if (i > 100) assert.fail('the environment never continued as new');
      await new Promise((r) => setTimeout(r, 100));
    }
    const repeat = await h.request('POST', '/v1/deployments', { service: 'web', environment: 'ledger', sha }, TOKENS.ci, key);
    assert.equal(repeat.status, 202);
    assert.equal(repeat.body.id, first.body.id);
    assert.equal(repeat.body.status, 'succeeded', 'the first run, not a new one under its id');
    const other = await h.request('POST', '/v1/deployments', { service: 'web', environment: 'ledger', sha: await release() }, TOKENS.ci, key);
    assert.equal(other.status, 409, 'the same key with another body');

    const rollbackKey = { 'Idempotency-Key': `rollback-${Date.now()}` };
    const rollbacks = [
      await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'ledger' }, TOKENS.ci, rollbackKey),
      await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'ledger' }, TOKENS.ci, rollbackKey),
    ];
    assert.deepEqual(rollbacks.map((r) => r.status), [202, 202]);
    assert.equal(rollbacks[1]!.body.id, rollbacks[0]!.body.id);
    await h.waitForRun(rollbacks[0]!.body.id);
  });

  it('never name a run whose body differed, even once the environment has forgotten the key', async () => {
    const key = { 'Idempotency-Key': `ci-build-forgotten-${Date.now()}` };
    const body = { service: 'web', environment: 'ledger', sha: await release() };
    const first = await h.request('POST', '/v1/deployments', body, TOKENS.ci, key);
    assert.equal(first.status, 202);
    await h.waitForRun(first.body.id);
    // A day later, say: the environment's window has passed (it starts afresh, knowing no key).
    await restartEnvironment('web', 'ledger', {});
    const same = await h.request('POST', '/v1/deployments', body, TOKENS.ci, key);
    assert.deepEqual([same.status, same.body.id, same.body.status], [202, first.body.id, 'succeeded'], 'the same request still names the first run, from Temporal');
    const other = await h.request('POST', '/v1/deployments', { ...body, sha: await release() }, TOKENS.ci, key);
    assert.equal(other.status, 202, 'nothing remembers the key with the first body but the first run');
    assert.notEqual(other.body.id, first.body.id, 'a new run, under an id of its own');
    assert.equal((await h.waitForRun(other.body.id)).status, 'succeeded');
    assert.equal((await h.request('GET', `/v1/deployments/${first.body.id}`, undefined, TOKENS.reader)).body.version.sha, body.sha, 'the first run is still the first release');
  });
});
