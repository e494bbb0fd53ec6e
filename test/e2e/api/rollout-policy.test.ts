import assert from 'node:assert/strict';
import { sharedFixture } from '../../support/fixtures.js';
import { startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { FINAL, runHelpers } from '../../support/runs.js';

/** Request overrides may only make a rollout safer, end to end. */
describe('request overrides may only make a rollout safer', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  const { act, clear, deploy, release, waitFor } = runHelpers(() => h);
  beforeEach(clear);
  afterEach(clear);

  it('refuses, without admin, anything that loosens the environment\'s policy, naming the field', async () => {
    const sha = await release();
    const refused = async (environment: string, rollout: Record<string, unknown>, field: string) => {
      const answer = await h.request('POST', '/v1/deployments', { service: 'web', environment, sha, rollout }, TOKENS.ci);
      assert.equal(answer.status, 403, `${JSON.stringify(rollout)}: ${JSON.stringify(answer.body)}`);
      assert.deepEqual(answer.body.errors.map((e: { field: string }) => e.field), [field]);
    };
    await refused('approval', { approval: false }, 'rollout.approval');
    await refused('fleet', { bake: '0s' }, 'rollout.bake');
    await refused('fleet', { canary: '100%' }, 'rollout.canary');
    await refused('fleet', { batchSize: 3 }, 'rollout.batchSize');
    await refused('fleet', { autoRollback: false }, 'rollout.autoRollback');
    await refused('fleet', { imageTimeout: '1h' }, 'rollout.imageTimeout');
    const tooLong = await h.request('POST', '/v1/deployments', { service: 'web', environment: 'fleet', sha, rollout: { bake: '25h' } }, TOKENS.ops);
    assert.equal(tooLong.status, 400);
    assert.deepEqual(tooLong.body.errors.map((e: { field: string }) => e.field), ['rollout.bake']);

    // Safer, or the same as the policy: allowed.
    const safer = await deploy('fleet', sha, { rollout: { canary: 1, batchSize: 1, bake: '2s', approval: true, autoRollback: true } });
    await waitFor(safer.id, (r) => r.status === 'awaiting_approval', 'awaiting approval');
    assert.equal((await act(safer.id, 'approve')).status, 202);
    assert.equal((await h.waitForRun(safer.id)).status, 'succeeded');
    const admin = await deploy('fleet', sha, { rollout: { bake: '0s', batchSize: 3 } }, TOKENS.ops);
    assert.ok(FINAL.includes((await h.waitForRun(admin.id)).status));
  });
});
