import type { Release as LedgerRelease } from '../../domain/ledger.js';
import { FailureType, PLAN_FAILURES } from '../../domain/failures.js';
import type { DeployPlan, Target } from '../../domain/plan.js';
import { planBatches } from '../../domain/rollout.js';
import type { LeftToFix } from '../../domain/run.js';
import { releaseValues } from '../../domain/release.js';
import type { Batches } from './batches.js';
import type { RunState } from './run-state.js';
import type { DeployInput } from '../contract.js';
import { downgradeSchema } from './schema.js';

/**
 * The rollback of a stopped rollout: the schema down to `release`'s revision first (when it
 * has `downgrade`), then every touched target back on `release`, batch by batch,
 * last batch first, through the same engine as the rollout. Targets that do not come back
 * leave the run `failed` with `leftToFix`, holding the environment until an operator retries
 * them or aborts (unless retrying could not help, or it was aborted). Answers how it ends.
 */
export async function rollBackAll(input: DeployInput, state: RunState, batches: Batches, release: LedgerRelease, outcome: 'rolled_back' | 'aborted'): Promise<'rolled_back' | 'aborted' | 'failed'> {
  const { plan } = input;
  const { run } = state;
  const before = run.error;
  run.phase = 'rollback';
  // A rollback run that is itself rolled back returns to the newer release: that would need the
  // migration up again, not a downgrade (docs/runs.md, "Schema revisions").
  if (run.kind === 'deploy' && !await downgradeSchema(input, state, release, run.version.images)) {
    // Aborted with the schema still at the newer revision: every touched target stays on the new release.
    const newLabel = run.version.sha ?? Object.values(run.version.images)[0] ?? 'the new release';
    run.leftToFix = batches.touched.map((t) => ({ target: t.name, version: newLabel, error: 'not rolled back: the schema downgrade failed and the run was aborted', type: run.error?.type ?? 'Aborted' }));
    return 'failed';
  }
  run.error = before;
  let left = await rollBackInBatches(plan, state, batches, release, batches.touched);
  while (left.length) {
    run.leftToFix = left;
    const lost = left.map((l) => l.target).join(', ');
    run.error = {
      type: before?.type ?? FailureType.WorkflowError, step: 'rollback', target: left[0]!.target,
      message: `${left.length} target${left.length === 1 ? '' : 's'} not rolled back (${lost}): ${left[0]!.error}; before that: ${before?.message ?? outcome}`,
    };
    // Aborted, or nothing a retry could change (the release itself cannot be applied): the run ends.
    if (state.abortRequested || left.every((l) => PLAN_FAILURES.includes(l.type))) return 'failed';
    run.awaitingOperator = true;
    state.setStatus('failed');
    const decision = await state.awaitOperator();
    run.awaitingOperator = undefined;
    if (decision === 'abort') return 'failed';
    state.setStatus('running');
    const names = new Set(left.map((l) => l.target));
    left = await rollBackInBatches(plan, state, batches, release, batches.touched.filter((t) => names.has(t.name)));
  }
  run.leftToFix = undefined;
  run.error = before;
  return outcome;
}

/**
 * Puts `targets` back on `release`: the batches they were updated in, last batch first, each
 * batch at once and health-checked. A target that cannot come back does not stop the others;
 * an abort stops the rollback where it is. Answers what is left to fix.
 */
async function rollBackInBatches(plan: DeployPlan, state: RunState, batches: Batches, release: LedgerRelease, targets: Target[]): Promise<LeftToFix[]> {
  const { run } = state;
  run.phase = 'rollback';
  const values = releaseValues(plan, release.sha);
  const oldLabel = release.sha ?? Object.values(release.images)[0] ?? 'the previous release';
  const newLabel = run.version.sha ?? Object.values(run.version.images)[0] ?? 'the new release';
  const planned = planBatches(plan.targets, plan.rollout.canary, plan.rollout.batchSize);
  const left: LeftToFix[] = [];
  for (let index = planned.length - 1; index >= 0; index--) {
    const batch = planned[index]!.filter((t) => targets.includes(t));
    if (!batch.length) continue;
    if (state.rollbackAborted) {
      left.push(...batch.map((t) => ({ target: t.name, version: newLabel, error: 'not rolled back: the rollback was aborted', type: 'Aborted' })));
      continue;
    }
    const outcomes = await state.abortable(() => batches.rollBack(index, batch, { pinned: release.images, values }));
    outcomes.forEach((outcome, i) => {
      const t = batch[i]!;
      const target = state.target(t.id);
      if (outcome.status === 'healthy') {
        target.status = 'rolled_back';
        target.version = oldLabel;
        target.error = undefined;
        return;
      }
      const failure = outcome.status === 'failed' ? outcome.failure
        : outcome.status === 'skipped' ? { type: FailureType.CommandFailed, message: `not rolled back: the build on ${t.hostName} failed` }
          : { type: 'Aborted', message: 'the rollback was aborted while it ran' };
      target.status = 'failed';
      target.error = `rollback: ${failure.message}`;
      left.push({ target: t.name, version: `unknown: between ${newLabel} and ${oldLabel}`, error: failure.message, type: failure.type });
    });
    state.touch();
  }
  return left;
}
