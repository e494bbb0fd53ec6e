import {
  condition, continueAsNew, getExternalWorkflowHandle, ParentClosePolicy, setHandler, startChild, workflowInfo,
} from '@temporalio/workflow';
import { recordLostRun, recordRotation, recordRun, type Ledger } from '../domain/ledger.js';
import { describeRotation, queuedRotation, type RotationView } from '../domain/rotation.js';
import { queuedRun, type Run } from '../domain/run.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import type { DeployInput } from './deploy.js';
import { enqueueUpdate, environmentQuery, grantSignal, lockGrantedSignal } from './definitions.js';
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

export interface EnqueueAnswer {
  runId: string;
  created: boolean;
  /** With `created: false` for an idempotency key: the hash of the request that first used it. */
  requestHash?: string | undefined;
}

/** How long an idempotency key returns the run it first started (SPEC §5: at least 24 hours). */
export const IDEMPOTENCY_WINDOW_MS = 25 * 3_600_000;


const HISTORY_EVENTS_BEFORE_CONTINUE = 5_000;

export async function environment(state: EnvironmentState): Promise<void> {
  let ledger = state.ledger;
  type RunOrRotation = (input: DeployInput | RotationInput) => Promise<Run | RotationView>;
  /** Hands a waiting run the lock; `ended` settles once it has ended, with its result. */
  interface Waiting {
    runId: string;
    grant(granted: Ledger): { ended: Promise<Run | RotationView | null>; signalled: Promise<void> };
  }
  const queue: Waiting[] = [];
  const child = (runId: string, handle: { result(): Promise<Run | RotationView>; signal(s: typeof grantSignal, l: Ledger): Promise<void> }): Waiting => ({
    runId, grant: (granted) => ({ ended: handle.result(), signalled: handle.signal(grantSignal, granted) }),
  });
  const external = (holder: string): Waiting => ({
    runId: holder,
    grant: (granted) => ({
      ended: waitingForRuns.awaitRunEnd(holder),
      signalled: getExternalWorkflowHandle(holder).signal(lockGrantedSignal, { service: state.service, environment: state.environment, ledger: granted }),
    }),
  });
  const known = new Set<string>();
  const idempotency: Record<string, IdempotencyEntry> = { ...state.idempotency };
  const starting = new Set<string>();
  let active: { runId: string; ended: Promise<Run | RotationView | null> } | undefined;
  let activeDone = false;
  let enqueuing = 0;
  const forgetOldKeys = () => {
    for (const [key, entry] of Object.entries(idempotency)) if (Date.now() - entry.at > IDEMPOTENCY_WINDOW_MS) delete idempotency[key];
  };

  setHandler(environmentQuery, () => ({ ...ledger, active: active?.runId ?? null, queue: queue.map((q) => q.runId) }));
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
      if ('rotation' in request) {
        const { plan, createdAt } = request.rotation;
        const handle = await startChild<RunOrRotation>('rotation', {
          workflowId: runId,
          args: [request.rotation],
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          staticSummary: `${describeRotation(plan)} for ${plan.service} in ${plan.environment}`,
          typedSearchAttributes: [
            // A recipe may queue in an environment other than its own (its first lock).
            { key: SEARCH_ATTRIBUTES.service, value: plan.service },
            { key: SEARCH_ATTRIBUTES.environment, value: plan.environment },
            { key: SEARCH_ATTRIBUTES.status, value: 'queued' },
          ],
          memo: { rotation: queuedRotation(runId, plan, createdAt) },
        });
        queue.push(child(runId, handle));
        return { runId, created: true };
      }
      const { input } = request;
      const handle = await startChild<RunOrRotation>('deploy', {
        workflowId: runId,
        args: [input],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        staticSummary: `${input.kind ?? 'deploy'} ${state.service} ${'sha' in input.plan.ref ? input.plan.ref.sha.slice(0, 7) : input.plan.ref.tag} to ${state.environment}`,
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.service, value: state.service },
          { key: SEARCH_ATTRIBUTES.environment, value: state.environment },
          { key: SEARCH_ATTRIBUTES.version, value: 'sha' in input.plan.ref ? input.plan.ref.sha : input.plan.ref.tag },
          { key: SEARCH_ATTRIBUTES.status, value: 'queued' },
        ],
        // Small on purpose (payload warning at 2 KiB): the targets come from the run itself.
        memo: { run: { ...queuedRun(runId, input.kind ?? 'deploy', input.plan, input.createdAt), targets: [] } },
      });
      queue.push(child(runId, handle));
      return { runId, created: true };
    } catch (error) {
      // Started before this workflow continued as new: it exists, and is not ours to run again.
      if ((error as Error).name === 'WorkflowExecutionAlreadyStartedError') return { runId, created: false };
      if (request.idempotency) delete idempotency[request.idempotency.key];
      throw error;
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
      active = undefined;
      activeDone = false;
      try {
        const result = await finished.ended;
        if (!result) throw new Error('ended without a result');
        ledger = 'steps' in result ? recordRotation(ledger, result, new Date().toISOString()) : recordRun(ledger, result, new Date().toISOString());
      } catch {
        // Terminated, cancelled or failed as a workflow: the lock is released all the same.
        ledger = recordLostRun(ledger, finished.runId, new Date().toISOString());
      }
      continue;
    }
    if (!active && queue.length) {
      const next = queue.shift()!;
      const { ended, signalled } = next.grant(ledger);
      active = { runId: next.runId, ended };
      ended.then(() => { activeDone = true; }, () => { activeDone = true; });
      await signalled.catch(() => { activeDone = true; });
      continue;
    }
    forgetOldKeys();
    await continueAsNew<typeof environment>({ ...state, ledger, idempotency });
  }
}
