import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { hostCalls } from '../../../src/sandbox/fleet.js';
import { sharedFixture } from '../../support/fixtures.js';
import { newRelease, startHarness, TOKENS, type Harness } from '../../support/harness.js';

/**
 * The runbook's steps around a deploy (docs/hooks.md): the harness's `hooks` service has a
 * beforeDeploy hook on the first target, afterDeploy on all, afterRollback on the first. Each
 * appends `<hook> <host> sha=<sha7> previous=<sha> at=<ms>` to hooks-<environment>.log; a
 * `fail-<hook>` file in a host's directory makes that hook fail there.
 */
describe('hooks: the runbook\'s steps around a deploy', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  const HOSTS = ['web-1', 'web-2', 'web-3'];
  const dir = (host: string, environment: string) => join(h.host(host).stateDir, 'srv', `hooks-${environment}`);
  const flag = (host: string, environment: string, name: string) => join(dir(host, environment), name);
  interface Line { hook: string; host: string; sha7: string; previous: string; at: number }
  const lines = (environment: string, sha?: string): Line[] => {
    const file = join(h.fleet.dir, `hooks-${environment}.log`);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
      const [hook, host, sha7, previous, at] = line.split(' ');
      return { hook: hook!, host: host!, sha7: sha7!.slice(4), previous: previous!.slice(9), at: Number(at!.slice(3)) };
    }).filter((l) => !sha || l.sha7 === sha.slice(0, 7));
  };
  const calls = (since: number) => HOSTS.flatMap((host) => hostCalls(h.host(host)).filter((c) => c.at >= since).map((c) => ({ ...c, host })));
  const environment = async (env: string) => (await h.request('GET', `/v1/services/hooks/environments/${env}`, undefined, TOKENS.reader)).body;
  async function start(env: string, sha: string): Promise<string> {
    const started = await h.request('POST', '/v1/deployments', { service: 'hooks', environment: env, sha });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return started.body.id;
  }
  const deploy = async (env: string, sha: string) => h.waitForRun(await start(env, sha));
  afterEach(() => {
    for (const host of HOSTS) for (const env of ['production', 'manual']) for (const f of ['fail-beforeDeploy', 'fail-afterDeploy', 'fail-afterRollback']) rmSync(flag(host, env, f), { force: true });
    for (const host of HOSTS) rmSync(join(h.host(host).stateDir, 'bad-versions'), { force: true });
  });

  const releases: string[] = [];
  it('runs beforeDeploy before the first target changes and afterDeploy on every target once all are healthy', async () => {
    releases.push(await newRelease(h), await newRelease(h));
    const first = await deploy('production', releases[0]!);
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.deepEqual(lines('production', releases[0]).filter((l) => l.hook === 'beforeDeploy').map((l) => l.previous), [''], 'no previous release on a first deploy');

    const since = Date.now();
    const run = await deploy('production', releases[1]!);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    const ran = lines('production', releases[1]);
    const before = ran.filter((l) => l.hook === 'beforeDeploy');
    const after = ran.filter((l) => l.hook === 'afterDeploy');
    assert.deepEqual(before.map((l) => [l.host, l.previous]), [['web-1', releases[0]]], 'once, on the first target, knowing the release it replaces');
    assert.deepEqual(after.map((l) => l.host).sort(), HOSTS, 'on every target');
    const docker = calls(since);
    assert.ok(docker.length && before[0]!.at <= Math.min(...docker.map((c) => c.at)), 'before the first target\'s first step');
    const lastUp = Math.max(...docker.filter((c) => c.step === 'up').map((c) => c.at));
    assert.ok(after.every((l) => l.at >= lastUp), 'after the last batch');
    // afterDeploy on all goes batch by batch: the canary's first.
    assert.ok(after.find((l) => l.host === 'web-1')!.at <= Math.min(...after.filter((l) => l.host !== 'web-1').map((l) => l.at)));
    assert.deepEqual(run.hooks.map((x: { hook: string; target: string; status: string }) => `${x.hook} ${x.target} ${x.status}`),
      ['beforeDeploy web-1 succeeded', 'afterDeploy web-1 succeeded', 'afterDeploy web-2 succeeded', 'afterDeploy web-3 succeeded']);

    // A step in the target's step log, and in the Temporal UI's summaries.
    const log = await h.request('GET', `/v1/deployments/${run.id}/targets/web-2`, undefined, TOKENS.reader);
    assert.deepEqual(log.body.steps.filter((s: { label: string }) => s.label.startsWith('afterDeploy: ')).map((s: { status: string }) => s.status), ['succeeded']);
    const history = await h.temporal.client.workflow.getHandle(run.id).fetchHistory();
    const summaries = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata!.summary!));
    assert.ok(summaries.some((s) => s.startsWith('web-1: beforeDeploy: sleep')), summaries.join('\n'));
  });

  it('shows the hooks in a dry run, in the order they would run', async () => {
    const sha = await newRelease(h);
    const dry = await h.request('POST', '/v1/deployments', { service: 'hooks', environment: 'production', sha, dryRun: true });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.deepEqual(dry.body.hooks.map((x: { hook: string; on: string }) => `${x.hook} ${x.on}`),
      ['beforeDeploy web-1', 'afterDeploy web-1', 'afterDeploy web-2', 'afterDeploy web-3', 'afterRollback web-1']);
    assert.match(dry.body.hooks[0].command, new RegExp(`^cd \\S+/hosts/web-1/srv/hooks-production \\|\\| exit 1\\n.*echo beforeDeploy web-1 sha=${sha.slice(0, 7)} previous=${releases[1]} `));
    assert.equal(lines('production', sha).length, 0, 'nothing ran');
  });

  it('fails the run when beforeDeploy fails, having touched no target', async () => {
    writeFileSync(flag('web-1', 'production', 'fail-beforeDeploy'), '');
    const since = Date.now();
    const sha = await newRelease(h);
    const run = await deploy('production', sha);
    assert.equal(run.status, 'failed');
    assert.match(run.error.step, /^web-1: beforeDeploy: /);
    assert.match(run.error.message, /the beforeDeploy hook failed, so no target was changed/);
    assert.deepEqual(calls(since), [], 'no host was touched');
    assert.deepEqual(run.targets.map((t: { status: string }) => t.status), ['pending', 'pending', 'pending']);
    assert.equal((await environment('production')).current.sha, releases[1]);
    const deployment = h.github.deployments.find((d) => d.id === run.githubDeploymentId)!;
    assert.equal(deployment.statuses.at(-1)!.state, 'failure');
  });

  it('rolls back when afterDeploy fails, then runs afterRollback', async () => {
    writeFileSync(flag('web-3', 'production', 'fail-afterDeploy'), '');
    const since = Date.now();
    const sha = await newRelease(h);
    const run = await deploy('production', sha);
    assert.equal(run.status, 'rolled_back', JSON.stringify(run.error));
    assert.match(run.error.step, /^web-3: afterDeploy: /);
    assert.deepEqual(run.targets.map((t: { status: string }) => t.status), ['rolled_back', 'rolled_back', 'rolled_back']);
    const rolledBack = lines('production', sha).filter((l) => l.hook === 'afterRollback');
    assert.deepEqual(rolledBack.map((l) => [l.host, l.previous]), [['web-1', releases[1]]]);
    const lastUp = Math.max(...calls(since).filter((c) => c.step === 'up').map((c) => c.at));
    assert.ok(rolledBack[0]!.at >= lastUp, 'after the rollback has finished');
    assert.equal((await environment('production')).current.sha, releases[1]);
  });

  it('reports a failing afterRollback in the run and changes no status', async () => {
    const sha = await newRelease(h);
    writeFileSync(join(h.host('web-1').stateDir, 'bad-versions'), `sha-${sha.slice(0, 7)}`);
    writeFileSync(flag('web-1', 'production', 'fail-afterRollback'), '');
    const run = await deploy('production', sha);
    assert.equal(run.status, 'rolled_back', JSON.stringify(run.error));
    assert.equal(run.error.type, 'HealthCheckFailed', 'the error is still the failed gate');
    const failed = run.hooks.find((x: { hook: string }) => x.hook === 'afterRollback');
    assert.equal(failed.status, 'failed');
    assert.match(failed.error, /exit/);
  });

  it('with autoRollback off, waits for an operator when afterDeploy fails; a retry runs only the failed hook again', async () => {
    assert.equal((await deploy('manual', releases[0]!)).status, 'succeeded');
    const sha = await newRelease(h);
    writeFileSync(flag('web-2', 'manual', 'fail-afterDeploy'), '');
    const id = await start('manual', sha);
    const waiting = await h.waitFor(id, (r) => r.status === 'awaiting_operator', 'awaiting_operator');
    assert.match(waiting.error.step, /^web-2: afterDeploy: /);
    rmSync(flag('web-2', 'manual', 'fail-afterDeploy'));
    assert.equal((await h.request('POST', `/v1/deployments/${id}/retry`)).status, 202);
    const run = await h.waitForRun(id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.deepEqual(lines('manual', sha).filter((l) => l.hook === 'afterDeploy').map((l) => l.host).sort(), ['web-1', 'web-2'], 'web-1\'s succeeded hook did not run again');
    assert.deepEqual(run.hooks.filter((x: { hook: string }) => x.hook === 'afterDeploy').map((x: { target: string; status: string }) => `${x.target} ${x.status}`), ['web-1 succeeded', 'web-2 succeeded']);
  });

  it('runs beforeDeploy and then afterRollback, not afterDeploy, in a rollback run', async () => {
    const since = Date.now();
    const started = await h.request('POST', '/v1/rollbacks', { service: 'hooks', environment: 'production', sha: releases[0] });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const run = await h.waitForRun(started.body.id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    const ran = lines('production', releases[0]).filter((l) => l.at >= since);
    assert.deepEqual(ran.map((l) => `${l.hook} ${l.host} ${l.previous}`), [`beforeDeploy web-1 ${releases[1]}`, `afterRollback web-1 ${releases[1]}`]);
  });

  it('takes an environment\'s list over the service\'s', async () => {
    const sha = await newRelease(h);
    const run = await deploy('quiet', sha);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.deepEqual(lines('quiet', sha).map((l) => l.hook), ['beforeDeploy'], 'afterDeploy: [] in the environment');
  });
});
