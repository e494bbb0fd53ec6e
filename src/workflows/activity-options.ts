import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { NON_RETRYABLE_FAILURES } from '../domain/failures.js';

/**
 * Retry policy for every step: transient faults (connection refused, 5xx, 429) back off and
 * retry; the permanent failure types never do. Unreachable hosts stop being retried after
 * `ssh.retryFor` (the activity decides), waits for images and checks after `imageTimeout`.
 */
const retry = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 50,
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
};

/**
 * Steps on hosts heartbeat every second or so; one that stops (its worker died) is retried
 * elsewhere after `heartbeatTimeoutMs`. A cancelled step (an abort) is waited for until it has
 * really stopped: a step still running on a host could otherwise undo the rollback that follows.
 */
export function hostSteps(stepTimeoutMs: number, heartbeatTimeoutMs = 30_000) {
  return proxyActivities<Activities>({
    startToCloseTimeout: stepTimeoutMs + 60_000,
    heartbeatTimeout: heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
  });
}

export function waitingSteps(waitMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: waitMs + 120_000,
    heartbeatTimeout: '60s',
    retry,
  });
}

/**
 * An environment waiting for a run it lent its lock to (a recipe queued elsewhere): as long as
 * the run lasts, which may be days with an operator in the loop; a worker that dies mid-wait
 * is noticed by the heartbeat and the wait starts again elsewhere.
 */
export const waitingForRuns = proxyActivities<Activities>({
  startToCloseTimeout: '3650d',
  heartbeatTimeout: '60s',
  // No attempt limit: giving up would release a lock its holder still uses.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

export const apiSteps = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  retry,
});

/**
 * Housekeeping between runs, while the environment's queue waits for it: a few tries, then the
 * queue goes on and the history says what is left.
 */
export const housekeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { ...retry, maximumAttempts: 5 },
});

/** Call-site options (merged over the proxy's): the one-line summary the Temporal UI shows. */
export function summary(text: string): ActivityOptions {
  return { summary: text.slice(0, 200) };
}
