import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { msToTs } from '@temporalio/common/lib/time';
import { Runs } from '../../src/api/runs.js';
import { buildDeployPlan } from '../../src/config/plan.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes.js';
import { sharedFixture } from '../support/fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';

describe('worker', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });

  it('registers Slipway\'s search attributes on a namespace that lacks them, once', async () => {
    const namespace = `bare-${Date.now().toString(36)}`;
    const { connection } = h.temporal;
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    for (let i = 0; ; i++) {
      try {
        await connection.operatorService.listSearchAttributes({ namespace });
        break;
      } catch (error) {
        if (i > 50) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.deepEqual((await ensureSearchAttributes(connection, namespace)).sort(), ['SlipwayEnvironment', 'SlipwayService', 'SlipwayStatus', 'SlipwayVersion']);
    assert.deepEqual(await ensureSearchAttributes(connection, namespace), [], 'nothing to add the second time');
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    assert.ok('SlipwayVersion' in (listed.customAttributes ?? {}));
  });

  it('shuts down gracefully mid-step: the step finishes, and a new worker completes the run without repeating it', async () => {
    const sha = 'feed0001'.padEnd(40, '2');
    h.github.addCommit(sha);
    await h.registry.push('acme/shop-backend', 'sha-feed000');
    await h.registry.push('acme/shop-frontend', 'sha-feed000');
    const web3 = h.host('web-3');
    rmSync(join(web3.stateDir, 'calls.jsonl'), { force: true });
    writeFileSync(join(web3.stateDir, 'delay-pull'), '2');

    // A second worker on its own task queue, so that only it runs this deploy.
    const taskQueue = `graceful-${Date.now().toString(36)}`;
    const start = () => createWorker({
      connection: h.temporal.nativeConnection, namespace: h.temporal.namespace, config: h.config, taskQueue,
      workflowBundle: h.temporal.workflowBundle, activityOptions: { imagePollMs: 200, checksPollMs: 200 }, shutdownGraceTime: '10s',
    });
    try {
      const first = await start();
      const firstRun = first.run();
      const svc = h.config.services.shop!;
      const runs = new Runs(h.temporal.client, { taskQueue, namespace: h.temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://ui' });
      const { run } = await runs.enqueue('deploy', buildDeployPlan('shop', svc, 'graceful', svc.environments.graceful!, { sha }));

      // Wait until the pull is running on the host, then ask the worker to stop.
      for (let i = 0; !h.steps('web-3').includes('pull'); i++) {
        if (i > 200) throw new Error('pull never started');
        await new Promise((r) => setTimeout(r, 50));
      }
      first.shutdown();
      await firstRun;
      assert.deepEqual(h.steps('web-3'), ['pull'], 'nothing after the pull ran on the stopping worker');

      const second = await start();
      const secondRun = second.run();
      let finished;
      for (let i = 0; ; i++) {
        finished = await runs.get(run.id);
        if (finished && ['succeeded', 'failed'].includes(finished.status)) break;
        if (i > 300) throw new Error(`run stuck: ${JSON.stringify(finished)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      second.shutdown();
      await secondRun;
      assert.equal(finished.status, 'succeeded', JSON.stringify(finished.error));
      assert.deepEqual(h.steps('web-3').filter((s) => s !== 'keep'), ['pull', 'migrate', 'up', 'prune'], 'the pull that finished during shutdown was not repeated');
    } finally {
      rmSync(join(web3.stateDir, 'delay-pull'), { force: true });
    }
  });
});
