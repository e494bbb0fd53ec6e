import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { trafficActivities } from '../../../src/activities/traffic.js';
import { HostRunner } from '../../../src/ssh/runner.js';
import { startCaddy, type TestCaddy } from '../../support/caddy.js';
import { sharedFixture } from '../../support/fixtures.js';
import { ensureOpenSsh, startOpenSshFleet, type OpenSshFleet } from '../../support/openssh.js';

const SCRIPT = join(import.meta.dirname, '..', '..', '..', 'deploy', 'traffic', 'caddy-upstream');

/**
 * docs/traffic.md's Caddy example as written: the `command` kind running
 * deploy/traffic/caddy-upstream over SSH on the balancer's host, against Debian's Caddy.
 */
describe('Caddy through the command kind', function () {
  this.timeout(30_000);
  let caddy: TestCaddy;
  let fleet: OpenSshFleet;
  const apps: Server[] = [];
  const upstreams: Record<string, string> = {};

  before(async function () {
    for (const name of ['web-1', 'web-2']) {
      const app = createServer((_req, res) => res.end(name)).listen(0, '127.0.0.1');
      await once(app, 'listening');
      apps.push(app);
      upstreams[name] = `127.0.0.1:${(app.address() as AddressInfo).port}`;
    }
    const started = ensureOpenSsh() ? undefined : await startCaddy('shop', Object.values(upstreams));
    if (!started) { console.log('      skipped: Caddy or OpenSSH is missing, and we are not root to install them'); this.skip(); }
    caddy = started;
    fleet = await sharedFixture('ssh-fleet', () => startOpenSshFleet(['ssh-1'], 40), (f) => f.stop());
  });
  after(async () => {
    await caddy?.stop();
    for (const app of apps) app.close();
  });

  const answers = async (n: number) => new Set(await Promise.all(Array.from({ length: n }, async () => (await fetch(caddy.url)).text())));
  const listed = async () => ((await (await fetch(`http://${caddy.admin}/id/shop/upstreams`)).json()) as Array<{ dial: string }>).map((u) => u.dial);

  it('takes a target out of the reverse_proxy and puts it back, idempotently', async () => {
    const runner = new HostRunner({
      privateKey: fleet.clientKey.private, knownHosts: fleet.knownHostsPath, connectTimeout: 2_000, keepaliveInterval: 1_000, retryFor: 0, commandTimeout: 10_000, maxConcurrentHandshakes: 30, passphrase: undefined,
    });
    const { drainTarget, readyTarget } = trafficActivities({ runner });
    const host = fleet.hosts[0]!;
    // As rendered for web-1 from `drain: "CADDY_ADMIN=… caddy-upstream remove {host}:<port>"`.
    const command = (action: string) => `CADDY_ADMIN=${caddy.admin} ${SCRIPT} ${action} ${upstreams['web-1']}`;
    const at = { kind: 'command' as const, drain: command('remove'), ready: command('add'), on: { address: host.address, port: host.port, user: host.user } };
    assert.deepEqual(await answers(20), new Set(['web-1', 'web-2']));

    await drainTarget({ at, drainTimeoutMs: 1_000, together: [], onlyTarget: false });
    assert.deepEqual(await listed(), [upstreams['web-2']]);
    assert.deepEqual(await answers(20), new Set(['web-2']), 'no request goes to web-1');
    // A retried drain (its first attempt's answer lost) changes nothing more.
    await drainTarget({ at, drainTimeoutMs: 1_000, together: [], onlyTarget: false });
    assert.deepEqual(await listed(), [upstreams['web-2']]);

    await readyTarget(at, 1_000);
    await readyTarget(at, 1_000);
    assert.deepEqual((await listed()).sort(), Object.values(upstreams).sort(), 'back once, not twice');
    assert.deepEqual(await answers(20), new Set(['web-1', 'web-2']));
  });
});
