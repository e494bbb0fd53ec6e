import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyLedger } from '../../../src/domain/ledger.js';
import { hostCalls } from '../../../src/sandbox/fleet.js';
import { environmentWorkflowId } from '../../../src/workflows/contract.js';
import { sharedFixture } from '../../support/fixtures.js';
import { newRelease, startHarness, TOKENS, type Harness } from '../../support/harness.js';

/** Progressive delivery (docs/runs.md): canary, bake, batches, rollback, operator controls, the queue. */
describe('progressive delivery', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });

  const release = () => newRelease(h);
  const runIds: string[] = [];
  const deploy = async (environment: string, sha: string) => {
    const run = (await h.request('POST', '/v1/deployments', { service: 'web', environment, sha })).body;
    runIds.push(run.id);
    return run;
  };
  /** Calls made on the hosts so far are forgotten (after a deploy that sets the scene). */
  const forgetCalls = () => { for (const host of h.fleet.hosts) rmSync(file(host.name, 'calls.jsonl'), { force: true }); };
  const get = async (id: string) => (await h.request('GET', `/v1/deployments/${id}`, undefined, TOKENS.reader)).body;
  const act = (id: string, action: string) => h.request('POST', `/v1/deployments/${id}/${action}`, undefined);
  const waitFor = (id: string, predicate: (run: any) => boolean, what: string) => h.waitFor(id, predicate, what); // eslint-disable-line @typescript-eslint/no-explicit-any
  const webEnv = (host: string) => readFileSync(join(h.host(host).stateDir, 'srv', 'web', '.env'), 'utf8');
  const file = (host: string, name: string) => join(h.host(host).stateDir, name);
  const clear = () => { for (const host of h.fleet.hosts) for (const f of ['calls.jsonl', 'bad-versions', 'metrics', 'delay-pull']) rmSync(file(host.name, f), { force: true }); };
  beforeEach(clear);
  afterEach(async () => {
    clear();
    // A run a failed test left waiting would hold its environment's lock for the next test.
    for (const id of runIds.splice(0)) {
      const run = await get(id);
      if (!['succeeded', 'failed', 'rolled_back', 'aborted'].includes(run.status)) {
        await act(id, 'abort');
        await h.waitForRun(id);
      }
    }
  });

  it('updates the canary, bakes it, then the rest in parallel batches', async () => {
    const sha = await release();
    for (const host of ['web-2', 'web-3']) writeFileSync(file(host, 'delay-pull'), '1');
    const run = await h.waitForRun((await deploy('fleet', sha)).id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    const pull = (host: string) => hostCalls(h.host(host)).find((c) => c.step === 'pull')!.at;
    const up = (host: string) => hostCalls(h.host(host)).find((c) => c.step === 'up')!.at;
    assert.ok(pull('web-2') >= up('web-1') + 1_500, 'the bake came between the canary and the fleet');
    assert.ok(pull('web-3') < up('web-2') && pull('web-2') < up('web-3'), 'web-2 and web-3 were updated together');
    const history = await h.temporal.client.workflow.getHandle(run.id).fetchHistory();
    const bake = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'bake');
    assert.ok(bake, 'the bake is its own step');
  });

  it('rolls the canary back when an analysis gate fails during the bake, leaving the rest untouched', async () => {
    await h.waitForRun((await deploy('fleet', await release())).id);
    const good = (await h.request('GET', '/v1/services/web/environments/fleet', undefined, TOKENS.reader)).body.current;
    clear();
    const sha = await release();
    const started = await deploy('fleet', sha);
    // Errors keep counting on the canary once it runs the new version.
    await waitFor(started.id, (r) => r.phase === 'bake', 'baking');
    let errors = 0;
    // Written aside and renamed: the fake app must never serve a half-written file.
    const counting = setInterval(() => {
      writeFileSync(file('web-1', 'metrics.tmp'), `app_errors_total{code="500"} ${errors += 7}\n`);
      renameSync(file('web-1', 'metrics.tmp'), file('web-1', 'metrics'));
    }, 100);
    const run = await h.waitForRun(started.id).finally(() => clearInterval(counting));
    assert.equal(run.status, 'rolled_back');
    assert.equal(run.error.type, 'AnalysisFailed');
    assert.match(run.error.message, /analysis gate errors-flat failed on web-1: app_errors_total increased by \d+/);
    assert.deepEqual(run.targets.map((t: { status: string }) => t.status), ['rolled_back', 'pending', 'pending']);
    assert.deepEqual(h.steps('web-2'), []);
    assert.ok(webEnv('web-1').includes(`BACKEND_IMAGE=${good.images.backend}\n`), 'the canary runs the known-good image again');
  });

  it('waits for an operator when autoRollback is off: 409 for actions that do not fit, then retry', async () => {
    await h.waitForRun((await deploy('manual', await release())).id);
    forgetCalls();
    const sha = await release();
    writeFileSync(file('web-2', 'bad-versions'), `sha-${sha.slice(0, 7)}`);
    const started = await deploy('manual', sha);
    const waiting = await waitFor(started.id, (r) => r.status === 'awaiting_operator', 'awaiting_operator');
    assert.equal(waiting.error.target, 'web-2');
    // The SlipwayStatus search attribute follows the run, so the UI and the API can filter on it.
    for (let i = 0; ; i++) {
      const listed = await h.request('GET', '/v1/deployments?service=web&environment=manual&status=awaiting_operator', undefined, TOKENS.reader);
      if (listed.body.items.some((r: { id: string }) => r.id === started.id)) break;
      if (i > 50) assert.fail('never listed as awaiting_operator');
      await new Promise((r) => setTimeout(r, 100));
    }
    const approve = await act(started.id, 'approve');
    assert.equal(approve.status, 409);
    assert.match(approve.body.detail, /cannot approve: the run is awaiting_operator, not awaiting approval/);
    assert.equal((await act(started.id, 'resume')).status, 409);

    rmSync(file('web-2', 'bad-versions'));
    const retried = await act(started.id, 'retry');
    assert.equal(retried.status, 202);
    const run = await h.waitForRun(started.id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    // The retry starts at the step that failed (the health checks), not at the top of the runbook.
    assert.deepEqual(h.steps('web-2'), ['pull', 'up'], 'no step before the failed one ran again');
    const healthChecks = (await h.request('GET', `/v1/deployments/${started.id}/targets/web-2`, undefined, TOKENS.reader)).body.steps
      .filter((s: { label: string }) => s.label.startsWith('health checks')).map((s: { status: string }) => s.status);
    assert.deepEqual(healthChecks, ['failed', 'succeeded'], 'the failed step ran again');
    assert.equal(h.steps('web-1').filter((s) => s === 'up').length, 1, 'the healthy canary was not repeated');
    assert.equal((await act(started.id, 'retry')).status, 409, 'nothing to retry on a finished run');
  });

  it('aborts a run awaiting an operator, rolling back what it touched', async () => {
    await h.waitForRun((await deploy('manual', await release())).id);
    const good = (await h.request('GET', '/v1/services/web/environments/manual', undefined, TOKENS.reader)).body.current;
    const sha = await release();
    writeFileSync(file('web-2', 'bad-versions'), `sha-${sha.slice(0, 7)}`);
    const started = await deploy('manual', sha);
    await waitFor(started.id, (r) => r.status === 'awaiting_operator', 'awaiting_operator');
    assert.equal((await act(started.id, 'abort')).status, 202);
    const run = await h.waitForRun(started.id);
    assert.equal(run.status, 'aborted');
    assert.deepEqual(run.targets.map((t: { status: string }) => t.status), ['rolled_back', 'rolled_back', 'pending']);
    for (const host of ['web-1', 'web-2']) assert.ok(webEnv(host).includes(`BACKEND_IMAGE=${good.images.backend}\n`), `${host} runs the known-good image again:\n${webEnv(host)}`);
  });

  it('aborts a rollout in flight: the running step is cancelled and the touched targets rolled back', async () => {
    await h.waitForRun((await deploy('manual', await release())).id);
    const good = (await h.request('GET', '/v1/services/web/environments/manual', undefined, TOKENS.reader)).body.current;
    forgetCalls();
    writeFileSync(file('web-2', 'delay-pull'), '3');
    const started = await deploy('manual', await release());
    await waitFor(started.id, (r) => r.targets[1].status === 'updating', 'updating web-2');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await act(started.id, 'abort')).status, 202);
    const run = await h.waitForRun(started.id);
    assert.equal(run.status, 'aborted');
    assert.deepEqual(run.targets.map((t: { status: string }) => t.status), ['rolled_back', 'rolled_back', 'pending']);
    for (const host of ['web-1', 'web-2']) assert.ok(webEnv(host).includes(`BACKEND_IMAGE=${good.images.backend}\n`), `${host} runs the known-good image again:\n${webEnv(host)}`);
    assert.deepEqual(h.steps('web-3'), []);
    assert.equal((await act(started.id, 'abort')).status, 409, 'nothing left to abort');
  });

  it('pauses between batches and resumes', async () => {
    await h.waitForRun((await deploy('manual', await release())).id);
    forgetCalls();
    writeFileSync(file('web-1', 'delay-pull'), '1');
    const started = await deploy('manual', await release());
    await waitFor(started.id, (r) => r.targets[0].status === 'updating', 'updating the canary');
    assert.equal((await act(started.id, 'pause')).status, 202);
    assert.equal((await act(started.id, 'pause')).status, 409, 'already pausing');
    const paused = await waitFor(started.id, (r) => r.status === 'paused', 'paused');
    assert.deepEqual(paused.targets.map((t: { status: string }) => t.status), ['healthy', 'pending', 'pending']);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(h.steps('web-2'), [], 'nothing moves while paused');
    assert.equal((await act(started.id, 'resume')).status, 202);
    assert.equal((await h.waitForRun(started.id)).status, 'succeeded');
  });

  it('waits for approval after the canary, then rolls out', async () => {
    const started = await deploy('approval', await release());
    await waitFor(started.id, (r) => r.status === 'awaiting_approval', 'awaiting_approval');
    assert.deepEqual(h.steps('web-2'), []);
    assert.equal((await act(started.id, 'approve')).status, 202);
    const run = await h.waitForRun(started.id);
    assert.equal(run.status, 'succeeded');
    assert.ok(h.steps('web-2').includes('up'));
  });

  it('rolls back when nobody approves in time', async () => {
    // A shorter approval timeout than the environment's is an admin's override.
    const body = (await h.request('POST', '/v1/deployments', { service: 'web', environment: 'approval', sha: await release(), rollout: { approvalTimeout: '1s' } }, TOKENS.ops)).body;
    runIds.push(body.id);
    const run = await h.waitForRun(body.id);
    assert.equal(run.status, 'rolled_back');
    assert.equal(run.error.type, 'ApprovalTimeout');
    assert.deepEqual(run.targets.map((t: { status: string }) => t.status), ['rolled_back', 'pending']);
  });

  it('runs one deploy per environment at a time, the others queued in order', async () => {
    writeFileSync(file('web-1', 'delay-pull'), '1');
    const first = await deploy('manual', await release());
    const second = await deploy('manual', await release());
    const third = await deploy('manual', await release());
    await waitFor(first.id, (r) => r.status === 'running', 'running');
    assert.equal((await get(second.id)).status, 'queued');
    const env = (await h.request('GET', '/v1/services/web/environments/manual', undefined, TOKENS.reader)).body;
    assert.equal(env.active, first.id);
    assert.deepEqual(env.queue, [second.id, third.id]);
    assert.equal((await act(third.id, 'abort')).status, 202, 'a queued run can be aborted');
    const runs = [await h.waitForRun(first.id), await h.waitForRun(second.id), await h.waitForRun(third.id)];
    assert.deepEqual(runs.map((r) => r.status), ['succeeded', 'succeeded', 'aborted']);
    assert.ok(Date.parse(runs[0].finishedAt) <= Date.parse(runs[1].updatedAt));
    // The environment workflow learns of the last run's end a moment after the run itself.
    let after;
    for (let i = 0; i < 50; i++) {
      after = (await h.request('GET', '/v1/services/web/environments/manual', undefined, TOKENS.reader)).body;
      if (after.active === null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(after.active, null);
    assert.deepEqual(after.queue, []);
    assert.equal(after.current.sha, runs[1].version.sha);
  });

  it('rolls back on request to the known-good version before the current one', async () => {
    const older = await h.waitForRun((await deploy('fleet', await release())).id);
    const newer = await h.waitForRun((await deploy('fleet', await release())).id);
    assert.equal(newer.status, 'succeeded');
    const started = await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'fleet', reason: 'bad release' });
    assert.equal(started.status, 202);
    const run = await h.waitForRun(started.body.id);
    assert.equal(run.kind, 'rollback');
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.equal(run.version.sha, older.version.sha);
    assert.deepEqual(run.version.images, older.version.images, 'the same pinned references it ran before');
    for (const host of ['web-1', 'web-2', 'web-3']) assert.ok(webEnv(host).includes(`BACKEND_IMAGE=${older.version.images.backend}\n`));
    const env = (await h.request('GET', '/v1/services/web/environments/fleet', undefined, TOKENS.reader)).body;
    assert.equal(env.current.sha, older.version.sha);
    const unknown = await h.waitForRun((await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'fleet', sha: 'fffffff' })).body.id);
    assert.equal(unknown.status, 'failed');
    assert.match(unknown.error.message, /no known-good version fffffff/);
  });
});

describe('the environment workflow', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });

  const release = () => newRelease(h);

  it('hands the lock on when the running run is terminated, and notes it in the history', async () => {
    writeFileSync(join(h.host('web-1').stateDir, 'delay-pull'), '2');
    try {
      const first = (await h.request('POST', '/v1/deployments', { service: 'web', environment: 'ledger', sha: await release() })).body;
      const second = (await h.request('POST', '/v1/deployments', { service: 'web', environment: 'ledger', sha: await release() })).body;
      for (let i = 0; (await h.request('GET', `/v1/deployments/${first.id}`, undefined, TOKENS.reader)).body.status !== 'running'; i++) {
        if (i > 100) throw new Error('first run never started');
        await new Promise((r) => setTimeout(r, 100));
      }
      await h.temporal.client.workflow.getHandle(first.id).terminate('operator pulled the plug');
      assert.equal((await h.waitForRun(first.id)).status, 'aborted');
      assert.equal((await h.waitForRun(second.id)).status, 'succeeded', 'the next run got the lock');
      const env = (await h.request('GET', '/v1/services/web/environments/ledger', undefined, TOKENS.reader)).body;
      assert.deepEqual(env.history.slice(0, 2).map((e: { runId: string; status: string }) => [e.runId, e.status]), [[second.id, 'succeeded'], [first.id, 'aborted']]);
    } finally {
      rmSync(join(h.host('web-1').stateDir, 'delay-pull'), { force: true });
    }
  });

  it('continues as new when its history grows, keeping the ledger', async () => {
    const workflowId = environmentWorkflowId('web', 'ledger');
    const handle = h.temporal.client.workflow.getHandle(workflowId);
    const { taskQueue } = await handle.describe();
    // Start over with a small threshold, so that a few deploys cross it.
    await handle.terminate('test: start over with a small history threshold');
    const started = await h.temporal.client.workflow.start('environment', {
      workflowId, taskQueue, args: [{ service: 'web', environment: 'ledger', ledger: emptyLedger(), continueAfterEvents: 30 }],
    });
    const shas: string[] = [];
    for (let i = 0; i < 3; i++) {
      shas.push(await release());
      const run = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'web', environment: 'ledger', sha: shas[i] })).body.id);
      assert.equal(run.status, 'succeeded');
    }
    for (let i = 0; (await handle.describe()).runId === started.firstExecutionRunId; i++) {
      if (i > 50) assert.fail('the environment workflow never continued as new');
      await new Promise((r) => setTimeout(r, 100));
    }
    const env = (await h.request('GET', '/v1/services/web/environments/ledger', undefined, TOKENS.reader)).body;
    assert.deepEqual(env.knownGood.map((r: { sha: string }) => r.sha), [...shas].reverse(), 'the ledger survived continue-as-new');
    assert.equal(env.current.sha, shas[2]);
  });
});
