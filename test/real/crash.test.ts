import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { Runs } from '../../src/api/runs.js';
import { dataConverterFor } from '../../src/codec/data-converter.js';
import { buildDeployPlan } from '../../src/config/plan.js';
import type { Run } from '../../src/domain/run.js';
import { serverStatuses, untilAllServing } from '../support/haproxy.js';
import { startLoad } from '../support/load.js';
import { WorkerProcess } from '../support/worker-process.js';
import { REAL_ENV, useRealStack, type RealStack } from '../support/real-stack.js';

/**
 * A worker SIGKILLed while a host runs `docker compose pull`, and while it runs `up -d`: the
 * run resumes on a new worker and ends with every container on the right digest, each started
 * once; and while a target is out of its load balancer. The worker is `npm run worker` as a
 * process of its own; the service is `crashapp`, a compose project of its own on the same three
 * hosts, behind an HAProxy of its own.
 */
describe('compose on a real Docker Engine, with the worker killed mid-step', function () {
  this.timeout(300_000);
  let s: RealStack;
  let runs: Runs;
  let worker: WorkerProcess;
  const taskQueue = `real-crash-${Date.now().toString(36)}`;
  let configPath: string;

  before(async function () {
    s = await useRealStack(this);
    configPath = join(mkdtempSync(join(tmpdir(), 'slipway-real-crash-')), 'slipway.yaml');
    writeFileSync(configPath, s.configText);
    const client = new Client({ connection: s.temporal.connection, namespace: s.temporal.namespace, dataConverter: dataConverterFor(s.config.encryption) });
    runs = new Runs(client, { taskQueue, namespace: s.temporal.namespace, stepTimeoutMs: 120_000, heartbeatTimeoutMs: 3_000, uiUrl: 'http://ui' });
    worker = new WorkerProcess({ SLIPWAY_CONFIG: configPath, TEMPORAL_ADDRESS: s.temporal.address, TEMPORAL_NAMESPACE: s.temporal.namespace, SLIPWAY_TASK_QUEUE: taskQueue, ...REAL_ENV });
    await worker.start();
  });
  after(() => worker.stop());

  const releases: Record<string, { sha: string; digest: string }> = {};
  const reference = (name: string) => `${s.repository}:sha-${releases[name]!.sha.slice(0, 7)}@${releases[name]!.digest}`;
  async function deploy(name: string): Promise<string> {
    const service = s.config.services.crashapp!;
    const plan = buildDeployPlan('crashapp', service, 'production', service.environments.production!, { sha: releases[name]!.sha });
    return (await runs.enqueue('deploy', plan)).run.id;
  }
  async function ended(id: string): Promise<Run> {
    for (let i = 0; i < 1800; i++) {
      const run = await runs.get(id).catch(() => undefined);
      if (run && ['succeeded', 'failed', 'rolled_back', 'aborted'].includes(run.status)) return run;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`run ${id} never ended: ${JSON.stringify(await runs.get(id))}\nworker:\n${worker.log()}`);
  }
  async function until(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if (await condition()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`never saw ${what}\nworker:\n${worker.log()}`);
  }
  /** Docker's events of one kind for a host's crashapp containers since `since` (seconds). */
  async function events(host: string, action: string, since: number): Promise<string[]> {
    const out = await s.docker(['events', '--since', String(since), '--until', String(Date.now() / 1000),
      '--filter', 'type=container', '--filter', `event=${action}`, '--filter', `label=com.docker.compose.project=slipway-real-${host}-crashapp`,
      '--format', '{{.Actor.Attributes.name}} {{.Actor.Attributes.image}}']);
    return out.split('\n').filter(Boolean);
  }
  async function assertEachStartedOnce(name: string, since: number): Promise<void> {
    for (const host of s.hosts) {
      const container = JSON.parse(await s.docker(['inspect', s.containerOf(host, 'crashapp')]))[0] as { Config: { Image: string } };
      assert.equal(container.Config.Image, reference(name), `${host.name} runs the pinned digest`);
      assert.deepEqual(await events(host.name, 'start', since), [`${s.containerOf(host, 'crashapp')} ${reference(name)}`], `${host.name}'s container started once`);
    }
  }

  it('resumes a deploy whose worker died during docker compose pull: each host pulled and started once', async () => {
    // Every release stops slowly (3 s of draining), so an `up -d` replacing it takes that long.
    releases.c1 = await s.release({ version: 'c1', revision: 'c', stopDelayMs: 3_000 });
    const first = await ended(await deploy('c1'));
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));

    releases.c2 = await s.release({ version: 'c2', revision: 'c', stopDelayMs: 3_000 });
    const since = Math.floor(Date.now() / 1000);
    const seen = s.registry.requests.length;
    // Short enough that the first pull has ended before the retry (after the 3 s heartbeat timeout) starts.
    s.registry.delayBlobs(2_000);
    try {
      const id = await deploy('c2');
      await until('the canary pulling', () => s.registry.requests.slice(seen).some((r) => r.startsWith('GET /v2/acme/app/blobs/')));
      await worker.kill();
      s.registry.delayBlobs(0);
      await worker.start();
      const run = await ended(id);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    } finally {
      s.registry.delayBlobs(0);
    }
    await assertEachStartedOnce('c2', since);
    const manifests = s.registry.requests.slice(seen).filter((r) => r === `GET /v2/acme/app/manifests/${releases.c2!.digest}`);
    assert.equal(manifests.length, 1, `the image was pulled once, by the Engine all three hosts share: ${manifests.length} manifest reads`);
  });

  it('resumes a deploy whose worker died during docker compose up -d: the container is replaced once', async () => {
    releases.c3 = await s.release({ version: 'c3', revision: 'c', stopDelayMs: 3_000 });
    const since = Math.floor(Date.now() / 1000);
    const id = await deploy('c3');
    // The canary's old container was asked to stop: `up -d` is under way, for 3 s more.
    await until('the canary\'s up -d', async () => (await events('real-1', 'kill', since)).length > 0);
    await worker.kill();
    await worker.start();
    const run = await ended(id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    await assertEachStartedOnce('c3', since);
  });

  it('resumes a deploy whose worker died while a target was out of its load balancer: put back once healthy, no request lost', async () => {
    await untilAllServing(s.balancers.crashapp, 'crashapp');
    releases.c4 = await s.release({ version: 'c4', revision: 'c', stopDelayMs: 3_000 });
    const load = startLoad(s.balancers.crashapp.url);
    let result;
    try {
      const id = await deploy('c4');
      await until('the canary drained', async () => (await serverStatuses(s.balancers.crashapp, 'crashapp'))['real-1']?.startsWith('DRAIN') ?? false);
      await worker.kill();
      await new Promise((r) => setTimeout(r, 1_000));
      await worker.start();
      const run = await ended(id);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    } finally {
      result = await load.stop();
    }
    assert.equal(result.failed, 0, `no request failed: ${result.failures.join('; ')}`);
    const statuses = await serverStatuses(s.balancers.crashapp, 'crashapp');
    assert.ok(Object.values(statuses).every((status) => /^UP\b/.test(status)), `nothing is left drained: ${JSON.stringify(statuses)}`);
  });
});
