import { createHash, randomBytes } from 'node:crypto';
import type { RunNotifications } from '../config/notifications.js';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import proto from '@temporalio/proto';
import { emptyLedger } from '../domain/ledger.js';
import { homeOf, queuedRotation, type RotationPlan, type RotationView } from '../domain/rotation.js';
import { enqueueSignal, environmentWorkflowId, type AnyEnqueueRequest, type EnqueueRequest, type EnvironmentState } from '../workflows/contract.js';

/**
 * A run's id: new and unique, or, for a request with an idempotency key, made from the key and
 * the request's hash. A repeat of the same request names the same run; the same key with
 * another body never names it, however long after (once Temporal and the environment have
 * forgotten the first, it is another run, with another id).
 */
export function runIdFor(prefix: string, idempotency?: { key: string; requestHash: string }): string {
  if (idempotency) return `${prefix}-k${createHash('sha256').update(`${idempotency.key}\n${idempotency.requestHash}`).digest('hex').slice(0, 20)}`;
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * Queues a run or a rotation with its environment's workflow, starting that workflow if need
 * be: one signal-with-start, which no worker has to answer. Runs start in the order these
 * calls returned; a run id (or idempotency key) queued before is ignored.
 */
export async function enqueueWithEnvironment(client: Client, taskQueue: string, service: string, environment: string, request: AnyEnqueueRequest): Promise<void> {
  const state: EnvironmentState = { service, environment, ledger: emptyLedger() };
  await client.workflow.signalWithStart('environment', {
    workflowId: environmentWorkflowId(service, environment),
    taskQueue,
    args: [state],
    signal: enqueueSignal,
    signalArgs: [request],
    staticSummary: `${service}/${environment}: lock, queue and release ledger`,
  });
}

/**
 * Queues a rotation behind the environment's other runs; the API and scheduled rotations both
 * start them here.
 */
export async function enqueueRotation(client: Client, taskQueue: string, plan: RotationPlan, options: {
  stepTimeoutMs: number;
  heartbeatTimeoutMs?: number | undefined;
  idempotency?: EnqueueRequest['idempotency'];
  /** The hooks that hear about it, given its id. */
  notifications?: (runId: string) => RunNotifications | undefined;
}): Promise<{ rotation: RotationView; runId: string }> {
  const runId = rotationIdFor(plan, options.idempotency);
  const createdAt = new Date().toISOString();
  const rotation = { plan, createdAt, stepTimeoutMs: options.stepTimeoutMs, heartbeatTimeoutMs: options.heartbeatTimeoutMs, notifications: options.notifications?.(runId) };
  const home = homeOf(plan);
  await enqueueWithEnvironment(client, taskQueue, home.service, home.environment, { runId, idempotency: options.idempotency, rotation });
  return { runId, rotation: queuedRotation(runId, plan, createdAt) };
}

export function rotationIdFor(plan: RotationPlan, idempotency?: { key: string; requestHash: string }): string {
  return runIdFor(`rotation-${plan.service}-${plan.environment}`, idempotency);
}

const GRPC_NOT_FOUND = 5;

/**
 * The runs signalled to an environment's current history, newest first; with `untilTaken`,
 * only those after its last completed workflow task. None when the environment has no workflow.
 */
async function* enqueueSignals(client: Client, namespace: string, service: string, environment: string, untilTaken: boolean): AsyncGenerator<AnyEnqueueRequest> {
  let nextPageToken: Uint8Array | undefined;
  do {
    let answer: proto.temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryReverseResponse;
    try {
      answer = await client.workflowService.getWorkflowExecutionHistoryReverse({
        namespace, execution: { workflowId: environmentWorkflowId(service, environment) }, maximumPageSize: 500, nextPageToken,
      });
    } catch (error) {
      if (isGrpcServiceError(error) && error.code === GRPC_NOT_FOUND) return;
      throw error;
    }
    for (const event of answer.history?.events ?? []) {
      if (untilTaken && event.eventType === proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) return;
      const signal = event.workflowExecutionSignaledEventAttributes;
      if (signal?.signalName === enqueueSignal.name) yield await decodeFromPayloadsAtIndex(client.options.loadedDataConverter, 0, signal.input?.payloads);
    }
    nextPageToken = answer.nextPageToken?.length ? answer.nextPageToken : undefined;
  } while (nextPageToken);
}

/**
 * Runs signalled to an environment's workflow that it has not taken in yet (a query answers
 * from the state of its last completed workflow task), oldest first: read from the end of its
 * history, down to that task.
 */
export async function pendingEnqueues(client: Client, namespace: string, service: string, environment: string): Promise<Array<AnyEnqueueRequest>> {
  const pending: AnyEnqueueRequest[] = [];
  for await (const request of enqueueSignals(client, namespace, service, environment, true)) pending.unshift(request);
  return pending;
}

/**
 * The request that queued `runId` in an environment's current history, however long ago:
 * for when the environment's workflow is too busy to answer a query about its queue.
 */
export async function enqueuedInHistory(client: Client, namespace: string, service: string, environment: string, runId: string): Promise<AnyEnqueueRequest | undefined> {
  for await (const request of enqueueSignals(client, namespace, service, environment, false)) if (request.runId === runId) return request;
  return undefined;
}
