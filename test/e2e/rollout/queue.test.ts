import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { HttpProblem } from '../../../src/api/problem.js';
import { Runs } from '../../../src/api/runs.js';
import type { DeployPlan } from '../../../src/domain/plan.js';
import { enqueueWithEnvironment } from '../../../src/temporal/enqueue.js';
import { environmentQuery, environmentWorkflowId } from '../../../src/workflows/contract.js';
import { fakeActivities } from '../../support/fake-activities.js';
import { testTemporal, type TestTemporal } from '../../support/temporal.js';

/** A plan for fake hosts: the engine runs for real, the host steps are the fake activities'. */
function plan(environment: string, sha: string): DeployPlan {
  return {
    service: 'queue', environment, ref: { sha }, requireChecks: false, images: [], tagTemplate: '{sha}', analysis: [],
    targets: [{ id: 't0', name: 't0', hostName: 't0', host: { address: '10.9.0.1', port: 22, user: 'deploy' } }],
    runtime: { kind: 'compose', dir: '/srv/queue', file: 'docker-compose.yml', envFile: '.env', imageVars: {}, prune: false, keepReleases: 5 },
    health: { timeoutMs: 1_000, intervalMs: 100, checks: [] },
    rollout: { canary: 1, batchSize: 1, bakeMs: 0, autoRollback: true, approval: false, imageTimeoutMs: 60_000 },
  };
}

const sha = (n: number) => `${n}`.repeat(40).slice(0, 40);

describe('the queue: a POST that waits on no worker', function () {
  this.timeout(120_000);
  let temporal: TestTemporal;
  before(async () => { temporal = await testTemporal(); });

  /** An environment of its own, on a task queue of its own: no worker polls it until `startWorker`. */
  const freshEnvironment = (prefix: string) => {
    const taskQueue = `${prefix}-${Date.now().toString(36)}`;
    const environment = `env-${Date.now().toString(36)}`;
    const runs = new Runs(temporal.client, {
      taskQueue, namespace: temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://localhost:8233', environments: [{ service: 'queue', environment }],
    });
    return { taskQueue, environment, runs };
  };
  /** A worker with fake host steps, each held until `gate` settles (when given). */
  const startWorker = async (taskQueue: string, gate?: Promise<void>) => {
    const worker = await Worker.create({
      connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue, workflowBundle: temporal.workflowBundle,
      activities: fakeActivities(10, gate ? { before: () => gate } : {}), shutdownGraceTime: '1s',
    });
    const running = worker.run();
    return { stop: async () => { worker.shutdown(); await running; } };
  };
  const until = async (what: string, done: () => Promise<boolean>) => {
    for (let i = 0; !(await done()); i++) {
      if (i > 100) assert.fail(`${what} never happened`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const settled = async (runs: Runs, id: string) => {
    await until(`the end of ${id}`, async () => !!(await runs.get(id))?.finishedAt);
    return (await runs.get(id))!;
  };
  /** Whether the run has a workflow of its own yet (a queued one has none until it is granted). */
  const hasWorkflow = (id: string) => temporal.client.workflow.getHandle(id).describe().then(() => true, () => false);
  const environmentOf = (environment: string) => temporal.client.workflow.getHandle(environmentWorkflowId('queue', environment));

  it('queues runs while no worker is up, shows each queued with its place, and runs them in the order they were answered', async () => {
    const { taskQueue, environment, runs } = freshEnvironment('queue');
    // No worker polls this task queue: every answer below comes from Temporal alone.
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const { run, created } = await runs.enqueue('deploy', plan(environment, sha(i)));
      assert.equal(created, true);
      assert.equal(run.status, 'queued');
      ids.push(run.id);
    }
    const keyed = { sent: 'release-4', key: 'key-4', requestHash: 'hash-4' };
    const fourth = await runs.enqueue('deploy', plan(environment, sha(4)), { idempotency: keyed });
    ids.push(fourth.run.id);
    for (const [i, id] of ids.entries()) {
      const run = await runs.get(id);
      assert.equal(run?.status, 'queued', `${id} is queued`);
      assert.equal(run?.queuePosition, i + 1, `${id} is number ${i + 1} in the queue`);
      assert.equal(run?.version.sha, sha(i + 1));
    }
    const repeat = await runs.enqueue('deploy', plan(environment, sha(4)), { idempotency: keyed });
    assert.deepEqual([repeat.run.id, repeat.created], [fourth.run.id, false], 'the key names the same run, with no worker up');
    await assert.rejects(runs.enqueue('deploy', plan(environment, sha(5)), { idempotency: { ...keyed, requestHash: 'hash-5' } }),
      (error: HttpProblem) => error.status === 409, 'the key with another body is refused, though its run has not started yet');

    // A worker comes up; the first run holds the environment (its update waits at the gate).
    let open = () => undefined as void;
    const worker = await startWorker(taskQueue, new Promise<void>((resolve) => { open = resolve; }));
    try {
      await until('the start of the first run', async () => (await runs.get(ids[0]!))?.status === 'running');
      const waiting = await Promise.all(ids.slice(1).map((id) => runs.get(id)));
      assert.deepEqual(waiting.map((r) => [r?.status, r?.queuePosition]), [['queued', 1], ['queued', 2], ['queued', 3]]);
      open();
      const finished = [];
      for (const id of ids) finished.push(await settled(runs, id));
      assert.deepEqual(finished.map((r) => r.status), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
      const ends = finished.map((r) => Date.parse(r.finishedAt!));
      assert.deepEqual([...ends].sort((a, b) => a - b), ends, 'run in the order their POSTs were answered');
    } finally {
      open();
      await worker.stop();
    }
  });

  it('starts a run with the lock when nothing is ahead of it; a run queued behind it is granted once the first is in the ledger', async () => {
    const { taskQueue, environment, runs } = freshEnvironment('granted');
    let open = () => undefined as void;
    const worker = await startWorker(taskQueue, new Promise<void>((resolve) => { open = resolve; }));
    try {
      const first = (await runs.enqueue('deploy', plan(environment, sha(1)))).run.id;
      await until('the start of the first run', async () => (await runs.get(first))?.status === 'running');
      const second = (await runs.enqueue('deploy', plan(environment, sha(2)))).run.id;
      assert.equal((await runs.get(second))?.queuePosition, 1);
      assert.equal(await hasWorkflow(second), false, 'a queued run is data in its environment until it is granted');
      open();
      const [one, two] = [await settled(runs, first), await settled(runs, second)];
      assert.deepEqual([one.status, two.status], ['succeeded', 'succeeded']);
      assert.equal(one.previous, null, 'the first deploy of the environment');
      assert.equal(two.previous?.sha, sha(1), 'the queued run starts from the ledger with the first run in it');

      // Idle again (once the environment has taken in that the second ended): the next run
      // starts with the lock and the ledger as the second left it.
      await until('the release of the lock', async () => (await environmentOf(environment).query(environmentQuery)).active === null);
      const third = await settled(runs, (await runs.enqueue('deploy', plan(environment, sha(3)))).run.id);
      assert.equal(third.previous?.sha, sha(2));
    } finally {
      open();
      await worker.stop();
    }
  });

  it('keeps a long queue as data: no workflow per queued run, all listed, each aborted without touching anything', async () => {
    const { taskQueue, environment, runs } = freshEnvironment('long');
    let open = () => undefined as void;
    const worker = await startWorker(taskQueue, new Promise<void>((resolve) => { open = resolve; }));
    try {
      const first = (await runs.enqueue('deploy', plan(environment, sha(1)))).run.id;
      await until('the start of the first run', async () => (await runs.get(first))?.status === 'running');
      const queued: string[] = [];
      for (let i = 0; i < 30; i++) queued.push((await runs.enqueue('deploy', plan(environment, sha(2 + (i % 7))))).run.id);
      await until('every run taken in', async () => (await environmentOf(environment).query(environmentQuery)).queue.length === 30);
      const { pendingChildren } = await environmentOf(environment).describe().then((d) => ({ pendingChildren: d.raw.pendingChildren?.length ?? 0 }));
      assert.equal(pendingChildren, 1, 'only the run holding the lock is a child workflow');
      assert.equal((await Promise.all(queued.map(hasWorkflow))).some(Boolean), false);

      const listed = await runs.list({ service: 'queue', environment, status: 'queued', limit: 10 });
      assert.deepEqual(listed.items.map((r) => [r.id, r.queuePosition]), queued.map((id, i) => [id, i + 1]), 'every queued run is listed, in queue order');
      const all = await runs.list({ service: 'queue', environment, limit: 10 });
      assert.deepEqual(all.items.slice(0, 30).map((r) => r.id), queued);
      assert.ok(all.items.some((r) => r.id === first && r.status === 'running'));

      // An operator aborts one in the middle: it leaves the queue, ends aborted, and is recorded.
      const middle = (await runs.get(queued[10]!))!;
      await assert.rejects(runs.act(middle, 'approve', 'ops'), (error: HttpProblem) => error.status === 409 && /queued/.test(error.detail ?? ''));
      const aborted = await runs.act(middle, 'abort', 'ops');
      assert.equal(aborted.status, 'aborted');
      assert.match(aborted.error?.message ?? '', /aborted while queued: by ops/);
      assert.equal((await runs.get(middle.id))?.status, 'aborted', 'looked up like any run');
      assert.equal((await runs.get(queued[11]!))?.queuePosition, 11, 'the runs behind it move up');
      const env = await environmentOf(environment).query(environmentQuery);
      assert.deepEqual(env.history.find((e) => e.runId === middle.id)?.status, 'aborted');
      assert.equal(env.queue.includes(middle.id), false);

      // The rest are aborted too (a few at once, as from several terminals); the first finishes, nothing else ran.
      const rest = queued.filter((id) => id !== middle.id);
      for (let i = 0; i < rest.length; i += 4) {
        await Promise.all(rest.slice(i, i + 4).map(async (id) => runs.act((await runs.get(id))!, 'abort', 'ops')));
      }
      open();
      assert.equal((await settled(runs, first)).status, 'succeeded');
      await until('the release of the lock', async () => (await environmentOf(environment).query(environmentQuery)).active === null);
      const ledger = await environmentOf(environment).query(environmentQuery);
      assert.equal(ledger.current?.sha, sha(1), 'no aborted run touched anything');
      assert.equal(ledger.history.filter((e) => e.status === 'aborted').length, 30);
    } finally {
      open();
      await worker.stop();
    }
  });

  it('records why an accepted run never started, instead of dropping it', async () => {
    const { taskQueue, environment, runs } = freshEnvironment('unstartable');
    let open = () => undefined as void;
    const worker = await startWorker(taskQueue, new Promise<void>((resolve) => { open = resolve; }));
    try {
      const first = (await runs.enqueue('deploy', plan(environment, sha(1)))).run.id;
      await until('the start of the first run', async () => (await runs.get(first))?.status === 'running');
      // A run queued under the id of a run that is running now cannot start as a new workflow.
      const input = { plan: plan(environment, sha(2)), kind: 'deploy' as const, stepTimeoutMs: 60_000, createdAt: new Date().toISOString() };
      const clash = `${first}-again`;
      await enqueueWithEnvironment(temporal.client, taskQueue, 'queue', environment, { runId: clash, input });
      await until('the clash taken in', async () => (await environmentOf(environment).query(environmentQuery)).queue.includes(clash));
      const other = await temporal.client.workflow.start('deploy', { workflowId: clash, taskQueue: `${taskQueue}-nobody`, args: [{ ...input, granted: { current: null, knownGood: [], history: [] } }] });
      try {
        open();
        await settled(runs, first);
        await until('the clash recorded', async () => (await environmentOf(environment).query(environmentQuery)).history.some((e) => e.runId === clash));
        const entry = (await environmentOf(environment).query(environmentQuery)).history.find((e) => e.runId === clash)!;
        assert.equal(entry.status, 'failed');
        assert.match(entry.error ?? '', /^never started: .*already/i);
        assert.equal((await environmentOf(environment).query(environmentQuery)).active, null, 'the queue goes on');
      } finally {
        await other.terminate();
      }
    } finally {
      open();
      await worker.stop();
    }
  });
});
