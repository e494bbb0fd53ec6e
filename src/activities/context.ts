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

/** Reports progress; details ride on the heartbeat and come back to a retried attempt. */
export function heartbeat(details: Record<string, unknown>): void {
  current()?.heartbeat(details);
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

export function workerTaskQueue(): string {
  const ctx = current();
  if (!ctx) throw new Error('the task queue is only known inside an activity');
  return ctx.info.taskQueue;
}
