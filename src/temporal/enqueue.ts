import { randomBytes } from 'node:crypto';
import type { RunNotifications } from '../config/notifications.js';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { emptyLedger } from '../domain/ledger.js';
import { homeOf, queuedRotation, type RotationPlan, type RotationView } from '../domain/rotation.js';
import type { EnqueueAnswer, EnqueueLockRequest, EnqueueRequest, EnqueueRotationRequest, EnvironmentState } from '../workflows/environment.js';
import { enqueueUpdate, environmentWorkflowId } from '../workflows/definitions.js';

/**
 * Hands a run or a rotation to its environment's workflow, starting that workflow if need be;
 * false when the run id was enqueued before (a repeated request).
 */
export async function enqueueWithEnvironment(client: Client, taskQueue: string, service: string, environment: string, request: EnqueueRequest | EnqueueRotationRequest | EnqueueLockRequest): Promise<EnqueueAnswer> {
  const state: EnvironmentState = { service, environment, ledger: emptyLedger() };
  return client.workflow.executeUpdateWithStart(enqueueUpdate, {
    args: [request],
    startWorkflowOperation: new WithStartWorkflowOperation('environment', {
      workflowId: environmentWorkflowId(service, environment),
      taskQueue,
      args: [state],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `${service}/${environment}: lock, queue and release ledger`,
    }),
  });
}

/**
 * Queues a rotation behind the environment's other runs; the API and scheduled rotations both
 * start them here. With an idempotency key used before, answers that rotation's id instead.
 */
export async function enqueueRotation(client: Client, taskQueue: string, plan: RotationPlan, options: {
  stepTimeoutMs: number;
  heartbeatTimeoutMs?: number | undefined;
  idempotency?: EnqueueRequest['idempotency'];
  /** The hooks that hear about it, given its id. */
  notifications?: (runId: string) => RunNotifications | undefined;
}): Promise<{ rotation: RotationView } & EnqueueAnswer> {
  const runId = `rotation-${plan.service}-${plan.environment}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const createdAt = new Date().toISOString();
  const rotation = { plan, createdAt, stepTimeoutMs: options.stepTimeoutMs, heartbeatTimeoutMs: options.heartbeatTimeoutMs, notifications: options.notifications?.(runId) };
  const home = homeOf(plan);
  const answer = await enqueueWithEnvironment(client, taskQueue, home.service, home.environment, { runId, idempotency: options.idempotency, rotation });
  return { ...answer, rotation: queuedRotation(answer.runId, plan, createdAt) };
}
