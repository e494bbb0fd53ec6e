/**
 * Orchestration cost of a rollout, with a fast fake runtime: the real workflows on a real
 * Temporal dev server, with host steps that only sleep for a known time. That way the ideal
 * wall time is known (the sum over batches of the slowest target's host-side time), and what
 * is left over is Slipway's and Temporal's own cost.
 *
 *   npm run bench                  # 50 targets (overhead) and 1,000 targets (scale)
 *   npm run bench -- 50            # one size only (50, 1000 or 5000)
 *   npm run bench -- 1000 --workers 2   # with two worker processes (as on two machines)
 *
 * Reports, per size, a JSON line (wall time, ideal time, overhead, orchestration cost per
 * target, the largest workflow history of the run: Temporal warns past 10,240 events), then
 * one line a script can check:
 *
 *   bench: targets=50 batches=6 ideal_s=24.0 wall_s=24.4 ratio=1.016 max_events=195 rss_mb=180
 *
 * `rss_mb` is the peak resident memory of the worker while the run goes on, sampled every
 * 200 ms: this process, whose worker holds the workflow cache (the dev server runs apart), or
 * with `--workers`, the worker processes together. With BENCH_TIMELINE=1 it also prints the deploy workflow's events.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { Runs } from '../src/api/runs.js';
import type { DeployPlan, Target } from '../src/domain/plan.js';
import { planBatches } from '../src/domain/rollout.js';
import type { Run } from '../src/domain/run.js';
import { stopAllFixtures } from '../test/support/fixtures.js';
import { testTemporal } from '../test/support/temporal.js';
import { fakeActivities } from '../test/support/fake-activities.js';

interface Scenario {
  targets: number;
  canary: number;
  batchSize: number | string;
  /** Host-side time of each step (pull, up): what the ideal is made of. */
  stepMs: number;
}

const SCENARIOS: Record<string, Scenario> = {
  50: { targets: 50, canary: 1, batchSize: 10, stepMs: 2_000 },
  1000: { targets: 1000, canary: 1, batchSize: '10%', stepMs: 500 },
  5000: { targets: 5000, canary: 1, batchSize: '10%', stepMs: 500 },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function plan(s: Scenario, name: string): DeployPlan {
  const targets: Target[] = Array.from({ length: s.targets }, (_, i) => ({
    id: `t${i}`, name: `t${i}`, hostName: `t${i}`, host: { address: `10.0.${Math.floor(i / 250)}.${i % 250}`, port: 22, user: 'deploy' },
  }));
  return {
    service: 'bench', environment: name, ref: { sha: 'abcdef0123456789abcdef0123456789abcdef01' }, requireChecks: false,
    images: [], tagTemplate: '{sha}', analysis: [], targets,
    runtime: { kind: 'compose', dir: '/srv/bench', file: 'docker-compose.yml', envFile: '.env', imageVars: {}, prune: false, keepReleases: 5 },
    health: { timeoutMs: 1_000, intervalMs: 100, checks: [] },
    rollout: { canary: s.canary, batchSize: s.batchSize, bakeMs: 0, autoRollback: true, approval: false, imageTimeoutMs: 60_000 },
  };
}

async function largestHistory(temporal: Awaited<ReturnType<typeof testTemporal>>, runId: string): Promise<{ workflowId: string; events: number }> {
  let largest = { workflowId: runId, events: 0 };
  const ids = [runId];
  const deploy = await temporal.client.workflow.getHandle(runId).fetchHistory();
  for (const e of deploy.events ?? []) {
    const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    if (id) ids.push(id);
  }
  for (const id of ids) {
    const events = id === runId ? deploy.events?.length ?? 0 : (await temporal.client.workflow.getHandle(id).fetchHistory()).events?.length ?? 0;
    if (events > largest.events) largest = { workflowId: id, events };
  }
  return largest;
}

const args = process.argv.slice(2);
const workersFlag = args.indexOf('--workers');
/** With `--workers N`: N worker processes of their own (as on N machines) instead of one in this process. */
const workerProcesses = workersFlag >= 0 ? Number(args.splice(workersFlag, 2)[1]) : 0;
const sizes = args.length ? args : Object.keys(SCENARIOS);

interface BenchWorker {
  /** Resident memory now, in bytes: this process, or the worker processes together. */
  rss(): number;
  stop(): Promise<void>;
}

async function inProcessWorker(taskQueue: string, stepMs: number): Promise<BenchWorker> {
  const worker = await Worker.create({
    connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue, workflowBundle: temporal.workflowBundle,
    activities: fakeActivities(stepMs), maxConcurrentActivityTaskExecutions: 1_000, shutdownGraceTime: '1s',
  });
  const running = worker.run();
  return { rss: () => process.memoryUsage().rss, stop: async () => { worker.shutdown(); await running; } };
}

async function startWorkerProcesses(count: number, taskQueue: string, stepMs: number): Promise<BenchWorker> {
  const script = fileURLToPath(new URL('./fake-worker.ts', import.meta.url));
  const children = await Promise.all(Array.from({ length: count }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, temporal.address, temporal.namespace, taskQueue, String(stepMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve(); });
      child.once('exit', (code) => reject(new Error(`a worker exited with ${code}`)));
    });
    return child;
  }));
  const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  return {
    rss: () => children.reduce((sum, c) => sum + rssOf(c.pid!), 0),
    stop: async () => { await Promise.all(children.map((c) => new Promise((resolve) => { c.once('exit', resolve); c.kill('SIGTERM'); }))); },
  };
}
const temporal = await testTemporal();
try {
  for (const size of sizes) {
    const s = SCENARIOS[size];
    if (!s) throw new Error(`no scenario ${size}; sizes: ${Object.keys(SCENARIOS).join(', ')}`);
    const taskQueue = `bench-${size}-${Date.now().toString(36)}`;
    const worker = workerProcesses
      ? await startWorkerProcesses(workerProcesses, taskQueue, s.stepMs)
      : await inProcessWorker(taskQueue, s.stepMs);
    const runs = new Runs(temporal.client, { taskQueue, namespace: temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://localhost:8233' });
    const environment = `size-${size}-${Date.now().toString(36)}`;
    const started = Date.now();
    const { run } = await runs.enqueue('deploy', plan(s, environment));
    let finished: Run | undefined;
    let peakRss = worker.rss();
    while (!finished || !['succeeded', 'failed', 'rolled_back', 'aborted'].includes(finished.status)) {
      await sleep(200);
      peakRss = Math.max(peakRss, worker.rss());
      finished = await runs.get(run.id);
    }
    const wallMs = Date.parse(finished.finishedAt!) - Date.parse(finished.createdAt);
    const batches = planBatches(Array.from({ length: s.targets }), s.canary, s.batchSize).length;
    const idealMs = batches * 2 * s.stepMs;
    const largest = await largestHistory(temporal, run.id);
    if (process.env.BENCH_TIMELINE) {
      const events = (await temporal.client.workflow.getHandle(run.id).fetchHistory()).events ?? [];
      const t0 = Number(events[0]!.eventTime!.seconds) * 1000 + Math.round((events[0]!.eventTime!.nanos ?? 0) / 1e6);
      for (const e of events) {
        const t = Number(e.eventTime!.seconds) * 1000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6) - t0;
        console.log(t, e.eventType);
      }
    }
    await worker.stop();
    console.log(JSON.stringify({
      targets: s.targets, batches, status: finished.status, stepMs: s.stepMs,
      wallMs, idealMs, overheadPercent: Number((((wallMs - idealMs) / idealMs) * 100).toFixed(1)),
      orchestrationMsPerTarget: Number(((wallMs - idealMs) / s.targets).toFixed(1)),
      largestHistory: largest, measuredInMs: Date.now() - started,
    }));
    const rssMb = Math.round(peakRss / 1024 / 1024);
    console.log(`bench: targets=${s.targets} batches=${batches} ideal_s=${(idealMs / 1000).toFixed(1)} wall_s=${(wallMs / 1000).toFixed(1)} ratio=${(wallMs / idealMs).toFixed(3)} max_events=${largest.events} rss_mb=${rssMb}`);
  }
} finally {
  await stopAllFixtures();
}
process.exit(0);
