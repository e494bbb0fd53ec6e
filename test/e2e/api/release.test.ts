import assert from 'node:assert/strict';
import { sharedFixture } from '../../support/fixtures.js';
import { startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { runHelpers } from '../../support/runs.js';

/** An admin's last resort: releasing an environment whose run would wait forever. */
describe('an operator can always get the environment back', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  const { clear, deploy, release, settled, waitFor } = runHelpers(() => h);
  beforeEach(clear);
  afterEach(clear);

  it('lets an admin release an environment whose run would wait forever', async () => {
    const waiting = await deploy('approval', await release());
    await waitFor(waiting.id, (r) => r.status === 'awaiting_approval', 'awaiting approval');
    const path = '/v1/services/web/environments/approval/release';
    assert.equal((await h.request('POST', path, { reason: 'stuck' }, TOKENS.ci)).status, 403);
    const released = await h.request('POST', path, { reason: 'nobody will approve' }, TOKENS.ops);
    assert.equal(released.status, 202, JSON.stringify(released.body));
    assert.equal(released.body.released, waiting.id);
    assert.equal((await h.waitForRun(waiting.id)).status, 'aborted');
    await settled('web', 'approval', waiting.id);
    assert.equal((await h.request('POST', path, {}, TOKENS.ops)).status, 409, 'nothing left to release');
  });
});
