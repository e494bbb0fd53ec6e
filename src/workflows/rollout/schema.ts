import { isCancellation } from '@temporalio/workflow';
import { composeDowngrade, imageEnvironment } from '../../commands/compose.js';
import type { PinnedImages } from '../../domain/plan.js';
import { releaseValues } from '../../domain/release.js';
import { downgradeTarget } from '../../domain/schema-revision.js';
import { renderTemplate, targetTemplateValues } from '../../domain/templates.js';
import { hostSteps, summary } from '../activity-options.js';
import type { DeployInput } from '../contract.js';
import { describeFailure } from '../failure-details.js';
import { onceScope } from '../once-scope.js';
import type { RunState } from './run-state.js';

/**
 * Before a rollback changes any target (docs/runs.md, "Schema revisions"): when the schema is
 * at another revision than the release it returns to, `downgrade` takes it there, once whatever
 * the retries, with `newer`'s images (the code that has the down-migrations), on the first
 * target. Without `downgrade` nothing runs, and the run's `schemaRevision` stays the newer one.
 * A failed downgrade changes no target: the run waits for an operator's retry or abort.
 * Answers false when the operator aborted.
 */
export async function downgradeSchema(input: DeployInput, state: RunState, release: { sha: string | null; revision?: string | undefined }, newer: PinnedImages): Promise<boolean> {
  const { plan } = input;
  const { run } = state;
  const to = downgradeTarget(run.schemaRevision, release);
  const { runtime } = plan;
  if (!to || runtime.kind !== 'compose' || !runtime.migrate?.downgrade) return true;
  const first = plan.targets[0]!;
  const values = targetTemplateValues(first, releaseValues(plan, release.sha));
  const dir = renderTemplate(runtime.dir, values);
  const command = composeDowngrade(runtime, dir, imageEnvironment(runtime, newer), to)!;
  for (;;) {
    try {
      await hostSteps(input.stepTimeoutMs, input.heartbeatTimeoutMs).updateHost.executeWithOptions(summary(`${first.name}: ${command.label}, before the rollback`), [{
        target: first, dir, steps: [{ kind: 'run', command, onceStep: `downgrade/${to}` }], from: 0, health: plan.health,
        onceKey: `${onceScope()}/schema`, log: { run: run.id, target: first.id, phase: 'rollback' },
      }]);
      run.schemaRevision = to;
      state.touch();
      return true;
    } catch (error) {
      if (isCancellation(error)) throw error;
      const failure = describeFailure(error);
      run.error = {
        type: failure.type, step: `${first.name}: ${command.label}`, target: first.name,
        message: `the schema could not go down to ${to} before the rollback, so no target was changed; retry, or abort: ${failure.message}`,
      };
      state.setStatus('awaiting_operator');
      const decision = await state.awaitOperator();
      if (decision === 'abort') return false;
      state.setStatus('running');
    }
  }
}
