import {
  condition, continueAsNew, getExternalWorkflowHandle, log, ParentClosePolicy, setHandler, startChild, workflowInfo,
} from '@temporalio/workflow';
import { recordLostRun, recordNotStarted, recordRotation, recordRun, type HistoryEntry, type Ledger } from '../domain/ledger.js';
import { describeRotation, queuedRotation, type RotationView } from '../domain/rotation.js';
import { refLabel, refName, refSha } from '../domain/plan.js';
import { abortedInQueueError, queuedRun, type Run, type RunOverride } from '../domain/run.js';
import { waitingFor } from '../domain/windows.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import {
  abortQueuedUpdate, enqueueSignal, environmentQuery, overrideWindowUpdate, runExtras, IDEMPOTENCY_KEYS_LIMIT, idempotencyKeyQuery, IDEMPOTENCY_WINDOW_MS, lockGrantedSignal, queuedRunQuery,
  type AnyEnqueueRequest, type DeployInput, type EnqueueRequest, type EnqueueRotationRequest, type EnvironmentState, type IdempotencyEntry, type QueuedRun, type RotationInput, type RunStart,
} from './contract.js';
import { housekeeping, waitingForRuns } from './activity-options.js';
import { runNotices } from './notifier.js';
import { putBackAfterLostRun } from './rollout/traffic.js';

const HISTORY_EVENTS_BEFORE_CONTINUE = 5_000;

/**
 * One long-lived workflow per service and environment (`slipway-env/<service>/<environment>`):
 * it holds the lock (one run at a time), the FIFO queue of runs waiting for it, and the
 * release ledger. A queued run is data in this workflow's state, not a workflow: it starts as
 * a child only when it is granted the lock, so a long queue costs no pending children and no
 * history. A run that ends in any way, even terminated, hands the lock on, so a crash never
 * leaves it stale.
 */
export async function environment(state: EnvironmentState): Promise<void> {
  let ledger = state.ledger;
  type RunOrRotation = (input: DeployInput | RotationInput) => Promise<Run | RotationView>;
  /** How the lock holder ended: its result, null when it ended without one, or why it never started. */
  type Ended = Run | RotationView | null | { notStarted: string };
  /** Waits for the lock; `grant` hands it over, and `ended` settles once the holder has ended. */
  interface Waiting {
    runId: string;
    view?: Omit<QueuedRun, 'position'>;
    /** What it was queued with (absent for a lock lent to a run queued elsewhere). */
    request?: EnqueueRequest | EnqueueRotationRequest;
    /** False while its workflow is still being started: until then only this workflow knows it. */
    started(): boolean;
    /** An admin started it outside its window: windows no longer hold it. */
    overridden?: boolean;
    grant(granted: Ledger): { ended: Promise<Ended>; signalled: Promise<void> };
  }
  const queue: Waiting[] = [];
  const queued = (request: EnqueueRequest | EnqueueRotationRequest): Waiting => {
    let hasStarted = false;
    return {
      runId: request.runId,
      request,
      view: 'rotation' in request
        ? { rotation: queuedRotation(request.runId, request.rotation.plan, request.rotation.createdAt) }
        : { run: queuedRun(request.runId, request.input.kind ?? 'deploy', request.input.plan, request.input.createdAt, runExtras(request.input)) },
      started: () => hasStarted,
      grant: (granted) => {
        const start = startRun(request, { granted }).finally(() => { hasStarted = true; });
        return {
          ended: start.then((handle) => handle.result(), (error: Error) => ({ notStarted: error.message })),
          signalled: start.then(() => undefined, () => undefined),
        };
      },
    };
  };
  const external = (holder: string): Waiting => ({
    runId: holder,
    started: () => true,
    grant: (granted) => ({
      ended: waitingForRuns.awaitRunEnd(holder),
      signalled: getExternalWorkflowHandle(holder).signal(lockGrantedSignal, { service: state.service, environment: state.environment, ledger: granted }),
    }),
  });
  const known = new Set<string>();
  const idempotency: Record<string, IdempotencyEntry> = { ...state.idempotency };
  let active: { runId: string; ended: Promise<Ended>; waiting: Waiting } | undefined;
  let activeDone = false;
  /** Update handlers still at work (an abort of a queued run): the workflow continues as new only without any. */
  let handling = 0;
  const forgetOldKeys = () => {
    const kept = Object.entries(idempotency)
      .filter(([, entry]) => Date.now() - entry.at <= IDEMPOTENCY_WINDOW_MS)
      .sort(([, a], [, b]) => b.at - a.at)
      .slice(0, IDEMPOTENCY_KEYS_LIMIT);
    for (const key of Object.keys(idempotency)) delete idempotency[key];
    Object.assign(idempotency, Object.fromEntries(kept));
  };

  /**
   * Each queued run's wait for its deploy window or the end of a freeze, as of now (a run that
   * starts waiting tells its hooks); answers when the first of those waits ends.
   */
  const refreshWindows = (): number | undefined => {
    let soonest: number | undefined;
    for (const q of queue) {
      const run = q.view?.run;
      if (!run || !q.request || !('input' in q.request)) continue;
      const wait = q.overridden ? undefined : waitingFor(q.request.input.plan.windows, Date.now());
      if (wait && !run.waitingFor) runNotices(q.request.input.notifications, q.runId, { once: true }).send('waiting_for_window', { ...run, waitingFor: wait });
      run.waitingFor = wait;
      if (wait) soonest = Math.min(soonest ?? Infinity, Date.parse(wait.until));
    }
    return soonest;
  };
  /** Whether a queued entry may have the lock: anything but a run waiting for its window. */
  const mayStart = (q: Waiting) => !q.view?.run?.waitingFor;

  setHandler(environmentQuery, () => ({ ...ledger, active: active?.runId ?? null, queue: queue.map((q) => q.runId) }));
  setHandler(idempotencyKeyQuery, (key) => {
    const entry = idempotency[key];
    return entry && Date.now() - entry.at <= IDEMPOTENCY_WINDOW_MS ? entry : null;
  });
  setHandler(queuedRunQuery, (runId) => {
    // Granted the lock while its workflow is still starting: it is next, and shown as queued.
    const starting = active && !active.waiting.started() ? [active.waiting] : [];
    const waiting = [...starting, ...queue];
    const index = waiting.findIndex((q) => q.runId === runId);
    return index < 0 ? null : { position: index + 1, ...waiting[index]!.view };
  });

  /** Starts a run as this workflow's child: granted the lock, or aborted while it waited. */
  const startRun = async (request: EnqueueRequest | EnqueueRotationRequest, start: RunStart) => {
    const { runId } = request;
    if ('rotation' in request) {
      const { plan, createdAt } = request.rotation;
      return startChild<RunOrRotation>('rotation', {
        workflowId: runId,
        args: [{ ...request.rotation, granted: start.granted }],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        staticSummary: `${describeRotation(plan)} for ${plan.service} in ${plan.environment}`,
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.service, value: plan.service },
          { key: SEARCH_ATTRIBUTES.environment, value: plan.environment },
          { key: SEARCH_ATTRIBUTES.status, value: 'running' },
        ],
        memo: { rotation: queuedRotation(runId, plan, createdAt) },
      });
    }
    const { input } = request;
    return startChild<RunOrRotation>('deploy', {
      workflowId: runId,
      args: [{ ...input, ...start }],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      staticSummary: `${input.kind ?? 'deploy'} ${state.service} ${refLabel(input.plan.ref)} to ${state.environment}`,
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.service, value: state.service },
        { key: SEARCH_ATTRIBUTES.environment, value: state.environment },
        { key: SEARCH_ATTRIBUTES.version, value: refName(input.plan.ref) },
        { key: SEARCH_ATTRIBUTES.status, value: start.granted ? 'running' : 'aborted' },
      ],
      memo: { run: { ...queuedRun(runId, input.kind ?? 'deploy', input.plan, input.createdAt), targets: [] } },
    });
  };

  setHandler(enqueueSignal, (request) => {
    const { runId } = request;
    if (!runId) return;
    if (request.idempotency) {
      forgetOldKeys();
      const earlier = idempotency[request.idempotency.key];
      if (earlier) {
        // The API answered a repeat with the run the key names already; a repeat with another
        // body that it could not compare (it raced the first) is refused here, and said so.
        if (earlier.requestHash !== request.idempotency.requestHash && !('lockFor' in request)) {
          ledger = recordNotStarted(ledger, new Date().toISOString(), {
            runId, kind: kindOf(request), sha: shaOf(request), reason: `its Idempotency-Key was used before for a different request (${earlier.runId})`,
          });
        }
        return;
      }
      idempotency[request.idempotency.key] = { runId, requestHash: request.idempotency.requestHash, at: Date.now() };
    }
    if (known.has(runId)) return;
    known.add(runId);
    queue.push('lockFor' in request ? external(request.lockFor) : queued(request));
    refreshWindows();
  });

  setHandler(overrideWindowUpdate, ({ runId, reason, by }) => {
    const waiting = queue.find((q) => q.runId === runId)!;
    const request = waiting.request as EnqueueRequest;
    const run = waiting.view!.run!;
    const override: RunOverride = { kind: 'window', reason, by, at: new Date().toISOString(), overrode: `${run.waitingFor!.kind}: ${run.waitingFor!.reason} (until ${run.waitingFor!.until})` };
    waiting.overridden = true;
    // The run starts with it, and its history entry in the ledger keeps it.
    request.input = { ...request.input, overrides: [...request.input.overrides ?? [], override] };
    run.overrides = request.input.overrides;
    run.waitingFor = undefined;
    return run;
  }, {
    validator: ({ runId }) => {
      const waiting = queue.find((q) => q.runId === runId);
      if (!waiting?.view?.run?.waitingFor) throw new Error(`${runId} is not waiting for a deploy window or the end of a freeze in ${state.service}/${state.environment}`);
    },
  });

  // Its workflow is started only to be looked up like any run: it ends at once, touching nothing.
  setHandler(abortQueuedUpdate, async ({ runId, reason }) => {
    const index = queue.findIndex((q) => q.runId === runId);
    const { request } = queue.splice(index, 1)[0]! as Waiting & { request: EnqueueRequest };
    const at = new Date().toISOString();
    const run: Run = { ...queuedRun(runId, request.input.kind ?? 'deploy', request.input.plan, request.input.createdAt), status: 'aborted', error: abortedInQueueError(reason), updatedAt: at, finishedAt: at };
    ledger = recordRun(ledger, run, at);
    handling++;
    try {
      await startRun(request, { abortedInQueue: { reason } });
    } catch (error) {
      log.warn('could not start the workflow of a run aborted in the queue', { runId, error: (error as Error).message });
    } finally {
      handling--;
    }
    return run;
  }, {
    validator: ({ runId }) => {
      const waiting = queue.find((q) => q.runId === runId);
      if (!waiting?.request || 'rotation' in waiting.request) throw new Error(`${runId} is not a run waiting in the queue of ${state.service}/${state.environment}`);
    },
  });

  /** A run that ended without its result; a rotation's leftovers in the credential store go with it. */
  const lost = async (finished: Waiting): Promise<Ledger> => {
    const rotation = !!finished.view?.rotation || finished.runId.startsWith('rotation-');
    if (!rotation) {
      const { request } = finished;
      const note = request && 'input' in request ? await putBackAfterLostRun(request.input, finished.runId, ledger.current?.sha) : undefined;
      return recordLostRun(ledger, finished.runId, new Date().toISOString(), { kind: 'deploy', note });
    }
    const note = await housekeeping.abandonRotation(finished.runId).catch(
      () => `the credential store could not be reached: remove its entries under locks/ that name ${finished.runId}, and staged/${finished.runId}`,
    );
    return recordLostRun(ledger, finished.runId, new Date().toISOString(), { kind: 'rotation', note });
  };

  const historyFull = () => workflowInfo().historyLength > (state.continueAfterEvents ?? HISTORY_EVENTS_BEFORE_CONTINUE);
  for (;;) {
    const wake = () => (!active && queue.some(mayStart)) || activeDone || (!active && !queue.length && !handling && historyFull());
    // A run waiting for its window starts by itself when it opens: a durable timer.
    const opens = refreshWindows();
    if (opens === undefined) await condition(wake);
    else await condition(wake, Math.max(opens - Date.now(), 1));
    refreshWindows();
    if (activeDone && active) {
      const finished = active;
      activeDone = false;
      try {
        const result = await finished.ended;
        if (!result) throw new Error('ended without a result');
        const at = new Date().toISOString();
        if ('notStarted' in result) {
          const { request } = finished.waiting;
          ledger = recordNotStarted(ledger, at, { runId: finished.runId, kind: request ? kindOf(request) : 'deploy', sha: request ? shaOf(request) : null, reason: result.notStarted });
        } else {
          ledger = 'steps' in result ? recordRotation(ledger, result, at) : recordRun(ledger, result, at);
        }
      } catch {
        // Terminated, cancelled or failed as a workflow: the lock is released all the same.
        ledger = await lost(finished.waiting);
      }
      // Released only once the ledger has the run: a run enqueued meanwhile waits, and does not
      // start with the ledger from before.
      active = undefined;
      continue;
    }
    if (!active && queue.some(mayStart)) {
      const next = queue.splice(queue.findIndex(mayStart), 1)[0]!;
      const { ended, signalled } = next.grant(ledger);
      active = { runId: next.runId, ended, waiting: next };
      ended.then(() => { activeDone = true; }, () => { activeDone = true; });
      await signalled.catch(() => { activeDone = true; });
      continue;
    }
    // Woken by a window's timer, or with runs still waiting: nothing to carry over yet.
    if (active || queue.length || handling || !historyFull()) continue;
    forgetOldKeys();
    await continueAsNew<typeof environment>({ ...state, ledger, idempotency });
  }
}

function kindOf(request: AnyEnqueueRequest): HistoryEntry['kind'] {
  return 'rotation' in request ? 'rotation' : 'input' in request ? request.input.kind ?? 'deploy' : 'deploy';
}

function shaOf(request: AnyEnqueueRequest): string | null {
  return 'input' in request ? refSha(request.input.plan.ref) : null;
}
