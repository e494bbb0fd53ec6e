import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runs } from '../../src/api/runs.js';
import { buildDeployPlan } from '../../src/config/plan.js';
import type { Run } from '../../src/domain/run.js';
import { sharedFixture } from '../support/fixtures.js';
import { HARNESS_ENV, startHarness, type Harness } from '../support/harness.js';
import { WorkerProcess } from '../support/worker-process.js';

/**
 * Crash safety: `npm run worker` as its own process, SIGKILLed mid-rollout and started again,
 * and the Temporal server restarted mid-rollout. Every host must be updated exactly once,
 * counted on the hosts.
 */
describe('crash safety', function () {
  this.timeout(180_000);
  let h: Harness;
  let runs: Runs;
  let configPath: string;
  const taskQueue = `crash-${Date.now().toString(36)}`;
  let worker: WorkerProcess;

  before(async () => {
    h = await sharedFixture('harness', startHarness, (x) => x.stop());
    configPath = join(mkdtempSync(join(tmpdir(), 'slipway-crash-')), 'slipway.yaml');
    writeFileSync(configPath, h.configText);
    runs = new Runs(h.temporal.client, { taskQueue, namespace: h.temporal.namespace, stepTimeoutMs: 60_000, heartbeatTimeoutMs: 3_000, uiUrl: 'http://ui' });
    worker = new WorkerProcess({ SLIPWAY_CONFIG: configPath, TEMPORAL_ADDRESS: h.temporal.address, TEMPORAL_NAMESPACE: h.temporal.namespace, SLIPWAY_TASK_QUEUE: taskQueue, ...HARNESS_ENV });
  });
  after(() => worker.stop());

  let n = 0;
  async function deploy(service = 'web', environment = 'crash', prepare?: (sha: string) => void): Promise<string> {
    const sha = `${(0xc0 + ++n).toString(16)}${Date.now().toString(16)}`.padEnd(40, 'f').slice(0, 40);
    prepare?.(sha);
    h.github.addCommit(sha);
    for (const image of ['acme/shop-backend', 'acme/shop-frontend']) await h.registry.push(image, `sha-${sha.slice(0, 7)}`);
    const svc = h.config.services[service]!;
    const plan = buildDeployPlan(service, svc, environment, svc.environments[environment]!, { sha });
    return (await runs.enqueue('deploy', plan)).run.id;
  }
  async function waitFor(id: string, predicate: (run: Run) => boolean, what: string): Promise<Run> {
    for (let i = 0; i < 1200; i++) {
      const run = await runs.get(id).catch(() => undefined);
      if (run && predicate(run)) return run;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`run ${id} never ${what}: ${JSON.stringify(await runs.get(id))}\nworker:\n${worker.log()}`);
  }
  const ups = () => ['web-1', 'web-2', 'web-3'].map((host) => h.steps(host).filter((s) => s === 'up').length);
  const done = (r: Run) => ['succeeded', 'failed', 'rolled_back', 'aborted'].includes(r.status);
  beforeEach(() => {
    for (const host of h.fleet.hosts) for (const f of ['calls.jsonl', 'delay-pull', 'delay-migrate', 'delay-downgrade', 'bad-versions']) rmSync(join(host.stateDir, f), { force: true });
  });

  /** Starts a deploy whose fleet batch takes a while, and returns once web-2 is being updated. */
  async function deployIntoFleetBatch(): Promise<string> {
    for (const host of ['web-2', 'web-3']) writeFileSync(join(h.host(host).stateDir, 'delay-pull'), '2');
    if (!worker.running) await worker.start();
    const id = await deploy();
    await waitFor(id, (r) => r.phase === 'fleet' && h.steps('web-2').includes('pull'), 'in the fleet batch');
    return id;
  }
  async function expectEveryHostUpdatedOnce(id: string): Promise<void> {
    const run = await waitFor(id, done, 'finished');
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.deepEqual(ups(), [1, 1, 1], 'every host updated exactly once');
  }

  it('survives the worker being killed during the bake', async () => {
    await worker.start();
    const id = await deploy();
    await waitFor(id, (r) => r.phase === 'bake', 'baking');
    await worker.kill();
    await worker.start();
    await expectEveryHostUpdatedOnce(id);
  });

  it('survives the worker being killed during a batch', async () => {
    const id = await deployIntoFleetBatch();
    await worker.kill();
    await worker.start();
    await expectEveryHostUpdatedOnce(id);
  });

  it('runs a migration once when the worker dies while it runs: the retry waits for the first copy', async () => {
    writeFileSync(join(h.host('web-1').stateDir, 'delay-migrate'), '4');
    if (!worker.running) await worker.start();
    const id = await deploy('shop', 'migrating');
    await waitFor(id, () => h.steps('web-1').includes('migrate'), 'migrating');
    await worker.kill();
    await worker.start();
    const run = await waitFor(id, done, 'finished');
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.equal(h.steps('web-1').filter((s) => s === 'migrate').length, 1, 'the migration ran once');
  });

  it('runs a schema downgrade once when the worker dies while it runs, before the canary goes back', async () => {
    if (!worker.running) await worker.start();
    const good = await waitFor(await deploy('schema', 'crash'), done, 'finished');
    assert.equal(good.status, 'succeeded', JSON.stringify(good.error));
    writeFileSync(join(h.host('web-1').stateDir, 'delay-downgrade'), '4');
    const id = await deploy('schema', 'crash', (sha) => writeFileSync(join(h.host('web-1').stateDir, 'bad-versions'), `sha-${sha.slice(0, 7)}`));
    await waitFor(id, () => h.steps('web-1').includes('downgrade'), 'downgrading');
    await worker.kill();
    await worker.start();
    const run = await waitFor(id, done, 'finished');
    assert.equal(run.status, 'rolled_back', JSON.stringify(run.error));
    assert.equal(h.steps('web-1').filter((s) => s === 'downgrade').length, 1, 'the downgrade ran once');
    assert.equal(run.schemaRevision, `r${good.version.sha!.slice(0, 7)}`);
  });

  it('runs a hook once when the worker dies while it runs', async () => {
    const delay = join(h.host('web-1').stateDir, 'srv', 'hooks-crash', 'delay-afterDeploy');
    writeFileSync(delay, '4');
    try {
      if (!worker.running) await worker.start();
      const id = await deploy('hooks', 'crash');
      await waitFor(id, (r) => !!r.hooks?.some((x) => x.hook === 'afterDeploy' && x.status === 'running'), 'running its afterDeploy hook');
      await worker.kill();
      await worker.start();
      const run = await waitFor(id, done, 'finished');
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      const ran = readFileSync(join(h.fleet.dir, 'hooks-crash.log'), 'utf8').split('\n').filter((l) => l.includes(`sha=${run.version.sha!.slice(0, 7)} `)).map((l) => l.split(' ').slice(0, 2).join(' '));
      assert.deepEqual(ran, ['beforeDeploy web-1', 'afterDeploy web-1', 'afterDeploy web-2'], 'each hook ran once on each of its targets');
    } finally {
      rmSync(delay, { force: true });
    }
  });

  it('survives a restart of the Temporal server mid-rollout', async () => {
    const id = await deployIntoFleetBatch();
    await h.temporal.restart(1_000);
    await expectEveryHostUpdatedOnce(id);
  });
});
