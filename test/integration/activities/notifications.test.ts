import assert from 'node:assert/strict';
import { notificationActivities } from '../../../src/activities/notifications.js';
import { parseConfig } from '../../../src/config/load.js';
import { notificationsFor } from '../../../src/config/notifications.js';
import { startReceiver, type Receiver } from '../../support/receiver.js';

/** A run's hooks are named in its input; the worker that sends may have a newer config. */
describe('notification hooks across a config change', () => {
  let ops: Receiver;
  let payments: Receiver;
  before(async () => { ops = await startReceiver({ token: null }); payments = await startReceiver({ token: null }); });
  after(async () => { await ops.stop(); await payments.stop(); });

  const config = (hooks: string[]) => parseConfig(`
ssh: { privateKey: x, knownHosts: /k }
services:
  shop:
    runtime: { kind: compose, dir: /srv/shop }
    environments:
      production: { targets: [ { name: web-1, address: 10.0.0.1 } ] }
notifications:
${hooks.join('\n')}
`, { env: {} });
  const opsHook = () => `  - { url: "${ops.url}/ops", format: json, events: [succeeded, failed] }`;
  const paymentsHook = () => `  - { url: "${payments.url}/payments", format: json, events: [succeeded, failed] }`;
  const run = { id: 'deploy-shop-production-1', kind: 'deploy', service: 'shop', environment: 'production', status: 'failed' };

  it('sends each event to the hook the run named, after the config was reordered, and to none that was removed', async () => {
    const started = config([opsHook(), paymentsHook()]);
    const hooks = notificationsFor(started.notifications, 'shop', 'run', { self: '/v1/deployments/x', ui: 'http://ui/x' })!.hooks;
    // The worker restarts with the hooks in another order, then without the ops hook.
    const { sendNotification } = notificationActivities({ config: config([paymentsHook(), opsHook()]) });
    await sendNotification(hooks[0]!.hook, 'failed', run);
    assert.deepEqual([ops.calls.map((c) => c.url), payments.calls.map((c) => c.url)], [['/ops'], []], "the ops team's event, with its error, reached the ops team only");
    const removed = notificationActivities({ config: config([paymentsHook()]) });
    await assert.rejects(removed.sendNotification(hooks[0]!.hook, 'failed', run), /no longer in the config/);
    assert.equal(payments.calls.length, 0);
  });
});
