import { ApplicationFailure } from '@temporalio/common';
import { stepLabel, targetUpdate, type UpdateStep } from '../commands/runbook.js';
import type { HostCommand } from '../commands/shell.js';
import { PlanError } from '../domain/failures.js';
import type { DeployPlan, HealthPlan, HostRef, PinnedImages, Target } from '../domain/plan.js';
import type { TemplateValues } from '../domain/templates.js';
import type { SshSession } from '../ssh/session.js';
import type { StepLogRef } from '../domain/run.js';
import { heartbeatDetails, noteProgress } from './context.js';
import { permanentFailure, transientFailure } from './failure.js';
import { needsSsh, waitUntilHealthy } from './health.js';
import { pinEnvFile, type HostRunner } from './ssh.js';

/** One target's update, or the part of it one activity runs. */
export interface HostUpdate {
  target: Target;
  runtime: DeployPlan['runtime'];
  health: HealthPlan;
  pinned: PinnedImages;
  values: TemplateValues;
  /** Migrations run on the first target of a deploy only. */
  migrate: boolean;
  /** systemd: the build runs once per host, with its first instance. */
  build: boolean;
  /** Steps that must run once per run and target are keyed by this, the same for every retry. */
  onceKey: string;
  /** The target's step log. */
  log: StepLogRef;
  /** The steps (indices into `updateSteps`) this activity runs: `from` up to, not including, `to`. */
  from: number;
  to: number;
}

/** Where an update stopped: the step that failed, for a retry to start at. */
export interface UpdateFailureDetails {
  stepIndex: number;
  step: string;
  target: string;
}

export function runbookActivities({ runner, stopping }: { runner: HostRunner; stopping: () => boolean }) {
  return {
    /**
     * Runs steps `[from, to)` of a target's update over one SSH connection. Each completed step
     * is recorded on the heartbeat, so a retried attempt starts at the step that failed, not at
     * the top; a failure names that step (`stepIndex`) for an operator's retry to start at.
     * Only timing comes back: output goes to the step log, not to history.
     */
    async updateHost(update: HostUpdate): Promise<{ durationMs: number }> {
      const started = Date.now();
      const { target } = update;
      const { dir, steps, health } = planned(update);
      const resumeAt = heartbeatDetails<{ next?: unknown }>()?.next;
      let index = typeof resumeAt === 'number' ? Math.min(Math.max(resumeAt, update.from), update.to) : update.from;
      const first = index;
      const runSteps = async (session?: SshSession, signal?: AbortSignal) => {
        for (; index < update.to; index++) {
          const step = steps[index]!;
          noteProgress({ step: stepLabel(step), next: index });
          // The worker is stopping: the step in flight has finished; the next worker starts here.
          if (index > first && stopping()) throw transientFailure('WorkerStopping', `the worker stopped before "${stepLabel(step)}" on ${target.name}; another worker goes on from there`);
          await runner.logged(update.log, stepLabel(step), async (log) => {
            if (step.kind === 'pin') await pinEnvFile(runner, session!, dir, step.file, step.values, signal, log);
            else if (step.kind === 'run') await runner.run(session!, step.onceStep ? { ...step.command, once: `${update.onceKey}/${step.onceStep}` } : step.command, signal, undefined, log);
            else await waitUntilHealthy(runner, target, dir, health, session, signal, log);
          });
        }
        noteProgress({ step: 'done', next: index });
      };
      // Only HTTP health checks left (a retry of them): they need no connection to the host.
      const needsSession = steps.slice(index, update.to).some((s) => s.kind !== 'health' || needsSsh(health.checks));
      try {
        if (needsSession) await runner.withSession(target.host, runSteps);
        else await runSteps();
      } catch (error) {
        throw atStep(error, index, steps[index], target);
      }
      return { durationMs: Date.now() - started };
    },

    /** Steps nothing waits for, once a target is healthy (an image prune). */
    async runAfterHealthy(host: HostRef, commands: HostCommand[], log: StepLogRef): Promise<void> {
      await runner.withSession(host, async (session, signal) => {
        for (const command of commands) await runner.logged(log, command.label, (step) => runner.run(session, command, signal, undefined, step));
      });
    },
  };
}

/** The update's steps, rendered; a plan that cannot be rendered fails for good, naming its type. */
function planned(update: HostUpdate): { dir: string; steps: UpdateStep[]; health: HealthPlan } {
  try {
    return targetUpdate(update);
  } catch (error) {
    if (error instanceof PlanError) throw permanentFailure(error.type, error.message);
    throw error;
  }
}

/** The failure, naming the step it happened at; a cancellation stays a cancellation. */
function atStep(error: unknown, index: number, step: UpdateStep | undefined, target: Target): unknown {
  if (!(error instanceof ApplicationFailure)) return error;
  const at: UpdateFailureDetails = { stepIndex: index, step: step ? stepLabel(step) : 'connect', target: target.name };
  const details = { ...(error.details?.[0] as Record<string, unknown> | undefined), ...at };
  return ApplicationFailure.create({ type: error.type ?? undefined, message: error.message, nonRetryable: error.nonRetryable ?? false, details: [details] });
}
