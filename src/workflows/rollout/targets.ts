import { stepLabel, targetUpdate, updateSegments, type TargetUpdate } from '../../commands/runbook.js';
import { hostKey, type PinnedImages } from '../../domain/plan.js';
import { isCancellation } from '@temporalio/workflow';
import { hostSteps, summary } from '../activity-options.js';
import type { AfterHealthyInput, EngineSettings, TargetJob, TargetOutcome } from '../contract.js';
import { describeFailure } from '../failure-details.js';
import { drainFromBalancer, readyInBalancer } from '../traffic-step.js';

/**
 * The rollout engine: a batch's targets updated at once, each by one activity per stretch of
 * idempotent steps (usually one for the whole update, over one SSH connection). It runs inside
 * the deploy workflow, or inside a batch's child workflow for runs too large for one history.
 */

/**
 * Updates `jobs` at once and answers each one's outcome; no failure of one stops another.
 * systemd instances of one host wait for the instance that builds it, and are skipped if the
 * build fails. `whenHealthy` hears of each target the moment it is healthy.
 */
export async function updateTargets(settings: EngineSettings, jobs: TargetJob[], whenHealthy?: (job: TargetJob) => void): Promise<TargetOutcome[]> {
  const building = new Map<string, Promise<TargetOutcome>>();
  const started = jobs.map((job) => {
    const build = job.build ? undefined : building.get(hostKey(job.target));
    const outcome = (build ? build.then((b) => (b.status === 'healthy' ? updateOne(settings, job) : { id: job.target.id, status: 'skipped' as const })) : updateOne(settings, job))
      .then((o) => { if (o.status === 'healthy') whenHealthy?.(job); return o; });
    if (job.build) building.set(hostKey(job.target), outcome);
    return outcome;
  });
  return Promise.all(started);
}

async function updateOne(settings: EngineSettings, job: TargetJob): Promise<TargetOutcome> {
  const { target, drain } = job;
  let at = job.resumeAt;
  let revision: string | undefined;
  // Until the drain is done, nothing of this attempt has reached the host.
  let drained = !drain;
  try {
    const { dir, steps, health } = rendered(settings, job);
    const healthTimeoutMs = settings.health.timeoutMs;
    const log = stepLog(settings, job);
    if (drain) {
      await drainFromBalancer(target.name, drain, settings, log);
      drained = true;
    }
    for (const { from, to } of updateSegments(steps, job.resumeAt)) {
      const labels = steps.slice(from, to).map(stepLabel);
      const timeoutMs = settings.stepTimeoutMs * (to - from) + (steps[to - 1]?.kind === 'health' ? healthTimeoutMs : 0);
      const done = await hostSteps(timeoutMs, settings.heartbeatTimeoutMs).updateHost.executeWithOptions(
        summary(`${target.name}: ${job.phase === 'rollback' ? 'roll back: ' : ''}${labels.join(' → ')}`),
        [{ target, dir, steps: steps.slice(from, to), from, health, onceKey: job.onceKey, log }],
      );
      revision = done.revision ?? revision;
      at = to;
    }
    // Healthy (its last step is the health checks): back in rotation.
    if (drain) await readyInBalancer(target.name, drain.at, drain.drainTimeoutMs, settings, log);
    return { id: target.id, status: 'healthy', ...(revision ? { revision } : {}) };
  } catch (error) {
    if (isCancellation(error)) return { id: target.id, status: 'cancelled' };
    const failure = describeFailure(error);
    const resumeAt = failure.stepIndex ?? at;
    // Failed before any step of this run reached the host (a changed host key, a host that is
    // down, a balancer that refused the drain): the target is as it was.
    const untouched = (failure.hostReached === false || !drained) && at === 0;
    return { id: target.id, status: 'failed', failure: { ...failure, target: failure.target ?? target.name }, resumeAt, untouched, ...(revision ? { revision } : {}) };
  }
}

/** Each healthy target's steps that nothing waits for (an image prune), as the child that runs them gets them. */
export function afterHealthyWork(settings: EngineSettings, jobs: TargetJob[], keep: PinnedImages[]): AfterHealthyInput['hosts'] {
  return jobs.flatMap((job) => {
    const commands = rendered(settings, { ...job, migrate: false, build: false }, keep).afterHealthy;
    return commands.length ? [{ target: job.target, commands, log: stepLog(settings, job) }] : [];
  });
}

/** A target's update, rendered once for all the activities it is cut into. */
function rendered(settings: EngineSettings, job: TargetJob, keep?: PinnedImages[]): TargetUpdate {
  return targetUpdate({ runtime: settings.runtime, health: settings.health, pinned: job.pinned, values: job.values, migrate: job.migrate, build: job.build, keep });
}

const stepLog = (settings: EngineSettings, job: TargetJob) => ({ run: settings.runId, target: job.target.id, phase: job.phase });
