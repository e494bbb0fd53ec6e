import { condition, ParentClosePolicy, proxyActivities, setHandler, startChild, type ChildWorkflowHandle } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { NotificationEvent, RunNotifications } from '../config/notifications.js';
import { NON_RETRYABLE_FAILURES } from '../domain/failures.js';
import { summary } from './activity-options.js';
import { noticeSignal, notifierWorkflowId, type Notice, type NotifierInput } from './contract.js';

/** Each hook is tried for up to 10 minutes, backing off; then the event is given up on. */
const delivery = proxyActivities<Activities>({
  scheduleToCloseTimeout: '10m',
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '60s', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

/**
 * One per run that has hooks (`<run id>/notify`), abandoned by its run so that a hook that is
 * down never holds the run up: it delivers the run's events in the order they happened, and
 * ends after the run's last one.
 */
export async function notifier(input: NotifierInput): Promise<void> {
  const queue: Notice[] = [];
  setHandler(noticeSignal, (notice) => { queue.push(notice); });
  for (;;) {
    // A run whose worker vanished for good never sends its end: give up after a month.
    if (!(await condition(() => queue.length > 0, '30 days'))) return;
    const notice = queue.shift()!;
    await Promise.allSettled(input.hooks.filter((h) => h.events.includes(notice.event)).map((h) =>
      delivery.sendNotification.executeWithOptions(summary(`hook ${h.hook}: ${notice.event}`), [h.hook, notice.event, notice.run])));
    if ((input.once || notice.run.finishedAt) && !queue.length) return;
  }
}

/**
 * What a run uses to tell its hooks: `send` never waits and never throws (a notification must
 * not change the run); `flush` waits until what was sent has reached the notifier.
 */
export function runNotices(notifications: RunNotifications | undefined, runId: string, { once = false } = {}): { send(event: NotificationEvent, run: object): void; flush(): Promise<void> } {
  let chain = Promise.resolve();
  let started: Promise<ChildWorkflowHandle<typeof notifier>> | undefined;
  return {
    send(event, run) {
      if (!notifications?.hooks.some((h) => h.events.includes(event))) return;
      const snapshot = { ...JSON.parse(JSON.stringify(run)) as Notice['run'], links: notifications.links };
      chain = chain.then(async () => {
        started ??= startChild(notifier, {
          // A notice sent for a run still queued (it waits for its window) has a notifier of its own: the run's starts with the run.
          workflowId: once ? `${notifierWorkflowId(runId)}-queued` : notifierWorkflowId(runId), args: [{ hooks: notifications.hooks, ...(once ? { once } : {}) }], parentClosePolicy: ParentClosePolicy.ABANDON,
          staticSummary: `notifications of ${runId}`,
        });
        await (await started).signal(noticeSignal, { event, run: snapshot });
      }).catch(() => undefined);
    },
    flush: () => chain,
  };
}
