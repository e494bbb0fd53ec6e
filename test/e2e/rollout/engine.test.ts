import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { dataConverterFor } from '../../../src/codec/data-converter.js';
import { Runs } from '../../../src/api/runs.js';
import type { DeployPlan, Target } from '../../../src/domain/plan.js';
import type { Run } from '../../../src/domain/run.js';
import { CHILD_BATCH_THRESHOLD } from '../../../src/domain/rollout.js';
import { fakeActivities } from '../../support/fake-activities.js';
import { allText } from '../../support/sealed.js';
import { testTemporal, type TestTemporal } from '../../support/temporal.js';

const TARGETS = CHILD_BATCH_THRESHOLD + 20;
const GOOD = 'a'.repeat(40);
const BAD = 'b'.repeat(40);

function plan(environment: string, sha: string): DeployPlan {
  const targets: Target[] = Array.from({ length: TARGETS }, (_, i) => ({
    id: `t${i}`, name: `t${i}`, hostName: `t${i}`, host: { address: `10.8.${Math.floor(i / 250)}.${i % 250}`, port: 22, user: 'deploy' },
  }));
  return {
    service: 'engine', environment, ref: { sha }, requireChecks: false, images: [], tagTemplate: '{sha}', analysis: [], targets,
    runtime: { kind: 'compose', dir: '/srv/engine/{sha7}', file: 'docker-compose.yml', envFile: '.env', imageVars: {}, prune: false, keepReleases: 5 },
    health: { timeoutMs: 1_000, intervalMs: 100, checks: [] },
    rollout: { canary: 1, batchSize: 260, bakeMs: 0, autoRollback: true, approval: false, imageTimeoutMs: 60_000 },
  };
}

/**
 * The engine at fleet scale, with fake host steps: past CHILD_BATCH_THRESHOLD targets each
 * batch is a child workflow, so no history grows with the fleet.
 */
describe('the rollout engine past a few hundred targets', function () {
  this.timeout(180_000);
  let temporal: TestTemporal;
  before(async () => { temporal = await testTemporal(); });

  it('runs each batch in a child workflow, sealed; a failed target rolls the touched batches back, last first, through children too', async () => {
    const taskQueue = `engine-${Date.now().toString(36)}`;
    const environment = `env-${Date.now().toString(36)}`;
    // Payloads sealed as a configured worker seals them: a batch's child carries hosts and images too.
    const dataConverter = dataConverterFor({ keys: [{ id: 'engine', key: randomBytes(32).toString('base64') }], corsOrigins: [] });
    const worker = await Worker.create({
      connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue, workflowBundle: temporal.workflowBundle, shutdownGraceTime: '1s', dataConverter,
      activities: fakeActivities(1, { unhealthy: (update) => update.target.id === 't400' && update.log.phase === 'deploy' && update.dir === `/srv/engine/${BAD.slice(0, 7)}` }),
    });
    const running = worker.run();
    try {
      const client = new Client({ connection: temporal.connection, namespace: temporal.namespace, dataConverter });
      const runs = new Runs(client, { taskQueue, namespace: temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://localhost:8233' });
      const until = async (id: string): Promise<Run> => {
        for (;;) {
          const run = await runs.get(id);
          if (run?.finishedAt) return run;
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      const first = await until((await runs.enqueue('deploy', plan(environment, GOOD))).run.id);
      assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
      assert.ok(first.targets.every((t) => t.status === 'healthy'));

      const childrenOf = async (runId: string) => {
        const events = (await temporal.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
        assert.equal(events.filter((e) => e.activityTaskScheduledEventAttributes).length, 0, 'no target is an activity of the run itself');
        return events.flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? []);
      };
      const children = await childrenOf(first.id);
      assert.deepEqual(children, [1, 2, 3].map((n) => `${first.id}/batch-${n}`), 'one child per batch');
      for (const child of children) {
        const { history } = await temporal.connection.workflowService.getWorkflowExecutionHistory({ namespace: temporal.namespace, execution: { workflowId: child } });
        const events = history?.events ?? [];
        assert.ok(events.length < 4 * 260, `${child}: ${events.length} events, a few per target`);
        assert.ok(!allText(history).join('\n').includes('/srv/engine/'), `${child}: its targets' steps are sealed, not in plaintext`);
      }

      const second = await until((await runs.enqueue('deploy', plan(environment, BAD))).run.id);
      assert.equal(second.status, 'rolled_back', JSON.stringify(second.error));
      assert.equal(second.error?.target, 't400');
      assert.ok(second.targets.every((t) => t.status === 'rolled_back' && t.version === GOOD), 'every touched target is back on the good release');
      assert.deepEqual(await childrenOf(second.id), [
        ...[1, 2, 3].map((n) => `${second.id}/batch-${n}`),
        ...[3, 2, 1].map((n) => `${second.id}/rollback/batch-${n}`),
      ], 'rolled back batch by batch, last first, each in a child');
    } finally {
      worker.shutdown();
      await running;
    }
  });
});
