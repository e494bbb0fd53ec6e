import {
  condition, continueAsNew, getExternalWorkflowHandle, log, ParentClosePolicy, patched, setHandler, startChild, workflowInfo,
} from '@temporalio/workflow';
import { recordLostRun, recordRotation, recordRun, type Ledger } from '../domain/ledger.js';
import { describeRotation, queuedRotation, type RotationView } from '../domain/rotation.js';
import { refName } from '../domain/plan.js';
import { queuedRun, type Run } from '../domain/run.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import type { DeployInput } from './deploy.js';
import { enqueueSignal, enqueueUpdate, environmentQuery, grantSignal, lockGrantedSignal, queuedRunQuery, type RunStart } from './definitions.js';
import { waitingForRuns } from './activity-options.js';
import type { RotationInput } from './rotation.js';

/**
 * One long-lived workflow per service and environment (`slipway-env/<service>/<environment>`):
 * it holds the lock (one run at a time), the FIFO queue of runs waiting for it, and the
 * release ledger. Runs are its children, started the moment they are enqueued (so they can
 * be looked up as `queued`) and let go one at a time; a run that ends in any way, even
 * terminated, hands the lock on, so a crash never leaves it stale.
 */
export interface EnvironmentState {
  service: string;
  environment: string;
  ledger: Ledger;
  /** Past this many history events the workflow continues as new once idle (default 5,000). */
  continueAfterEvents?: number | undefined;
  /** Idempotency keys seen in the last day, carried across continue-as-new. */
  idempotency?: Record<string, IdempotencyEntry> | undefined;
  /**
   * Starts a run with the lock when nothing is ahead of it. Set for environments started (or
   * continued as new) since; one that was running before takes it up by `patched`.
   */
  grantsAtStart?: true | undefined;
}

export interface IdempotencyEntry {
  runId: string;
  /** SHA-256 of the request that used the key first: the same key with another body is refused. */
  requestHash: string;
  /** When it was first used (ms since the epoch, workflow time). */
  at: number;
}

export interface EnvironmentView {
  current: Ledger['current'];
  knownGood: Ledger['knownGood'];
  history: Ledger['history'];
  retired?: Ledger['retired'];
  active: string | null;
  queue: string[];
}

interface EnqueueCommon {
  /** A new, unique id: used unless `idempotency` names a run enqueued before. */
  runId: string;
  /** The caller's key, hashed with who sent it and what kind of run it asks for. */
  idempotency?: { key: string; requestHash: string } | undefined;
}

export interface EnqueueRequest extends EnqueueCommon {
  input: DeployInput;
}

/** A rotation waits for the lock like a deploy (runs queued before it have no `rotation` field). */
export interface EnqueueRotationRequest extends EnqueueCommon {
  rotation: RotationInput;
}

/**
 * A run queued in another environment that must hold this one's lock too (a recipe that
 * writes here). It waits in this queue like any run; granted, it holds the lock until it ends.
 */
export interface EnqueueLockRequest extends EnqueueCommon {
  /** The workflow id of the run that waits: it is signalled `lockGranted`. */
  lockFor: string;
}

export interface QueuedRun {
  /** 1: the next to get the lock. */
  position: number;
  /** What it shows while it waits (none for a run queued here from another environment). */
  run?: Run | undefined;
  rotation?: RotationView | undefined;
}

export interface EnqueueAnswer {
  runId: string;
  created: boolean;
  /** With `created: false` for an idempotency key: the hash of the request that first used it. */
  requestHash?: string | undefined;
}

/** How long an idempotency key returns the run it first started (SPEC §5: at least 24 hours). */
export const IDEMPOTENCY_WINDOW_MS = 25 * 3_600_000;


const HISTORY_EVENTS_BEFORE_CONTINUE = 5_000;

/** A queued run that did not start here (it existed already): it held nothing, and is not recorded. */
const NOT_STARTED = Symbol('not started');

export async function environment(state: EnvironmentState): Promise<void> {
  let ledger = state.ledger;
  type RunOrRotation = (input: DeployInput | RotationInput) => Promise<Run | RotationView>;
  type Ended = Run | RotationView | null | typeof NOT_STARTED;
  /** Hands a waiting run the lock; `ended` settles once it has ended, with its result. */
  interface Waiting {
    runId: string;
    view?: { run?: Run; rotation?: RotationView };
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
  const starting = new Set<string>();
  let active: { runId: string; ended: Promise<Ended>; waiting: Waiting } | undefined;
  let activeDone = false;
  let enqueuing = 0;
  // Asked only when it matters, so that a new environment records no patch marker at all.
  const grantsAtStart = () => state.grantsAtStart ?? patched('grant-at-start');
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
  const startRun = async (request: EnqueueRequest | EnqueueRotationRequest, start?: RunStart): Promise<Waiting | undefined> => {
    const { runId } = request;
    const hash = request.idempotency ? { requestHash: request.idempotency.requestHash } : {};
    const grantedAtStart = start?.startedAs === 'granted';
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
        staticSummary: `${input.kind ?? 'deploy'} ${state.service} ${'sha' in input.plan.ref ? input.plan.ref.sha.slice(0, 7) : input.plan.ref.tag} to ${state.environment}`,
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
    const start: RunStart | undefined = grantsAtStart()
      ? (!active && !queue.length && !enqueuing ? { startedAs: 'granted', granted: ledger } : { startedAs: 'queued' })
      : undefined;
    enqueuing++;
    let hasStarted = false;
    const started = startRun(request, start).finally(() => { enqueuing--; hasStarted = true; });
    queue.push({
      runId,
      started: () => hasStarted,
      view: 'rotation' in request
        ? { rotation: queuedRotation(runId, request.rotation.plan, request.rotation.createdAt) }
        : { run: queuedRun(runId, request.input.kind ?? 'deploy', request.input.plan, request.input.createdAt) },
      grant: (granted) => {
        const grant = started.then((waiting) => waiting?.grant(granted));
        return { ended: grant.then((g) => g?.ended ?? NOT_STARTED), signalled: grant.then((g) => g?.signalled) };
      },
    });
  });

  setHandler(enqueueUpdate, async (request) => {
    if (request.idempotency) {
      forgetOldKeys();
      const seen = idempotency[request.idempotency.key];
      if (seen) {
        // A repeat while the first is still starting answers once that run exists.
        await condition(() => !starting.has(seen.runId));
        return { runId: seen.runId, created: false, requestHash: seen.requestHash };
      }
      idempotency[request.idempotency.key] = { runId: request.runId, requestHash: request.idempotency.requestHash, at: Date.now() };
    }
    const { runId } = request;
    if (known.has(runId)) return { runId, created: false };
    known.add(runId);
    if ('lockFor' in request) {
      queue.push(external(request.lockFor));
      return { runId, created: true };
    }
    starting.add(runId);
    enqueuing++;
    try {
      const waiting = await startRun(request);
      if (!waiting) return { runId, created: false };
      queue.push(waiting);
      return { runId, created: true };
    } finally {
      enqueuing--;
      starting.delete(runId);
    }
  }, { validator: ({ runId }) => { if (!runId) throw new Error('a run id is required'); } });

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
        ledger = recordLostRun(ledger, finished.runId, new Date().toISOString());
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
    await continueAsNew<typeof environment>({ ...state, ledger, idempotency, ...(grantsAtStart() ? { grantsAtStart: true as const } : {}) });
  }
}
