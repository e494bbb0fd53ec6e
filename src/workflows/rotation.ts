import { condition, setHandler, setWorkflowOptions, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { FailureDetails } from '../domain/failures.js';
import { emptyLedger, type Ledger } from '../domain/ledger.js';
import { envSecretAsRecipe, queuedRotation, type EnvironmentRef, type RotationPlan, type RotationStatus, type RotationStep, type RotationView } from '../domain/rotation.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { withoutSecrets } from '../redact.js';
import { apiSteps, summary } from './activity-options.js';
import { lockGrantedSignal, rotationAbortUpdate, rotationQuery, rotationRetryUpdate, type RotationInput } from './contract.js';
import { describeFailure } from './failure-details.js';
import { runNotices } from './notifier.js';
import { onceScope } from './once-scope.js';
import { hostJobRunner, jobFailure } from './rotation/host-jobs.js';
import { recipeRotation } from './rotation/recipe.js';
import { registryTokenRotation } from './rotation/registry-token.js';
import type { Compensation, RotationSaga, Saga } from './rotation/saga.js';
import { sshKeyRotation } from './rotation/ssh-key.js';

function sagaFor(plan: RotationPlan, saga: Saga): RotationSaga {
  switch (plan.kind) {
    case 'env-secret': return recipeRotation(envSecretAsRecipe(plan), saga);
    case 'ssh-key': return sshKeyRotation(plan, saga);
    case 'registry-token': return registryTokenRotation(plan, saga);
    case 'recipe': return recipeRotation(plan, saga);
  }
}

const lockKey = (ref: EnvironmentRef) => `${ref.service}/${ref.environment}`;

/**
 * A rotation (docs/rotations.md): the kind's steps in order, queued behind the environment's other runs;
 * when one fails, the compensations of the steps that ran undo them. A compensation that
 * fails leaves the rotation `failed`, saying what is left to fix by hand, until `retry`.
 */
export async function rotation(input: RotationInput): Promise<RotationView> {
  const { plan } = input;
  const now = () => new Date().toISOString();
  const view = queuedRotation(workflowInfo().workflowId, plan, input.createdAt);
  const ledger: Ledger = input.granted ?? emptyLedger();
  let retryRequested = false;
  let abortRequested = false;
  const hidden = new Set<string>();
  const scrub = (text: string) => withoutSecrets(text, hidden);
  const untouched = new WeakSet<RotationStep>();
  const affected = new WeakSet<RotationStep>();
  setHandler(rotationQuery, () => view);
  // A recipe's other environments, granted in turn (src/workflows/environment.ts).
  const otherLedgers = new Map<string, Ledger>();
  setHandler(lockGrantedSignal, (granted) => { otherLedgers.set(lockKey(granted), granted.ledger); });
  const waitingForOperator = () => view.status === 'failed' && !view.finishedAt;
  setHandler(rotationRetryUpdate, () => { retryRequested = true; return view; }, {
    validator: () => { if (!waitingForOperator()) throw new Error(`the rotation is ${view.status}${view.finishedAt ? ' and ended' : ''}: retry applies to a rotation whose compensation failed`); },
  });
  setHandler(rotationAbortUpdate, () => { abortRequested = true; return view; }, {
    validator: () => { if (!waitingForOperator()) throw new Error(`the rotation is ${view.status}${view.finishedAt ? ' and ended' : ''}: abort applies to a rotation whose compensation failed`); },
  });

  const notices = runNotices(input.notifications, view.id);
  const setStatus = (status: RotationStatus) => {
    view.status = status;
    view.updatedAt = now();
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: status }]);
    // `failed` while it waits for an operator is news too; its end follows later.
    if (status === 'succeeded' || status === 'compensated' || status === 'failed') notices.send(`rotation.${status}`, view);
  };
  const started = (step: RotationStep) => {
    step.status = 'running';
    view.updatedAt = now();
  };
  /** A step that failed; one that never reached its host (and did nothing before) needs no undo. */
  const failed = (step: RotationStep, failure: FailureDetails) => {
    step.status = 'failed';
    step.error = scrub(failure.message);
    if (failure.hostReached === false && !affected.has(step)) {
      untouched.add(step);
      step.error += ' (the host was never reached: nothing to undo there)';
    }
  };
  const runJobs = hostJobRunner(view.id, { stepTimeoutMs: input.stepTimeoutMs, heartbeatTimeoutMs: input.heartbeatTimeoutMs });
  const saga: Saga = {
    id: view.id,
    onceScope: onceScope(),
    get ledger() { return ledger; },
    ledgerOf(ref) {
      const home = plan.kind === 'recipe' ? plan.locks[0]! : plan;
      return lockKey(ref) === lockKey(home) ? this.ledger : otherLedgers.get(lockKey(ref)) ?? emptyLedger();
    },
    stepTimeoutMs: input.stepTimeoutMs,
    heartbeatTimeoutMs: input.heartbeatTimeoutMs,
    addStep(name: string, target?: string): RotationStep {
      const step: RotationStep = { name, ...(target ? { target } : {}), status: 'pending' };
      view.steps.push(step);
      return step;
    },
    async perform(step, work) {
      started(step);
      try {
        await work();
        step.status = 'succeeded';
      } catch (error) {
        failed(step, describeFailure(error));
        throw error;
      }
    },
    async onHosts(items, order) {
      const outcomes = await runJobs(items.map((i) => i.job), order, {
        started: (index) => started(items[index]!.step),
        ended: (index, outcome) => {
          const { step } = items[index]!;
          // A job a batch never got to (an earlier one failed) is as it was.
          if (outcome.status !== 'failed') {
            step.status = outcome.status === 'succeeded' ? 'succeeded' : 'pending';
            return;
          }
          if (outcome.tookEffect) affected.add(step);
          failed(step, outcome.failure);
        },
      });
      const failure = outcomes.find((o) => o.status === 'failed');
      if (failure) throw jobFailure(failure);
      return outcomes;
    },
    hostJobs: (jobs) => runJobs(jobs, 'each'),
    mayHaveRun: (step) => step.status !== 'pending' && !untouched.has(step),
    hide(values) { for (const value of values) if (value.length >= 4) hidden.add(value); },
  };
  const kind = sagaFor(plan, saga);

  if (plan.kind === 'recipe') {
    // Queued in the first of its locks, it takes the others in the same order as every recipe:
    // two recipes never wait on each other in a circle. Each is held until this run ends.
    for (const lock of plan.locks.slice(1)) {
      await apiSteps.requestLock.executeWithOptions(summary(`wait for the lock of ${lockKey(lock)}`), [lock, view.id]);
      await condition(() => otherLedgers.has(lockKey(lock)));
    }
  }
  setStatus('running');
  try {
    await kind.run();
  } catch (error) {
    const failure = describeFailure(error);
    const failedStep = view.steps.find((s) => s.status === 'failed');
    view.error = { type: failure.type, step: failedStep?.name ?? 'rotation', target: failedStep?.target ?? failure.target, message: scrub(failure.message) };
  }
  if (!view.error && kind.finishing) {
    try {
      await kind.finishing.run();
    } catch (error) {
      // Everything is in place with the new values: undoing it would not help. What is left is said.
      const failure = describeFailure(error);
      const failedStep = view.steps.find((s) => s.status === 'failed');
      view.error = { type: failure.type, step: failedStep?.name ?? 'finally', target: failedStep?.target ?? failure.target, message: scrub(failure.message) };
      view.leftToFix = kind.finishing.leftToFix();
      await kind.cleanup(true);
      view.finishedAt = now();
      setStatus('failed');
      await notices.flush();
      return view;
    }
  }
  if (!view.error) {
    await kind.cleanup();
    view.finishedAt = now();
    setStatus('succeeded');
    await notices.flush();
    return view;
  }

  setStatus('compensating');
  let pending = kind.unwind().filter((c) => c.always || saga.mayHaveRun(c.step));
  const compensating = (c: Compensation) => {
    c.step.status = 'compensating';
    view.updatedAt = now();
  };
  const compensated = (c: Compensation, failure: FailureDetails | undefined, failedUndos: Compensation[]) => {
    c.step.status = failure ? 'failed' : 'compensated';
    c.step.error = failure ? scrub(failure.message) : undefined;
    if (failure) failedUndos.push(c);
  };
  for (;;) {
    const failedUndos: Compensation[] = [];
    for (let i = 0; i < pending.length;) {
      const c = pending[i]!;
      if ('undo' in c) {
        compensating(c);
        try {
          await c.undo();
          compensated(c, undefined, failedUndos);
        } catch (error) {
          compensated(c, describeFailure(error), failedUndos);
        }
        i++;
        continue;
      }
      // The hosts' undos that follow one another run as one step's jobs, every one tried.
      let end = i;
      while (end < pending.length && 'job' in pending[end]!) end++;
      const group = pending.slice(i, end) as Array<Extract<Compensation, { job: unknown }>>;
      await runJobs(group.map((g) => g.job), 'each', {
        started: (index) => compensating(group[index]!),
        ended: (index, outcome) => compensated(group[index]!, outcome.status === 'failed' ? outcome.failure : undefined, failedUndos),
      });
      i = end;
    }
    if (!failedUndos.length) break;
    view.leftToFix = failedUndos.map((c) => c.byHand);
    retryRequested = false;
    setStatus('failed');
    await condition(() => retryRequested || abortRequested);
    if (abortRequested) {
      // The backups the by-hand fixes name stay where they are: no cleanup.
      view.error = { ...view.error!, message: `${view.error!.message}; aborted by an operator with ${view.leftToFix.length} compensation${view.leftToFix.length === 1 ? '' : 's'} left to do by hand` };
      view.finishedAt = now();
      setStatus('failed');
      await notices.flush();
      return view;
    }
    view.leftToFix = undefined;
    setStatus('compensating');
    pending = failedUndos;
  }
  await kind.cleanup();
  view.finishedAt = now();
  setStatus('compensated');
  await notices.flush();
  return view;
}

// An error of the saga's own code fails the rotation, releasing its environment, instead of
// retrying the workflow task forever.
setWorkflowOptions({ failureExceptionTypes: [Error] }, rotation);
