import { ApplicationFailure, executeChild } from '@temporalio/workflow';
import { ROTATION_BATCH_HOSTS } from '../../domain/rotation.js';
import { hostSteps, summary } from '../activity-options.js';
import type { HostCall, HostJob, HostJobOutcome, JobOrder, RotationBatchInput } from '../contract.js';
import { describeFailure } from '../failure-details.js';
import { checkHealth } from '../health-step.js';
import { drainFromBalancer, readyInBalancer } from '../traffic-step.js';

/** Told as each job starts and ends, where someone watches (the rotation's own steps). */
export interface JobEvents {
  started?(index: number): void;
  ended?(index: number, outcome: HostJobOutcome): void;
}

/**
 * Runs a step's host jobs in their order and answers each one's outcome: in the rotation
 * itself, or in a `rotationBatch` child. The same code, so both behave alike.
 */
export async function runHostJobs({ jobs, order, stepTimeoutMs, heartbeatTimeoutMs }: RotationBatchInput, events: JobEvents = {}): Promise<HostJobOutcome[]> {
  const steps = hostSteps(stepTimeoutMs, heartbeatTimeoutMs);
  const run = async (job: HostJob, index: number): Promise<HostJobOutcome> => {
    events.started?.(index);
    const outcome = await runJob(job);
    events.ended?.(index, outcome);
    return outcome;
  };
  const runJob = async (job: HostJob): Promise<HostJobOutcome> => {
    const results: unknown[] = [];
    let tookEffect = false;
    const { drain } = job;
    const name = job.health?.target.name ?? drain?.together[0] ?? '';
    try {
      if (drain) await drainFromBalancer(name, drain, { stepTimeoutMs, heartbeatTimeoutMs });
      for (const call of job.calls) {
        results.push(await invoke(steps, call));
        tookEffect ||= call.activity !== 'sshPublicKeyInUse';
      }
      if (job.health) await checkHealth(job.health.target, job.health.dir, job.health.plan, job.health.values, stepTimeoutMs, heartbeatTimeoutMs);
      // Healthy: back in rotation. One that is not stays out, for its compensation to bring back.
      if (drain) await readyInBalancer(name, drain.at, drain.drainTimeoutMs, { stepTimeoutMs, heartbeatTimeoutMs });
      return { status: 'succeeded', results };
    } catch (error) {
      return { status: 'failed', failure: describeFailure(error), tookEffect };
    }
  };
  if (order === 'together') return Promise.all(jobs.map(run));
  const outcomes: HostJobOutcome[] = [];
  for (const [index, job] of jobs.entries()) {
    const failedBefore = order === 'in-turn' && outcomes.some((o) => o.status === 'failed');
    outcomes.push(failedBefore ? { status: 'skipped' } : await run(job, index));
  }
  return outcomes;
}

/**
 * A rotation's way to run a step's host jobs: itself for a small fleet, and past
 * ROTATION_BATCH_HOSTS in `rotationBatch` children of that many hosts each, so that its own
 * history grows with the number of batches, not of hosts.
 */
export function hostJobRunner(rotationId: string, settings: Pick<RotationBatchInput, 'stepTimeoutMs' | 'heartbeatTimeoutMs'>) {
  let batches = 0;
  return async (jobs: HostJob[], order: JobOrder, events: JobEvents = {}): Promise<HostJobOutcome[]> => {
    if (jobs.length <= ROTATION_BATCH_HOSTS) return runHostJobs({ jobs, order, ...settings }, events);
    const starts = Array.from({ length: Math.ceil(jobs.length / ROTATION_BATCH_HOSTS) }, (_, i) => i * ROTATION_BATCH_HOSTS);
    const inChild = async (from: number): Promise<HostJobOutcome[]> => {
      const slice = jobs.slice(from, from + ROTATION_BATCH_HOSTS);
      slice.forEach((_, i) => events.started?.(from + i));
      const outcomes = await executeChild<(input: RotationBatchInput) => Promise<HostJobOutcome[]>>('rotationBatch', {
        workflowId: `${rotationId}/hosts-${++batches}`, args: [{ jobs: slice, order, ...settings }], staticSummary: `${slice.length} hosts of ${rotationId}`,
      });
      outcomes.forEach((outcome, i) => events.ended?.(from + i, outcome));
      return outcomes;
    };
    if (order === 'together') return (await Promise.all(starts.map(inChild))).flat();
    const outcomes: HostJobOutcome[] = [];
    for (const from of starts) {
      const stop = order === 'in-turn' && outcomes.some((o) => o.status === 'failed');
      outcomes.push(...(stop ? jobs.slice(from, from + ROTATION_BATCH_HOSTS).map((): HostJobOutcome => ({ status: 'skipped' })) : await inChild(from)));
    }
    return outcomes;
  };
}

/** The failure a job ended with, as the activity raised it: what the rotation records and branches on. */
export function jobFailure(outcome: Extract<HostJobOutcome, { status: 'failed' }>): ApplicationFailure {
  const { type, message, ...context } = outcome.failure;
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [context] });
}

function invoke(steps: ReturnType<typeof hostSteps>, call: HostCall): Promise<unknown> {
  const options = { ...summary(call.summary), ...(call.attempts ? { retry: { maximumAttempts: call.attempts } } : {}) };
  switch (call.activity) {
    case 'runOnHost': return steps.runOnHost.executeWithOptions(options, call.args);
    case 'verifySshLogin': return steps.verifySshLogin.executeWithOptions(options, call.args);
    case 'sshPublicKeyInUse': return steps.sshPublicKeyInUse.executeWithOptions(options, call.args);
    case 'registryLogin': return steps.registryLogin.executeWithOptions(options, call.args);
    case 'registryLoginAsBefore': return steps.registryLoginAsBefore.executeWithOptions(options, call.args);
    case 'writeEnvSecrets': return steps.writeEnvSecrets.executeWithOptions(options, call.args);
    case 'restoreEnvSecrets': return steps.restoreEnvSecrets.executeWithOptions(options, call.args);
    case 'removeHostFile': return steps.removeHostFile.executeWithOptions(options, call.args);
  }
}
