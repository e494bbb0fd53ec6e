import { ApplicationFailure } from '@temporalio/common';
import { readEnvValues, rewriteEnvFile } from '../commands/envfile.js';
import { replaceFileCommand } from '../commands/files.js';
import { stepLabel, type UpdateStep } from '../commands/runbook.js';
import type { HostCommand } from '../commands/shell.js';
import { FailureType, TransientFailureType } from '../domain/failures.js';
import { readRevision, RevisionOutputError } from '../domain/schema-revision.js';
import type { HealthPlan, HostRef, Target } from '../domain/plan.js';
import type { StepLogRef } from '../domain/run.js';
import type { HostRunner } from '../ssh/runner.js';
import type { SshSession } from '../ssh/session.js';
import type { StepLogWriter } from '../step-logs/store.js';
import { heartbeatDetails, noteProgress } from './context.js';
import { permanentFailure, transientFailure, withContext } from './failure.js';
import { needsSsh, waitUntilHealthy } from './health.js';


/**
 * The part of one target's update that one activity runs: steps `[from, from + steps.length)`
 * of the update the workflow rendered (`targetUpdate`), run as given.
 */
export interface HostUpdate {
  target: Target;
  /** The target's directory, rendered. */
  dir: string;
  steps: UpdateStep[];
  /** Where `steps` start in the whole update: heartbeats and failures count from its first step. */
  from: number;
  /** Its health checks, rendered (for a `health` step). */
  health: HealthPlan;
  /** Steps that must run once per run and target are keyed by this, the same for every retry. */
  onceKey: string;
  /** The target's step log. */
  log: StepLogRef;
}

export function runbookActivities({ runner, stopping }: { runner: HostRunner; stopping: () => boolean }) {
  return {
    /**
     * Runs steps `[from, to)` of a target's update over one SSH connection. Each completed step
     * is recorded on the heartbeat, so a retried attempt starts at the step that failed, not at
     * the top; a failure names that step (`stepIndex`) for an operator's retry to start at.
     * Only timing comes back: output goes to the step log, not to history.
     */
    async updateHost(update: HostUpdate): Promise<{ durationMs: number; revision?: string }> {
      const started = Date.now();
      const { target, dir, health, from } = update;
      const to = from + update.steps.length;
      const stepAt = (index: number) => update.steps[index - from];
      const resumeAt = heartbeatDetails<{ next?: unknown }>()?.next;
      let index = typeof resumeAt === 'number' ? Math.min(Math.max(resumeAt, from), to) : from;
      const first = index;
      let revision: string | undefined;
      const runSteps = async (session?: SshSession, signal?: AbortSignal) => {
        for (; index < to; index++) {
          const step = stepAt(index)!;
          noteProgress({ step: stepLabel(step), next: index });
          // The worker is stopping: the step in flight has finished; the next worker starts here.
          if (index > first && stopping()) throw transientFailure(TransientFailureType.WorkerStopping, `the worker stopped before "${stepLabel(step)}" on ${target.name}; another worker goes on from there`);
          await runner.logged(update.log, stepLabel(step), async (log) => {
            if (step.kind === 'pin') await pinEnvFile(runner, session!, dir, step.file, step.values, signal, log);
            else if (step.kind === 'run' && step.readsRevision) revision = await readRevisionOn(runner, session!, step.command, target, signal, log);
            else if (step.kind === 'run') await runner.run(session!, step.onceStep ? { ...step.command, once: `${update.onceKey}/${step.onceStep}` } : step.command, signal, undefined, log);
            else await waitUntilHealthy(runner, target, dir, health, session, signal, log);
          });
        }
        noteProgress({ step: 'done', next: index });
      };
      // Only HTTP health checks left (a retry of them): they need no connection to the host.
      const needsSession = update.steps.slice(index - from).some((s) => s.kind !== 'health' || needsSsh(health.checks));
      try {
        if (needsSession) await runner.withSession(target.host, runSteps);
        else await runSteps();
      } catch (error) {
        throw atStep(error, index, stepAt(index), target);
      }
      return { durationMs: Date.now() - started, ...(revision ? { revision } : {}) };
    },

    /** Steps nothing waits for, once a target is healthy (an image prune). */
    async runAfterHealthy(host: HostRef, commands: HostCommand[], log: StepLogRef): Promise<void> {
      await runner.withSession(host, async (session, signal) => {
        for (const command of commands) await runner.logged(log, command.label, (step) => runner.run(session, command, signal, undefined, step));
      });
    },
  };
}

/** Runs the `revision` command and reads the schema's revision from its output; output that names none fails the step, quoting it. */
async function readRevisionOn(runner: HostRunner, session: SshSession, command: HostCommand, target: Target, signal?: AbortSignal, log?: StepLogWriter): Promise<string> {
  const { stdout } = await runner.run(session, command, signal, 64 * 1024, log);
  try {
    const revision = readRevision(stdout ?? '');
    log?.note(`slipway: the schema is at revision ${revision}`);
    return revision;
  } catch (error) {
    if (!(error instanceof RevisionOutputError)) throw error;
    throw permanentFailure(FailureType.HostOutputInvalid, `"${command.label.replace(/^revision: /, '')}" on ${target.name} ${error.message}`);
  }
}

/** The failure, naming the step it happened at; a cancellation stays a cancellation. */
function atStep(error: unknown, index: number, step: UpdateStep | undefined, target: Target): unknown {
  if (!(error instanceof ApplicationFailure)) return error;
  return withContext(error, { stepIndex: index, step: step ? stepLabel(step) : 'connect', target: target.name });
}

/**
 * Sets `values` in a dotenv file on the host, keeping every other line. Rewrites (and so moves
 * the previous file to `.slipway-prev`) only when something changes, which keeps a retried
 * step from overwriting the backup with its own result.
 */
export async function pinEnvFile(runner: HostRunner, session: SshSession, dir: string, file: string, values: Record<string, string>, signal?: AbortSignal, step?: StepLogWriter): Promise<{ changed: boolean }> {
  const current = await runner.readText(session, dir, file, signal, step);
  const next = rewriteEnvFile(current, values);
  const existing = readEnvValues(current);
  const lines = Object.entries(values).map(([name, value]) => `${name}=${value}`);
  if (next === current && Object.entries(values).every(([k, v]) => existing[k] === v)) {
    lines.forEach((line) => step?.note(`${line} (already set)`));
    return { changed: false };
  }
  await runner.run(session, replaceFileCommand(dir, file, next), signal, undefined, step);
  lines.forEach((line) => step?.note(line));
  step?.note(`${dir}/${file} rewritten; the previous one is ${file}.slipway-prev`);
  return { changed: true };
}
