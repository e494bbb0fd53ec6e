import { isCancellation } from '@temporalio/workflow';
import { hookCommand } from '../../commands/hooks.js';
import type { FailureDetails } from '../../domain/failures.js';
import { hookBatches, hookValues, type Hook, type HookName } from '../../domain/hooks.js';
import type { Target } from '../../domain/plan.js';
import type { RunHook } from '../../domain/run.js';
import { renderTemplate, targetTemplateValues, type TemplateValues } from '../../domain/templates.js';
import { hostSteps, summary } from '../activity-options.js';
import type { DeployInput } from '../contract.js';
import { describeFailure } from '../failure-details.js';
import { onceScope } from '../once-scope.js';
import { TargetsFailed } from './batches.js';
import type { RunState } from './run-state.js';

/**
 * Runs the `name` hooks (docs/hooks.md) in their order, each on its targets batch by batch,
 * with `release`'s values and `{previousSha}`. Each runs once per run and target whatever the
 * retries (a marker on the host); one that failed runs again when the run retries it. A
 * failure stops the hooks after the batch it happened in, and throws `TargetsFailed`.
 */
export async function runHooks(input: DeployInput, state: RunState, name: HookName, release: TemplateValues): Promise<void> {
  const { plan } = input;
  const values = hookValues(release, state.run.previous?.sha);
  for (const [index, hook] of (plan.hooks?.[name] ?? []).entries()) {
    for (const batch of hookBatches(hook, plan.targets, plan.rollout)) {
      const failures = await Promise.all(batch.map((target) => runHook(input, state, { name, index, hook }, target, values)));
      const failed = failures.find((f) => f !== undefined);
      if (failed) throw new TargetsFailed(failed);
    }
  }
}

/** One hook on one target; answers its failure, if it failed. */
async function runHook(input: DeployInput, state: RunState, { name, index, hook }: { name: HookName; index: number; hook: Hook }, target: Target, values: TemplateValues): Promise<FailureDetails | undefined> {
  const { plan } = input;
  const { run } = state;
  let label = `${name}: ${hook.command}`;
  let entry: RunHook | undefined;
  try {
    const targetValues = targetTemplateValues(target, values);
    const dir = renderTemplate(plan.runtime.dir, targetValues);
    const command = hookCommand(name, renderTemplate(hook.command, targetValues), dir);
    label = command.label;
    entry = started(state, name, target, label);
    await hostSteps(input.stepTimeoutMs, input.heartbeatTimeoutMs).updateHost.executeWithOptions(summary(`${target.name}: ${label}`), [{
      target, dir, steps: [{ kind: 'run', command, onceStep: `${name}/${index}` }], from: 0, health: plan.health,
      onceKey: `${onceScope()}/hooks/${target.id}`, log: { run: run.id, target: target.id, phase: name === 'afterRollback' ? 'rollback' : 'deploy' },
    }]);
    entry.status = 'succeeded';
    state.touch();
    return undefined;
  } catch (error) {
    if (isCancellation(error)) throw error;
    const failure = describeFailure(error);
    entry ??= started(state, name, target, label);
    entry.status = 'failed';
    entry.error = failure.message;
    state.touch();
    return { ...failure, target: target.name, step: label };
  }
}

/** The run's entry for this hook on this target, running: a retry takes up the entry of the attempt before. */
function started(state: RunState, hook: HookName, target: Target, command: string): RunHook {
  const hooks = (state.run.hooks ??= []);
  let entry = hooks.find((h) => h.hook === hook && h.target === target.name && h.command === command);
  if (!entry) hooks.push(entry = { hook, target: target.name, command, status: 'running' });
  entry.status = 'running';
  entry.error = undefined;
  state.touch();
  return entry;
}
