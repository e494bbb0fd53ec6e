import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';

/**
 * The one place activities touch their Temporal context. Outside an activity (a unit test, a
 * benchmark) each helper falls back to doing without it.
 */
function current(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Activities (attempts) that reached their host: they connected, so a command may have run. */
const reachedHost = new WeakSet<Context>();

/** Where a multi-step activity has got to: every heartbeat carries it, so a retry resumes there. */
const progressOf = new WeakMap<Context, Record<string, unknown>>();

/**
 * Reports progress; details ride on the heartbeat and come back to a retried attempt. Once the
 * host was reached, every heartbeat says so, so that later attempts know it too.
 */
export function heartbeat(details: Record<string, unknown>): void {
  const ctx = current();
  if (!ctx) return;
  const all = { ...progressOf.get(ctx), ...details };
  ctx.heartbeat(hostReached() ? { ...all, hostReached: true } : all);
}

/** Records (and heartbeats) how far a multi-step activity has got, for its retry to read back. */
export function noteProgress(progress: Record<string, unknown>): void {
  const ctx = current();
  if (!ctx) return;
  progressOf.set(ctx, progress);
  heartbeat({});
}

/** Called once connected to the host, before any command: from now on the step may have taken effect. */
export function noteHostReached(): void {
  const ctx = current();
  if (!ctx || reachedHost.has(ctx)) return;
  reachedHost.add(ctx);
  ctx.heartbeat({ ...(ctx.info.heartbeatDetails as Record<string, unknown> | undefined), ...progressOf.get(ctx), hostReached: true });
}

/**
 * Whether this step reached its host in this attempt or an earlier one. A step that never did
 * (connection refused, no route, a key refused) sent no command: there is nothing to undo.
 */
export function hostReached(): boolean {
  const ctx = current();
  if (!ctx) return false;
  return reachedHost.has(ctx) || (ctx.info.heartbeatDetails as { hostReached?: unknown } | undefined)?.hostReached === true;
}

/** What the previous attempt last reported with `heartbeat`, if this is a retry. */
export function heartbeatDetails<T>(): T | undefined {
  return current()?.info.heartbeatDetails as T | undefined;
}

/** Fires when the activity is cancelled (or its worker shuts down past its grace time). */
export function cancellationSignal(): AbortSignal | undefined {
  return current()?.cancellationSignal;
}

/** Sleeps, ending early (with the cancellation) when the activity is cancelled. */
export async function pause(ms: number): Promise<void> {
  const ctx = current();
  if (ctx) return ctx.sleep(ms);
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Which attempt of this activity this is (1 outside one). */
export function activityAttempt(): number {
  return current()?.info.attempt ?? 1;
}

/** When the first attempt of this activity was scheduled: waits are bounded from there, across retries. */
export function firstScheduledMs(): number {
  return current()?.info.scheduledTimestampMs ?? Date.now();
}

/** The worker's own Temporal client (activities that start or signal workflows). */
export function temporalClient(): Client {
  const ctx = current();
  if (!ctx) throw new Error('a Temporal client is only available inside an activity');
  return ctx.client;
}

/** The id of the workflow that runs this activity (the run), or a stand-in outside one. */
export function callingWorkflowId(): string {
  return current()?.info.workflowExecution?.workflowId ?? 'outside-a-workflow';
}

export function workerTaskQueue(): string {
  const ctx = current();
  if (!ctx) throw new Error('the task queue is only known inside an activity');
  return ctx.info.taskQueue;
}
