import {
  condition, continueAsNew, defineQuery, defineUpdate, ParentClosePolicy, setHandler, startChild, workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { recordLostRun, recordRotation, recordRun, type Ledger } from '../domain/ledger.js';
import { describeRotation, queuedRotation, type RotationView } from '../domain/rotation.js';
import { queuedRun, type Run } from '../domain/run.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { grantSignal, type DeployInput } from './deploy.js';
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

export interface EnqueueAnswer {
  runId: string;
  created: boolean;
  /** With `created: false` for an idempotency key: the hash of the request that first used it. */
  requestHash?: string | undefined;
}

/** How long an idempotency key returns the run it first started (SPEC §5: at least 24 hours). */
export const IDEMPOTENCY_WINDOW_MS = 25 * 3_600_000;

export const enqueueUpdate = defineUpdate<EnqueueAnswer, [EnqueueRequest | EnqueueRotationRequest]>('enqueue');
export const environmentQuery = defineQuery<EnvironmentView>('environment');

export function environmentWorkflowId(service: string, environment: string): string {
  return `slipway-env/${service}/${environment}`;
}

const HISTORY_EVENTS_BEFORE_CONTINUE = 5_000;

export async function environment(state: EnvironmentState): Promise<void> {
  let ledger = state.ledger;
  type RunOrRotation = (input: DeployInput | RotationInput) => Promise<Run | RotationView>;
  const queue: { runId: string; handle: ChildWorkflowHandle<RunOrRotation> }[] = [];
  const known = new Set<string>();
  const idempotency: Record<string, IdempotencyEntry> = { ...state.idempotency };
  const starting = new Set<string>();
  let active: (typeof queue)[number] | undefined;
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
    starting.add(runId);
    enqueuing++;
    try {
      if ('rotation' in request) {
        const { plan, createdAt } = request.rotation;
        const handle = await startChild('rotation', {
          workflowId: runId,
          args: [request.rotation],
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          staticSummary: `${describeRotation(plan)} for ${state.service} in ${state.environment}`,
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTES.service, value: state.service },
            { key: SEARCH_ATTRIBUTES.environment, value: state.environment },
            { key: SEARCH_ATTRIBUTES.status, value: 'queued' },
          ],
          memo: { rotation: queuedRotation(runId, plan, createdAt) },
        }) as ChildWorkflowHandle<RunOrRotation>;
        queue.push({ runId, handle });
        return { runId, created: true };
      }
      const { input } = request;
      const handle = await startChild('deploy', {
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
      }) as ChildWorkflowHandle<RunOrRotation>;
      queue.push({ runId, handle });
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
        const result = await finished.handle.result();
        ledger = 'steps' in result ? recordRotation(ledger, result, new Date().toISOString()) : recordRun(ledger, result, new Date().toISOString());
      } catch {
        // Terminated, cancelled or failed as a workflow: the lock is released all the same.
        ledger = recordLostRun(ledger, finished.runId, new Date().toISOString());
      }
      continue;
    }
    if (!active && queue.length) {
      active = queue.shift()!;
      const current = active;
      current.handle.result().then(() => { activeDone = true; }, () => { activeDone = true; });
      await current.handle.signal(grantSignal, ledger).catch(() => { activeDone = true; });
      continue;
    }
    forgetOldKeys();
    await continueAsNew<typeof environment>({ ...state, ledger, idempotency });
  }
}
