import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { trafficActivities } from '../../../src/activities/traffic.js';
import { FailureType, TransientFailureType } from '../../../src/domain/failures.js';
import { HostRunner } from '../../../src/ssh/runner.js';
import { SshSession, type SshSettings } from '../../../src/ssh/session.js';
import { drainServer } from '../../../src/traffic/drain.js';
import { HaproxyRuntimeApi, RuntimeApiUnreachable } from '../../../src/traffic/runtime-api.js';
import { sharedFixture } from '../../support/fixtures.js';
import { startHaproxy, type TestHaproxy } from '../../support/haproxy.js';
import { ensureOpenSsh, startOpenSshFleet, type OpenSshFleet } from '../../support/openssh.js';
import { freePort } from '../../../src/sandbox/fleet.js';

/** HAProxy's runtime API for real (Debian's haproxy), over TCP and as a unix socket through OpenSSH. */
describe('HAProxy\'s runtime API', function () {
  this.timeout(30_000);
  let haproxy: TestHaproxy;
  let fleet: OpenSshFleet;
  const apps: Server[] = [];
  let ssh: SshSettings;

  before(async function () {
    const reason = ensureOpenSsh();
    const servers: Record<string, string> = {};
    for (const name of ['web-1', 'web-2']) {
      const port = await freePort('127.0.0.1');
      // `/slow` holds its session open for a while: what a drain waits for.
      const app = createServer((req, res) => {
        if (req.url === '/slow') setTimeout(() => res.end('slow'), 1_500);
        else res.end(name);
      }).listen(port, '127.0.0.1');
      apps.push(app);
      servers[name] = `127.0.0.1:${port}`;
    }
    const started = reason ? undefined : await startHaproxy('shop', servers, '/');
    if (!started) { console.log('      skipped: HAProxy or OpenSSH is missing, and we are not root to install them'); this.skip(); }
    haproxy = started;
    fleet = await sharedFixture('ssh-fleet', () => startOpenSshFleet(['ssh-1'], 40), (f) => f.stop());
    ssh = { privateKey: fleet.clientKey.private, knownHostsPath: fleet.knownHostsPath, connectTimeoutMs: 2_000, keepaliveIntervalMs: 1_000 };
    // Both servers up, by HAProxy's own checks.
    const api = new HaproxyRuntimeApi(haproxy.runtimeApi);
    for (let i = 0; (await api.stats()).some((s) => s.status !== 'UP'); i++) {
      if (i > 50) throw new Error(`servers never up: ${JSON.stringify(await api.stats())}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await haproxy?.stop();
    for (const app of apps) app.close();
  });

  const via = () => ({ address: fleet.hosts[0]!.address, port: fleet.hosts[0]!.port, user: fleet.hosts[0]!.user });

  it('drains a server and readies it again over TCP, and reads its state and sessions', async () => {
    const api = new HaproxyRuntimeApi(haproxy.runtimeApi);
    await api.setState('shop', 'web-1', 'drain');
    assert.deepEqual((await api.stats()).map((s) => [s.server, s.status, s.sessions]), [['web-1', 'DRAIN', 0], ['web-2', 'UP', 0]]);
    await api.setState('shop', 'web-1', 'ready');
    assert.equal((await api.stats()).find((s) => s.server === 'web-1')!.status, 'UP');
  });

  it('does the same through SSH to the balancer\'s host, on its unix socket', async () => {
    const session = await SshSession.connect(via(), ssh);
    const api = new HaproxyRuntimeApi(haproxy.socket, (to) => session.openStream(to), `${haproxy.socket} on ${via().address}`);
    try {
      await api.setState('shop', 'web-2', 'drain');
      assert.equal((await api.stats()).find((s) => s.server === 'web-2')!.status, 'DRAIN');
      await api.setState('shop', 'web-2', 'ready');
      assert.equal((await api.stats()).find((s) => s.server === 'web-2')!.status, 'UP');
    } finally {
      session.close();
    }
  });

  it('drains: no new request reaches the server, and the wait ends when its open session does, or at drainTimeout', async () => {
    const api = new HaproxyRuntimeApi(haproxy.runtimeApi);
    const server = async () => {
      // A request through the balancer, held open by the server it lands on.
      const slow = fetch(`${haproxy.url}/slow`).then((r) => r.text());
      for (let i = 0; i < 50; i++) {
        const busy = (await api.stats()).find((s) => s.sessions > 0);
        if (busy) return { name: busy.server, slow };
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('the slow request never reached a server');
    };
    const first = await server();
    const drained = await drainServer(api, 'shop', first.name, 10_000, { pollMs: 50 });
    assert.equal(drained.sessionsLeft, 0);
    assert.ok(drained.waitedMs >= 800, `waited for the open session to end (${drained.waitedMs} ms)`);
    assert.equal(await first.slow, 'slow', 'the request in flight was served to its end');
    const servedBy = await Promise.all(Array.from({ length: 6 }, async () => (await fetch(`${haproxy.url}/`)).text()));
    assert.ok(servedBy.every((name) => name !== first.name), `no new request reached the drained ${first.name}: ${servedBy.join(', ')}`);
    assert.equal((await api.stats()).find((s) => s.server === first.name)!.status, 'DRAIN');
    await api.setState('shop', first.name, 'ready');

    const second = await server();
    const timedOut = await drainServer(api, 'shop', second.name, 300, { pollMs: 50 });
    assert.equal(timedOut.sessionsLeft, 1, 'drainTimeout ran out with the session still open');
    assert.ok(timedOut.waitedMs >= 300 && timedOut.waitedMs < 1_000, `${timedOut.waitedMs} ms`);
    await second.slow;
    await api.setState('shop', second.name, 'ready');
  });

  it('names the backend or server HAProxy does not have, and a runtime API that does not answer', async () => {
    const api = new HaproxyRuntimeApi(haproxy.runtimeApi);
    await assert.rejects(api.setState('shop', 'web-9', 'drain'), /backend "shop" has no server "web-9"/);
    await assert.rejects(api.setState('shp', 'web-1', 'drain'), /HAProxy has no backend "shp"/);
    const closed = new HaproxyRuntimeApi(`127.0.0.1:${await freePort('127.0.0.1')}`);
    await assert.rejects(closed.stats(), (e: Error) => e instanceof RuntimeApiUnreachable && /ECONNREFUSED/.test(e.message));
    // A connection dropped before any answer: a `set server` may not have been applied, so it is not taken for HAProxy's empty "done".
    const dropping = createNetServer((socket) => socket.end()).listen(0, '127.0.0.1');
    await once(dropping, 'listening');
    try {
      const dropped = new HaproxyRuntimeApi(`127.0.0.1:${(dropping.address() as AddressInfo).port}`);
      await assert.rejects(dropped.setState('shop', 'web-1', 'drain'), (e: Error) => e instanceof RuntimeApiUnreachable && /closed the connection without answering "set server"/.test(e.message));
    } finally {
      dropping.close();
    }
    const session = await SshSession.connect(via(), ssh);
    try {
      const missing = new HaproxyRuntimeApi('/nonexistent/admin.sock', (to) => session.openStream(to), `/nonexistent/admin.sock on ${via().address}`);
      await assert.rejects(missing.stats(), (e: Error) => e instanceof RuntimeApiUnreachable && /\/nonexistent\/admin\.sock on 127\.0\.0\.40/.test(e.message));
    } finally {
      session.close();
    }
  });

  it('as activities: checks the servers first, refuses to drain the last one serving, and types each failure', async () => {
    const runner = new HostRunner({
      privateKey: fleet.clientKey.private, knownHosts: fleet.knownHostsPath, connectTimeout: 2_000, keepaliveInterval: 1_000, retryFor: 0, commandTimeout: 10_000, maxConcurrentHandshakes: 30, passphrase: undefined,
    });
    const { checkTraffic, drainTarget, readyTarget } = trafficActivities({ runner });
    const lb = (server: string) => ({ kind: 'haproxy' as const, runtimeApi: haproxy.socket, via: via(), backend: 'shop', server });
    const drain = (server: string, onlyTarget: boolean) => drainTarget({ at: lb(server), drainTimeoutMs: 1_000, together: [server], onlyTarget });
    await checkTraffic([lb('web-1'), lb('web-2')]);
    await assert.rejects(checkTraffic([lb('web-1'), lb('web-3')]),
      (e: ApplicationFailure) => e.type === FailureType.LoadBalancerRefused && e.nonRetryable === true && /has no server "web-3"/.test(e.message));

    await drain('web-1', false);
    try {
      await assert.rejects(drain('web-2', false),
        (e: ApplicationFailure) => e.type === FailureType.LoadBalancerRefused && /web-2 is the last server of HAProxy's backend shop taking requests/.test(e.message));
      const direct = new HaproxyRuntimeApi(haproxy.runtimeApi);
      assert.equal((await direct.stats()).find((s) => s.server === 'web-2')!.status, 'UP', 'and it was left serving');
      // An environment of one target has no one else to send requests to: its drain goes on.
      await drain('web-2', true);
      await readyTarget(lb('web-2'), 1_000);
    } finally {
      await readyTarget(lb('web-1'), 1_000);
    }

    // A batch drains together: it may not take the backend's last servers with it.
    await assert.rejects(drainTarget({ at: lb('web-1'), drainTimeoutMs: 500, together: ['web-1', 'web-2'], onlyTarget: false }),
      (e: ApplicationFailure) => e.type === FailureType.LoadBalancerRefused && /once web-1, web-2 are drained together/.test(e.message));
    // A server readied a moment ago counts once HAProxy takes it back: the drain of the other waits for it.
    await drain('web-1', false);
    const waiting = drain('web-2', false);
    setTimeout(() => void new HaproxyRuntimeApi(haproxy.runtimeApi).setState('shop', 'web-1', 'ready'), 300);
    await waiting;
    const statuses = Object.fromEntries((await new HaproxyRuntimeApi(haproxy.runtimeApi).stats()).map((s) => [s.server, s.status]));
    assert.deepEqual(statuses, { 'web-1': 'UP', 'web-2': 'DRAIN' });
    await readyTarget(lb('web-2'), 1_000);

    const down = { kind: 'haproxy' as const, runtimeApi: `127.0.0.1:${await freePort('127.0.0.1')}`, backend: 'shop', server: 'web-1' };
    await assert.rejects(readyTarget(down, 1_000), (e: ApplicationFailure) => e.type === TransientFailureType.LoadBalancerUnreachable && e.nonRetryable === false);
  });

  it('the command kind: runs drain and ready over SSH where told, and a command that fails names itself', async () => {
    const runner = new HostRunner({
      privateKey: fleet.clientKey.private, knownHosts: fleet.knownHostsPath, connectTimeout: 2_000, keepaliveInterval: 1_000, retryFor: 0, commandTimeout: 10_000, maxConcurrentHandshakes: 30, passphrase: undefined,
    });
    const { drainTarget, readyTarget } = trafficActivities({ runner });
    const marks = join(mkdtempSync(join(tmpdir(), 'slipway-lb-')), 'marks');
    const at = { kind: 'command' as const, drain: `echo "drain web-1" >> ${marks}`, ready: `echo "ready web-1" >> ${marks}`, on: via() };
    await drainTarget({ at, drainTimeoutMs: 1_000, together: ['web-1'], onlyTarget: false });
    await readyTarget(at, 1_000);
    assert.equal(readFileSync(marks, 'utf8'), 'drain web-1\nready web-1\n');
    await assert.rejects(drainTarget({ at: { ...at, drain: 'echo "no such server" >&2; exit 3' }, drainTimeoutMs: 1_000, together: ['web-1'], onlyTarget: false }),
      (e: ApplicationFailure) => e.type === FailureType.CommandFailed && /drain: echo "no such server"/.test(e.message) && /no such server/.test(e.message));
  });
});
