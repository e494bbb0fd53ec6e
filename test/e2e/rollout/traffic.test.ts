import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostCalls } from '../../../src/sandbox/fleet.js';
import { HaproxyRuntimeApi } from '../../../src/traffic/runtime-api.js';
import { sharedFixture } from '../../support/fixtures.js';
import { serverStatuses, watchBalancer } from '../../support/haproxy.js';
import { startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { runHelpers } from '../../support/runs.js';

/**
 * Traffic on the harness's fleet (docs/traffic.md): a real HAProxy in front of web-1..3, whose
 * runtime API the `balanced` environment reaches through a link a test can cut. What a run does
 * with the balancer when things go wrong; test/real/traffic.test.ts has it under load.
 */
describe('traffic: drain and ready around every change', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  const { act, clear, deploy, file, release, settled, waitFor } = runHelpers(() => h);
  const drained = (seen: Map<string, Set<string>>) => [...seen].filter(([, s]) => [...s].some((x) => x.startsWith('DRAIN'))).map(([server]) => server).sort();
  const readyAll = async () => { for (const server of ['web-1', 'web-2', 'web-3']) await new HaproxyRuntimeApi(h.balancer.runtimeApi).setState('web', server, 'ready'); };
  async function untilUp(server: string): Promise<string> {
    for (let i = 0; ; i++) {
      const status = (await serverStatuses(h.balancer, 'web'))[server]!;
      if (status === 'UP' || i > 50) return status;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  beforeEach(clear);
  afterEach(async () => {
    clear();
    rmSync(file('web-1', 'unhealthy'), { force: true });
    for (const host of ['web-2', 'web-3']) rmSync(file(host, 'delay-up'), { force: true });
    h.balancerLink.restore();
    await readyAll();
  });

  it('drains each batch before it changes and readies it once healthy; the step log shows both', async () => {
    const watch = watchBalancer(h.balancer, 'web');
    const run = await h.waitForRun((await deploy('balanced', await release())).id);
    const seen = await watch.stop();
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.deepEqual(drained(seen), ['web-1', 'web-2', 'web-3']);
    assert.deepEqual(await serverStatuses(h.balancer, 'web'), { 'web-1': 'UP', 'web-2': 'UP', 'web-3': 'UP' });
    const log = await h.request('GET', `/v1/deployments/${run.id}/targets/web-2`, undefined, TOKENS.reader);
    const labels = (log.body.steps as Array<{ label: string; output: string[] }>).map((s) => s.label);
    assert.equal(labels[0], 'drain (HAProxy web/web-2)');
    assert.equal(labels.at(-1), 'ready (HAProxy web/web-2)');
    assert.match(log.body.steps[0].output.join('\n'), /no session open after \d+\.\d s/);
  });

  it('keeps a failed canary out of rotation through its rollback, and readies it once healthy on the old version', async () => {
    const good = await h.waitForRun((await deploy('balanced', await release())).id);
    assert.equal(good.status, 'succeeded');
    const bad = await release();
    writeFileSync(file('web-1', 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    const watch = watchBalancer(h.balancer, 'web');
    const run = await h.waitForRun((await deploy('balanced', bad)).id);
    const seen = await watch.stop();
    assert.equal(run.status, 'rolled_back', JSON.stringify(run));
    assert.deepEqual(drained(seen), ['web-1'], 'only the canary left rotation');
    assert.equal(await untilUp('web-1'), 'UP', 'back in rotation on the old version');
  });

  it('leaves a target that cannot become healthy out of rotation, and lists it in leftToFix saying so', async () => {
    const good = await h.waitForRun((await deploy('balanced', await release())).id);
    assert.equal(good.status, 'succeeded');
    // web-1 is unhealthy on any version: its rollback cannot bring it back either.
    writeFileSync(file('web-1', 'unhealthy'), '');
    const started = await deploy('balanced', await release());
    const stuck = await waitFor(started.id, (r) => r.status === 'failed' && r.awaitingOperator, 'waiting for an operator');
    assert.deepEqual(stuck.leftToFix.map((l: { target: string }) => l.target), ['web-1']);
    assert.equal((await act(started.id, 'abort')).status, 202);
    const run = await h.waitForRun(started.id);
    assert.equal(run.status, 'failed');
    assert.deepEqual(run.leftToFix.map((l: { target: string }) => l.target), ['web-1']);
    assert.match(run.leftToFix[0].error, /left out of HAProxy web\/web-1: not healthy/);
    assert.match((await serverStatuses(h.balancer, 'web'))['web-1']!, /^(DRAIN|DOWN)/, 'never put back unhealthy');
    const { 'web-2': web2, 'web-3': web3 } = await serverStatuses(h.balancer, 'web');
    assert.deepEqual([web2, web3], ['UP', 'UP'], 'the others serve');
  });

  it('waits out a runtime API that stops answering, and goes on when it answers again', async () => {
    h.balancerLink.cut();
    const started = await deploy('balanced', await release());
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal((await h.request('GET', `/v1/deployments/${started.id}`, undefined, TOKENS.reader)).body.status, 'running', 'retrying, not failed');
    h.balancerLink.restore();
    const run = await h.waitForRun(started.id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.deepEqual(await serverStatuses(h.balancer, 'web'), { 'web-1': 'UP', 'web-2': 'UP', 'web-3': 'UP' });
  });

  it('fails before any target changes when HAProxy has no such server, naming it', async () => {
    const before = ['web-1', 'web-2'].map((host) => hostCalls(h.host(host)).length);
    const answer = await h.request('POST', '/v1/deployments', { service: 'web', environment: 'mistyped', sha: await release() });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const run = await h.waitForRun(answer.body.id);
    assert.equal(run.status, 'failed');
    assert.equal(run.error.step, 'preflight: load balancer');
    assert.equal(run.error.type, 'LoadBalancerRefused');
    assert.match(run.error.message, /backend "web" has no server "web-1-app" \(it has web-1, web-2, web-3\)/);
    assert.deepEqual(['web-1', 'web-2'].map((host) => hostCalls(h.host(host)).length), before, 'no host touched');
  });

  it('runs the command kind\'s drain and ready on each target, around its change', async () => {
    const log = join(h.fleet.dir, 'balancer.log');
    if (existsSync(log)) rmSync(log);
    const sha = await release();
    const run = await h.waitForRun((await deploy('scripted', sha)).id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    const sha7 = sha.slice(0, 7);
    assert.equal(readFileSync(log, 'utf8'), `drain web-1 ${sha7}\nready web-1 ${sha7}\ndrain web-2 ${sha7}\nready web-2 ${sha7}\n`);
    const up = (host: string) => hostCalls(h.host(host)).filter((c) => c.step === 'up').length;
    assert.equal(up('web-1'), 1);
  });

  it('puts back what a run drained when an admin releases its environment mid-run', async () => {
    const good = await h.waitForRun((await deploy('balanced', await release())).id);
    assert.equal(good.status, 'succeeded');
    // The batch after the canary takes a while to come up: the release lands while it is drained.
    for (const host of ['web-2', 'web-3']) writeFileSync(file(host, 'delay-up'), '3');
    const started = await deploy('balanced', await release());
    const batchDrained = async () => Object.entries(await serverStatuses(h.balancer, 'web')).some(([server, s]) => server !== 'web-1' && s.startsWith('DRAIN'));
    for (let i = 0; !await batchDrained(); i++) {
      if (i > 200) assert.fail('the batch was never drained');
      await new Promise((r) => setTimeout(r, 50));
    }
    const released = await h.request('POST', '/v1/services/web/environments/balanced/release', { reason: 'stuck' }, TOKENS.ops);
    assert.equal(released.status, 202, JSON.stringify(released.body));
    const env = await settled('web', 'balanced', started.id);
    const entry = env.history.find((e: { runId: string }) => e.runId === started.id);
    assert.match(entry.error, /put back in the load balancer: web-\d/, entry.error);
    const statuses = await serverStatuses(h.balancer, 'web');
    assert.ok(Object.values(statuses).every((s) => s === 'UP'), `nothing left drained: ${JSON.stringify(statuses)}`);
    // The terminated run's step on web-2 and web-3 may still be finishing there.
    await new Promise((r) => setTimeout(r, 3_000));
  });

});
