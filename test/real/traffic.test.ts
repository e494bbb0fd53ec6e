import assert from 'node:assert/strict';
import { TOKENS } from '../support/api-client.js';
import { serverStatuses, untilAllServing, watchBalancer } from '../support/haproxy.js';
import { startLoad, type LoadResult } from '../support/load.js';
import { useRealStack, WEB_PORTS, type RealStack } from '../support/real-stack.js';

/**
 * Zero downtime behind a real HAProxy: requests go through it all along while Slipway replaces
 * the test app on three hosts. The app exits at once on SIGTERM, so every request in flight
 * on a replica that is replaced fails: `bare`, the same app behind the same kind of balancer
 * without `traffic`, shows that the load used here does lose requests; `web`, with `traffic`,
 * must lose none.
 */
describe('traffic: zero downtime behind HAProxy', function () {
  this.timeout(300_000);
  let s: RealStack;
  const releases: Record<string, { sha: string; digest: string }> = {};

  before(async function () {
    s = await useRealStack(this);
    releases.w1 = await s.release({ version: 'w1', revision: 'w' });
    releases.w2 = await s.release({ version: 'w2', revision: 'w' });
    // Both services start on w1, every replica up in its balancer, before any load.
    for (const service of ['web', 'bare'] as const) {
      const run = await deploy(service, 'w1');
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      await untilAllServing(s.balancers[service], service);
    }
  });

  async function deploy(service: 'web' | 'bare', release: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const started = await s.request('POST', '/v1/deployments', { service, environment: 'production', sha: releases[release]!.sha });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return s.waitForRun(started.body.id, 180_000);
  }

  /** Runs `work` with load through `service`'s balancer, and answers what the load saw and which statuses each server showed. */
  async function underLoad<T>(service: 'web' | 'bare', work: () => Promise<T>): Promise<{ result: T; load: LoadResult; seen: Map<string, Set<string>> }> {
    const lb = s.balancers[service];
    const watch = watchBalancer(lb, service);
    const load = startLoad(lb.url);
    try {
      // Some load before the change, so that replicas are busy when it starts.
      await new Promise((r) => setTimeout(r, 500));
      const result = await work();
      await new Promise((r) => setTimeout(r, 500));
      return { result, load: await load.stop(), seen: await watch.stop() };
    } finally {
      await load.stop();
      await watch.stop();
    }
  }

  const drainedServers = (seen: Map<string, Set<string>>) => [...seen].filter(([, statuses]) => [...statuses].some((status) => status.startsWith('DRAIN'))).map(([server]) => server).sort();

  it('replaces every replica under load without a failed request, where the same load without traffic loses some', async () => {
    const control = await underLoad('bare', () => deploy('bare', 'w2'));
    assert.equal(control.result.status, 'succeeded', JSON.stringify(control.result.error));
    assert.ok(control.load.failed > 0, `without traffic, replacing the replicas fails requests in flight (${control.load.sent} sent): the test app and the load do show downtime`);
    assert.deepEqual(drainedServers(control.seen), [], 'nothing drained them');

    const run = await underLoad('web', () => deploy('web', 'w2'));
    assert.equal(run.result.status, 'succeeded', JSON.stringify(run.result.error));
    assert.ok(run.load.sent > 200, `a real load went through (${run.load.sent} requests)`);
    assert.equal(run.load.failed, 0, `no request failed with traffic: ${run.load.failures.join('; ')}`);
    assert.deepEqual(drainedServers(run.seen), s.hosts.map((h) => h.name).sort(), 'every server was drained during the run');
    // `UP 2/3`: up, one check missed while it restarted; not drained.
    const statuses = await serverStatuses(s.balancers.web, 'web');
    assert.ok(Object.keys(statuses).length === 3 && Object.values(statuses).every((status) => /^UP\b/.test(status)), `all are back in rotation: ${JSON.stringify(statuses)}`);
    for (const host of s.hosts) assert.match(await (await fetch(`http://${host.address}:${WEB_PORTS.web}/version`)).text(), /"version":"w2"/);
    console.log(`      without traffic: ${control.load.failed} of ${control.load.sent} requests failed; with it: ${run.load.failed} of ${run.load.sent}`);

    const log = await s.request('GET', `/v1/deployments/${run.result.id}/targets/${s.hosts[1]!.name}`, undefined, TOKENS.reader);
    assert.equal(log.status, 200, JSON.stringify(log.body));
    const labels = (log.body.steps as Array<{ label: string }>).map((step) => step.label);
    // The prune's steps follow the ready: nothing waits for them.
    assert.match(labels.join(' → '), /^drain \(HAProxy web\/real-2\) → .*up -d.* → ready \(HAProxy web\/real-2\)( → [^→]*prune[^→]*| → keep [^→]*)*$/, `the step log shows the drain first and the ready once healthy: ${labels.join(' → ')}`);
  });

  it('shows the drain first and the ready last in a dry run, touching nothing', async () => {
    const before = await serverStatuses(s.balancers.web, 'web');
    const { status, body: plan } = await s.request('POST', '/v1/deployments', { service: 'web', environment: 'production', sha: releases.w1!.sha, dryRun: true });
    assert.equal(status, 200, JSON.stringify(plan));
    const commands: string[] = plan.targets[1].commands;
    assert.match(commands[0]!, new RegExp(`^set server web/real-2 state drain   # HAProxy ${s.balancers.web.runtimeApi}, then wait for its sessions to end \\(at most 5 s\\)$`));
    const ready = commands.indexOf('set server web/real-2 state ready   # once healthy');
    assert.ok(commands.findIndex((c) => c.includes(' up -d')) > 0 && ready > commands.findIndex((c) => c.includes(' up -d')), commands.join('\n'));
    assert.ok(commands.slice(ready + 1).every((c) => c.endsWith('# once healthy, nothing waits for it')), 'only what nothing waits for comes after the ready');
    assert.deepEqual(await serverStatuses(s.balancers.web, 'web'), before, 'nothing drained');
  });

  it('keeps a canary that fails its checks out of rotation until it is healthy on the old version again', async () => {
    releases.bad = await s.release({ version: 'bad', revision: 'w', healthy: false });
    const run = await underLoad('web', () => deploy('web', 'bad'));
    assert.equal(run.result.status, 'rolled_back', JSON.stringify(run.result));
    assert.equal(run.load.failed, 0, `no request failed, none went to the bad canary: ${run.load.failures.join('; ')}`);
    assert.deepEqual(drainedServers(run.seen), [s.hosts[0]!.name], 'only the canary was drained');
    assert.equal((await serverStatuses(s.balancers.web, 'web'))[s.hosts[0]!.name]!.startsWith('DRAIN'), false, 'the canary is back in rotation');
    assert.match(await (await fetch(`http://${s.hosts[0]!.address}:${WEB_PORTS.web}/version`)).text(), /"version":"w2"/, 'on the old version');
    await untilAllServing(s.balancers.web, 'web');
  });

  it('rotates an env secret, restarting every replica, without a failed request', async () => {
    const run = await underLoad('web', async () => {
      const started = await s.request('POST', '/v1/rotations', { kind: 'env-secret', service: 'web', environment: 'production', variables: { API_KEY: { generate: { bytes: 16, encoding: 'hex' } } } }, TOKENS.ops);
      assert.equal(started.status, 202, JSON.stringify(started.body));
      for (let i = 0; i < 1200; i++) {
        const rotation = await s.request('GET', `/v1/rotations/${started.body.id}`, undefined, TOKENS.reader);
        if (['succeeded', 'failed', 'compensated'].includes(rotation.body.status)) return rotation.body;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the rotation never ended');
    });
    assert.equal(run.result.status, 'succeeded', JSON.stringify(run.result));
    assert.equal(run.load.failed, 0, `no request failed: ${run.load.failures.join('; ')}`);
    assert.deepEqual(drainedServers(run.seen), s.hosts.map((h) => h.name).sort(), 'each replica was drained for its restart');
    const keys = await Promise.all(s.hosts.map(async (h) => (await fetch(`http://${h.address}:${WEB_PORTS.web}/env/API_KEY`)).text()));
    assert.ok(keys.every((key) => /^[0-9a-f]{32}$/.test(key) && key === keys[0]), `every replica reads the new key: ${keys.join(', ')}`);
  });
});
