import {
  condition, continueAsNew, getExternalWorkflowHandle, log, ParentClosePolicy, setHandler, startChild, workflowInfo,
} from '@temporalio/workflow';
import { recordLostRun, recordRotation, recordRun, type Ledger } from '../domain/ledger.js';
import { describeRotation, queuedRotation, type RotationView } from '../domain/rotation.js';
import { refLabel, refName } from '../domain/plan.js';
import { queuedRun, type Run } from '../domain/run.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import {
  enqueueSignal, environmentQuery, grantSignal, IDEMPOTENCY_WINDOW_MS, lockGrantedSignal, queuedRunQuery,
  type DeployInput, type EnqueueRequest, type EnqueueRotationRequest, type EnvironmentState, type IdempotencyEntry, type QueuedRun, type RotationInput, type RunStart,
} from './contract.js';
import { housekeeping, waitingForRuns } from './activity-options.js';

const HISTORY_EVENTS_BEFORE_CONTINUE = 5_000;

/** A queued run that did not start here (it existed already): it held nothing, and is not recorded. */
const NOT_STARTED = Symbol('not started');

/**
 * One long-lived workflow per service and environment (`slipway-env/<service>/<environment>`):
 * it holds the lock (one run at a time), the FIFO queue of runs waiting for it, and the
 * release ledger. Runs are its children, started the moment they are enqueued (so they can
 * be looked up as `queued`) and let go one at a time; a run that ends in any way, even
 * terminated, hands the lock on, so a crash never leaves it stale.
 */
export async function environment(state: EnvironmentState): Promise<void> {
  let ledger = state.ledger;
  type RunOrRotation = (input: DeployInput | RotationInput) => Promise<Run | RotationView>;
  type Ended = Run | RotationView | null | typeof NOT_STARTED;
  /** Hands a waiting run the lock; `ended` settles once it has ended, with its result. */
  interface Waiting {
    runId: string;
    view?: Omit<QueuedRun, 'position'>;
    /** False while its workflow is still being started: until then only this workflow knows it. */
    started(): boolean;
    grant(granted: Ledger): { ended: Promise<Ended>; signalled: Promise<void> };
  }
  const queue: Waiting[] = [];
  const child = (runId: string, handle: { result(): Promise<Run | RotationView>; signal(s: typeof grantSignal, l: Ledger): Promise<void> }, grantedAtStart: boolean): Waiting => ({
    runId,
    started: () => true,
    grant: (granted) => ({ ended: handle.result(), signalled: grantedAtStart ? Promise.resolve() : handle.signal(grantSignal, granted) }),
  });
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
  let enqueuing = 0;
  const forgetOldKeys = () => {
    for (const [key, entry] of Object.entries(idempotency)) if (Date.now() - entry.at > IDEMPOTENCY_WINDOW_MS) delete idempotency[key];
  };

  setHandler(environmentQuery, () => ({ ...ledger, active: active?.runId ?? null, queue: queue.map((q) => q.runId) }));
  setHandler(queuedRunQuery, (runId) => {
    // Granted the lock while its workflow is still starting: it is next, and shown as queued.
    const starting = active && !active.waiting.started() ? [active.waiting] : [];
    const waiting = [...starting, ...queue];
    const index = waiting.findIndex((q) => q.runId === runId);
    return index < 0 ? null : { position: index + 1, ...waiting[index]!.view };
  });

  /**
   * Starts a queued run as this workflow's child (queued until granted, or with the lock when
   * `start` says so); undefined when it exists already.
   */
  const startRun = async (request: EnqueueRequest | EnqueueRotationRequest, start: RunStart): Promise<Waiting | undefined> => {
    const { runId } = request;
    const hash = request.idempotency ? { requestHash: request.idempotency.requestHash } : {};
    const grantedAtStart = start.startedAs === 'granted';
    try {
      if ('rotation' in request) {
        const { plan, createdAt } = request.rotation;
        const handle = await startChild<RunOrRotation>('rotation', {
          workflowId: runId,
          args: [{ ...request.rotation, ...start }],
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          staticSummary: `${describeRotation(plan)} for ${plan.service} in ${plan.environment}`,
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTES.service, value: plan.service },
            { key: SEARCH_ATTRIBUTES.environment, value: plan.environment },
            { key: SEARCH_ATTRIBUTES.status, value: 'queued' },
          ],
          memo: { rotation: queuedRotation(runId, plan, createdAt), ...hash },
        });
        return child(runId, handle, grantedAtStart);
      }
      const { input } = request;
      const handle = await startChild<RunOrRotation>('deploy', {
        workflowId: runId,
        args: [{ ...input, ...start }],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        staticSummary: `${input.kind ?? 'deploy'} ${state.service} ${refLabel(input.plan.ref)} to ${state.environment}`,
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.service, value: state.service },
          { key: SEARCH_ATTRIBUTES.environment, value: state.environment },
          { key: SEARCH_ATTRIBUTES.version, value: refName(input.plan.ref) },
          { key: SEARCH_ATTRIBUTES.status, value: 'queued' },
        ],
        memo: { run: { ...queuedRun(runId, input.kind ?? 'deploy', input.plan, input.createdAt), targets: [] }, ...hash },
      });
      return child(runId, handle, grantedAtStart);
    } catch (error) {
      // A repeat of a run that exists (a keyed request sent again): it is not ours to run again.
      if ((error as Error).name === 'WorkflowExecutionAlreadyStartedError') return undefined;
      if (request.idempotency) delete idempotency[request.idempotency.key];
      log.error('could not start a queued run', { runId, error: (error as Error).message });
      return undefined;
    }
  };

  setHandler(enqueueSignal, (request) => {
    const { runId } = request;
    if (!runId) return;
    if (request.idempotency) {
      forgetOldKeys();
      // The API answered the repeat with the run the key names already.
      if (idempotency[request.idempotency.key]) return;
      idempotency[request.idempotency.key] = { runId, requestHash: request.idempotency.requestHash, at: Date.now() };
    }
    if (known.has(runId)) return;
    known.add(runId);
    if ('lockFor' in request) {
      queue.push(external(request.lockFor));
      return;
    }
    // Queued now, in the order signals came; started as a child meanwhile. It is granted the
    // lock once it has started. When nothing holds the lock or waits for it, it is next, with
    // the ledger as it is now: it starts with the lock, which saves the grant's round trip.
    const start: RunStart = !active && !queue.length && !enqueuing ? { startedAs: 'granted', granted: ledger } : { startedAs: 'queued' };
    enqueuing++;
    let hasStarted = false;
    const started = startRun(request, start).finally(() => { enqueuing--; hasStarted = true; });
    queue.push({
      runId,
      started: () => hasStarted,
      view: {
        ...'rotation' in request
          ? { rotation: queuedRotation(runId, request.rotation.plan, request.rotation.createdAt) }
          : { run: queuedRun(runId, request.input.kind ?? 'deploy', request.input.plan, request.input.createdAt) },
        ...(request.idempotency ? { requestHash: request.idempotency.requestHash } : {}),
      },
      grant: (granted) => {
        const grant = started.then((waiting) => waiting?.grant(granted));
        return { ended: grant.then((g) => g?.ended ?? NOT_STARTED), signalled: grant.then((g) => g?.signalled) };
      },
    });
  });

  /** A run that ended without its result; a rotation's leftovers in the credential store go with it. */
  const lost = async (finished: Waiting): Promise<Ledger> => {
    const rotation = !!finished.view?.rotation || finished.runId.startsWith('rotation-');
    if (!rotation) return recordLostRun(ledger, finished.runId, new Date().toISOString());
    const note = await housekeeping.abandonRotation(finished.runId).catch(
      () => `the credential store could not be reached: remove its entries under locks/ that name ${finished.runId}, and staged/${finished.runId}`,
    );
    return recordLostRun(ledger, finished.runId, new Date().toISOString(), { kind: 'rotation', note });
  };

  for (;;) {
    await condition(() => (!active && queue.length > 0) || activeDone
      || (!active && !queue.length && !enqueuing && workflowInfo().historyLength > (state.continueAfterEvents ?? HISTORY_EVENTS_BEFORE_CONTINUE)));
    if (activeDone && active) {
      const finished = active;
      activeDone = false;
      try {
        const result = await finished.ended;
        if (result !== NOT_STARTED) {
          if (!result) throw new Error('ended without a result');
          ledger = 'steps' in result ? recordRotation(ledger, result, new Date().toISOString()) : recordRun(ledger, result, new Date().toISOString());
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
    if (!active && queue.length) {
      const next = queue.shift()!;
      const { ended, signalled } = next.grant(ledger);
      active = { runId: next.runId, ended, waiting: next };
      ended.then(() => { activeDone = true; }, () => { activeDone = true; });
      await signalled.catch(() => { activeDone = true; });
      continue;
    }
    forgetOldKeys();
    await continueAsNew<typeof environment>({ ...state, ledger, idempotency });
  }
}
