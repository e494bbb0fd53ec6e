import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { queuedRotation, type EnvironmentRef } from '../domain/rotation.js';
import { queuedRun } from '../domain/run.js';
import { enqueuedInHistory, pendingEnqueues } from '../temporal/enqueue.js';
import { environmentQuery, environmentWorkflowId, idempotencyKeyQuery, queuedRunQuery, type AnyEnqueueRequest, type QueuedRun } from '../workflows/contract.js';
import { HttpProblem } from './problem.js';

/**
 * How the API finds runs and rotations in Temporal, whichever it is answering for: a queued
 * one in its environment's queue, a workflow of the right type, an update refused as `409`.
 */

/** How long a GET waits for a worker to answer a query before showing what Temporal stored. */
export const QUERY_TIMEOUT_MS = 3_000;

/** The environments a run id can belong to, by its prefix (`<kind>-<service>-<environment>-…`). */
export function environmentsOfId(id: string, kinds: string[], environments: EnvironmentRef[] = []): EnvironmentRef[] {
  return environments.filter((e) => kinds.some((kind) => id.startsWith(`${kind}-${e.service}-${e.environment}-`)));
}

/**
 * Where run `id` waits, asked of each candidate environment's workflow; a run signalled so
 * recently that the workflow has not taken it in yet is found at the end of its history.
 */
export async function queuedIn(client: Client, namespace: string, candidates: EnvironmentRef[], id: string): Promise<QueuedRun | undefined> {
  for (const candidate of candidates) {
    const handle = client.workflow.getHandle(environmentWorkflowId(candidate.service, candidate.environment));
    const queued = await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(queuedRunQuery, id)).catch(() => undefined);
    if (queued) return queued;
    const pending = await pendingEnqueues(client, namespace, candidate.service, candidate.environment);
    const index = pending.findIndex((p) => p.runId === id);
    if (index >= 0) {
      // Runs it did take in wait ahead of it (unknown when no worker answers: then counted from the signals alone).
      const waiting = queued === null ? await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(environmentQuery)).catch(() => undefined) : undefined;
      const found = asQueued(id, pending[index]!, (waiting?.queue.length ?? 0) + index + 1);
      if (found) return found;
      continue;
    }
    // No answer (the workflow is busy, or no worker is up): a run it took in, and that has no
    // workflow of its own yet, still waits; where in the queue cannot be told.
    const request = queued === undefined ? await enqueuedInHistory(client, namespace, candidate.service, candidate.environment, id) : undefined;
    const found = request && asQueued(id, request, undefined);
    if (found) return found;
  }
  return undefined;
}

function asQueued(id: string, request: AnyEnqueueRequest, position: number | undefined): QueuedRun | undefined {
  if ('lockFor' in request) return undefined;
  return 'rotation' in request
    ? { position, rotation: queuedRotation(id, request.rotation.plan, request.rotation.createdAt) }
    : { position, run: queuedRun(id, request.input.kind ?? 'deploy', request.input.plan, request.input.createdAt) };
}

/**
 * Temporal closes a run's workflow a moment before its environment takes in that it ended
 * (the parent hears of a child's end asynchronously, longer under load): until then the
 * environment's ledger and lock still show the run going on. The API reports a run ended only
 * once its environment has recorded it, so a ledger read after `--wait` is never stale; while
 * the environment does not answer, that is not known. Asked only of runs that ended lately: an
 * environment whose worker is down would slow every answer.
 */
export async function stillHeldBy(client: Client, run: EnvironmentRef & { id: string }, closedAt: Date | undefined): Promise<boolean> {
  if (closedAt && Date.now() - closedAt.getTime() > RECENTLY_CLOSED_MS) return false;
  const handle = client.workflow.getHandle(environmentWorkflowId(run.service, run.environment));
  try {
    const view = await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(environmentQuery));
    return view.active === run.id;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    // No answer in time (its worker is busy, or gone): it cannot be said to have recorded the run.
    return true;
  }
}

const RECENTLY_CLOSED_MS = 10 * 60_000;

/**
 * Whether the environment saw the request's idempotency key, in the last 25 hours, with another
 * body: asked of its workflow, or, when it has not taken the signal in (or cannot answer), of
 * the signals at the end of its history.
 */
export async function keyUsedForAnother(client: Client, namespace: string, home: EnvironmentRef, idempotency: { key: string; requestHash: string }): Promise<boolean> {
  const handle = client.workflow.getHandle(environmentWorkflowId(home.service, home.environment));
  const entry = await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(idempotencyKeyQuery, idempotency.key)).catch(() => null);
  if (entry) return entry.requestHash !== idempotency.requestHash;
  const pending = await pendingEnqueues(client, namespace, home.service, home.environment);
  return pending.some((p) => p.idempotency?.key === idempotency.key && p.idempotency.requestHash !== idempotency.requestHash);
}

/** An operator's update that the workflow's state refused, or that came after it ended: `409` with the reason. */
export function refusedUpdateAsConflict(error: unknown, action: string, what: string): unknown {
  if (error instanceof WorkflowUpdateFailedError) {
    return new HttpProblem(409, 'Conflict', `cannot ${action}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
  }
  if (error instanceof WorkflowNotFoundError || /already completed|not found/i.test((error as Error).message)) {
    return new HttpProblem(409, 'Conflict', `cannot ${action}: the ${what} has finished`);
  }
  return error;
}

/** The workflow's description, or undefined when there is none, or it is another kind of workflow. */
export async function describeOfType(handle: WorkflowHandle, type: string): Promise<WorkflowExecutionDescription | undefined> {
  try {
    const description = await handle.describe();
    return description.type === type ? description : undefined;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}
