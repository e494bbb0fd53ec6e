import { targetRunbook } from '../../commands/runbook.js';
import type { HostCommand } from '../../commands/shell.js';
import type { DeployPlan, HealthPlan, PinnedImages, Target } from '../../domain/plan.js';
import { renderTemplate, type TemplateValues } from '../../domain/templates.js';
import { ApplicationFailure, isCancellation, setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { describeFailure } from '../failure-details.js';
import { PlanError } from '../../domain/failures.js';
import { hostSteps, summary } from '../activity-options.js';
import { checkHealth } from '../health-step.js';
import type { StepLogRef } from '../../step-logs/store.js';

/** What one target's update needs: the runbook of SPEC §3 for one host (or instance). */
export interface UpdateTargetInput {
  target: Target;
  runtime: DeployPlan['runtime'];
  health: HealthPlan;
  pinned: PinnedImages;
  values: TemplateValues;
  /** Migrations run on the first target of a deploy only. */
  migrate: boolean;
  /** systemd: the build runs once per host, with its first instance. */
  build: boolean;
  stepTimeoutMs: number;
  heartbeatTimeoutMs?: number | undefined;
  /** The target's step log the steps write their output to (absent in runs started before it existed). */
  log?: StepLogRef;
}

/**
 * Updates one target and waits for it to be healthy. Each step is its own activity, named
 * in the Temporal UI like the runbook line it replaces. Each is idempotent, or runs once on
 * the host whatever the retries (migrations and builds).
 */
export async function updateTarget(input: UpdateTargetInput): Promise<void> {
  const progress = { stepsDone: 0 };
  try {
    await runbook(input, progress);
  } catch (error) {
    // A plan this target cannot carry out fails its update with the failure's own type.
    if (error instanceof PlanError) throw ApplicationFailure.create({ type: error.type, message: error.message, nonRetryable: true });
    // Failed before any step reached the host (a changed host key, a host that is down): the
    // target is as it was, and a rollback has nothing to put back there.
    const failure = describeFailure(error);
    if (progress.stepsDone === 0 && failure.hostReached === false && !isCancellation(error)) {
      throw ApplicationFailure.create({ type: failure.type, message: failure.message, nonRetryable: true, details: [{ step: failure.step, target: failure.target, hostReached: false, untouched: true }] });
    }
    throw error;
  }
}

async function runbook(input: UpdateTargetInput, progress: { stepsDone: number }): Promise<void> {
  const { target, runtime, values } = input;
  const steps = hostSteps(input.stepTimeoutMs, input.heartbeatTimeoutMs);
  const dir = renderTemplate(runtime.dir, values);
  const counted = async <T>(step: Promise<T>): Promise<T> => {
    const result = await step;
    progress.stepsDone++;
    return result;
  };
  const log = input.log;
  const run = (command: HostCommand) => counted(steps.runOnHost.executeWithOptions(summary(`${target.name}: ${command.label}`), [target.host, command, log]));
  // Steps that must not run twice are keyed by run and target, the same for every retry of
  // this update (an operator's retry starts `<id>#2`): one that succeeded is not run again.
  const owner = workflowInfo().workflowId.replace(/#\d+$/, '');
  const once = (command: HostCommand, step: string): HostCommand => ({ ...command, once: `${owner}/${step}` });

  for (const step of targetRunbook({ runtime, pinned: input.pinned, values, dir, migrate: input.migrate, build: input.build })) {
    if (step.kind === 'pin') {
      await counted(steps.updateEnvFile.executeWithOptions(summary(`${target.name}: ${step.label}`), [target.host, dir, step.file, step.values, log]));
    } else {
      await run(step.onceStep ? once(step.command, step.onceStep) : step.command);
    }
  }

  await checkHealth(target, dir, input.health, values, input.stepTimeoutMs, input.heartbeatTimeoutMs, log);
}

// Any other error of this code fails the update too, instead of retrying its workflow task forever.
setWorkflowOptions({ failureExceptionTypes: [Error] }, updateTarget);
