import { condition, defineQuery, defineUpdate, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { emptyLedger, type Ledger } from '../domain/ledger.js';
import { queuedRotation, type RotationPlan, type RotationStatus, type RotationStep, type RotationView } from '../domain/rotation.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { grantSignal } from './deploy.js';
import { describeFailure } from './failure-details.js';
import { envSecretRotation } from './rotation/env-secret.js';
import { registryTokenRotation } from './rotation/registry-token.js';
import type { Compensation, RotationSaga, Saga } from './rotation/saga.js';
import { sshKeyRotation } from './rotation/ssh-key.js';

export interface RotationInput {
  plan: RotationPlan;
  createdAt: string;
  stepTimeoutMs: number;
  heartbeatTimeoutMs?: number | undefined;
}

export const rotationQuery = defineQuery<RotationView>('rotation');
/** After a compensation failed and an operator fixed its cause: try what is left again. */
export const rotationRetryUpdate = defineUpdate<RotationView>('retry');

function sagaFor(plan: RotationPlan, saga: Saga): RotationSaga {
  switch (plan.kind) {
    case 'env-secret': return envSecretRotation(plan, saga);
    case 'ssh-key': return sshKeyRotation(plan, saga);
    case 'registry-token': return registryTokenRotation(plan, saga);
  }
}

/**
 * A rotation (SPEC §4): the kind's steps in order, queued behind the environment's other runs;
 * when one fails, the compensations of the steps that ran undo them. A compensation that
 * fails leaves the rotation `failed`, saying what is left to fix by hand, until `retry`.
 */
export async function rotation(input: RotationInput): Promise<RotationView> {
  const { plan } = input;
  const now = () => new Date().toISOString();
  const view = queuedRotation(workflowInfo().workflowId, plan, input.createdAt);
  let ledger: Ledger | undefined;
  let retryRequested = false;
  setHandler(rotationQuery, () => view);
  setHandler(grantSignal, (granted) => { ledger = granted; });
  setHandler(rotationRetryUpdate, () => { retryRequested = true; return view; }, {
    validator: () => { if (view.status !== 'failed') throw new Error(`the rotation is ${view.status}: retry applies to a rotation whose compensation failed`); },
  });

  const setStatus = (status: RotationStatus) => {
    view.status = status;
    view.updatedAt = now();
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: status }]);
  };
  const saga: Saga = {
    id: view.id,
    get ledger() { return ledger ?? emptyLedger(); },
    stepTimeoutMs: input.stepTimeoutMs,
    heartbeatTimeoutMs: input.heartbeatTimeoutMs,
    addStep(name: string, target?: string): RotationStep {
      const step: RotationStep = { name, ...(target ? { target } : {}), status: 'pending' };
      view.steps.push(step);
      return step;
    },
    async perform(step, work) {
      step.status = 'running';
      view.updatedAt = now();
      try {
        await work();
        step.status = 'succeeded';
      } catch (error) {
        step.status = 'failed';
        step.error = describeFailure(error).message;
        throw error;
      }
    },
  };
  const kind = sagaFor(plan, saga);

  await condition(() => ledger !== undefined);
  setStatus('running');
  try {
    await kind.run();
  } catch (error) {
    const failure = describeFailure(error);
    const failedStep = view.steps.find((s) => s.status === 'failed');
    view.error = { type: failure.type, step: failedStep?.name ?? 'rotation', target: failedStep?.target ?? failure.target, message: failure.message };
  }
  if (!view.error) {
    await kind.cleanup();
    view.finishedAt = now();
    setStatus('succeeded');
    return view;
  }

  setStatus('compensating');
  let pending = kind.unwind().filter((c) => c.step.status !== 'pending');
  for (;;) {
    const failedUndos: Compensation[] = [];
    for (const c of pending) {
      c.step.status = 'compensating';
      view.updatedAt = now();
      try {
        await c.undo();
        c.step.status = 'compensated';
        c.step.error = undefined;
      } catch (error) {
        c.step.status = 'failed';
        c.step.error = describeFailure(error).message;
        failedUndos.push(c);
      }
    }
    if (!failedUndos.length) break;
    view.leftToFix = failedUndos.map((c) => c.byHand);
    retryRequested = false;
    setStatus('failed');
    await condition(() => retryRequested);
    view.leftToFix = undefined;
    setStatus('compensating');
    pending = failedUndos;
  }
  await kind.cleanup();
  view.finishedAt = now();
  setStatus('compensated');
  return view;
}
