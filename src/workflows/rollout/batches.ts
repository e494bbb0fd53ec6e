import { executeChild, isCancellation, ParentClosePolicy, startChild } from '@temporalio/workflow';
import { hostKey, type Target } from '../../domain/plan.js';
import { CHILD_BATCH_THRESHOLD } from '../../domain/rollout.js';
import { targetTemplateValues } from '../../domain/templates.js';
import { drainSteps } from '../../domain/traffic.js';
import type { FailureDetails } from '../../domain/failures.js';
import { onceScope } from '../once-scope.js';
import { afterHealthyWorkflowId, batchWorkflowId, type DeployInput, type EngineSettings, type TargetJob, type TargetOutcome } from '../contract.js';
import type { Release } from './preflight.js';
import type { RunState } from './run-state.js';
import { afterHealthyWork, updateTargets } from './targets.js';
import { StopRollout } from './run-state.js';

/** What keys a target's run-once steps (its migration, its build) in this execution: the same for every retry. */
const onceKey = (phase: TargetJob['phase'], targetId: string) => `${onceScope()}/${phase === 'rollback' ? 'rollback/' : ''}${targetId}`;

/** One or more targets of a batch failed: the first one's failure, for the run's error. */
export class TargetsFailed extends Error {
  constructor(readonly failure: FailureDetails) {
    super(failure.message);
  }
}

/**
 * The run's targets through the engine, batch by batch: which were touched (a rollback puts
 * those back), where each failed update resumes, and which systemd hosts are built.
 */
export class Batches {
  /** Targets an update of this run started on, in order. */
  readonly touched: Target[] = [];
  /** Targets an update of this run got to: they stay touched whatever a later attempt does. */
  private readonly reached = new Set<string>();
  private readonly resumeAt = new Map<string, number>();
  private readonly attempts = new Map<string, number>();
  /** Host logins built in each phase: instances of a host share one build, by the first of them. */
  private readonly built = { deploy: new Set<string>(), rollback: new Set<string>() };
  private readonly settings: EngineSettings;
  private readonly inChildren: boolean;
  private readonly afterHealthyRuns: Array<Promise<unknown>> = [];
  /** Targets this run took out of their load balancer and has not put back: healthy ones go back when it ends. */
  readonly drained = new Set<string>();

  constructor(private readonly input: DeployInput, private readonly state: RunState) {
    const { plan } = input;
    this.settings = { runId: state.run.id, runtime: plan.runtime, health: plan.health, stepTimeoutMs: input.stepTimeoutMs, heartbeatTimeoutMs: input.heartbeatTimeoutMs };
    this.inChildren = plan.targets.length > CHILD_BATCH_THRESHOLD;
  }

  /**
   * Updates the batch's targets that are not healthy yet (all of them, unless it is a retry),
   * each from the step it last failed at. Throws `TargetsFailed` naming the first failure.
   */
  async deploy(index: number, batch: Target[], release: Release, migrateOn: Target | undefined): Promise<void> {
    const { state } = this;
    const pending = batch.filter((t) => state.target(t.id).status !== 'healthy');
    const drains = drainSteps(this.input.plan.traffic, pending, release.values, this.input.plan.targets.length);
    const jobs = pending.map((t): TargetJob => {
      const build = this.builds('deploy', t);
      if (!this.touched.includes(t)) this.touched.push(t);
      const target = state.target(t.id);
      target.status = 'updating';
      target.error = undefined;
      return {
        target: t, phase: 'deploy', pinned: release.pinned, values: targetTemplateValues(t, release.values), migrate: t === migrateOn, build,
        onceKey: onceKey('deploy', t.id), resumeAt: this.resumeAt.get(`deploy/${t.id}`) ?? 0, drain: drains.get(t.id),
      };
    });
    const version = state.run.version.sha ?? Object.values(release.pinned)[0];
    const healthy = (job: TargetJob) => {
      const target = state.target(job.target.id);
      target.status = 'healthy';
      target.version = version;
      this.reached.add(job.target.id);
      this.resumeAt.delete(`deploy/${job.target.id}`);
    };
    const outcomes = await this.update('deploy', index, jobs, healthy);
    let failed: FailureDetails | undefined;
    let cancelled = false;
    outcomes.forEach((outcome, i) => {
      const job = jobs[i]!;
      const t = job.target;
      const target = state.target(t.id);
      // The migration ran: the schema is at the new release's revision, whatever comes next.
      if ((outcome.status === 'healthy' || outcome.status === 'failed') && outcome.revision) {
        state.run.version.revision = outcome.revision;
        state.run.schemaRevision = outcome.revision;
      }
      if (outcome.status === 'healthy') healthy(job);
      else if (outcome.status === 'cancelled') cancelled = true;
      else if (outcome.status === 'skipped') {
        // Its host's build failed: it stays as it was, for a retry to take up.
        target.status = 'pending';
        if (!this.reached.has(t.id)) this.touched.splice(this.touched.indexOf(t), 1);
      } else {
        target.status = 'failed';
        target.error = outcome.failure.message;
        this.resumeAt.set(`deploy/${t.id}`, outcome.resumeAt);
        if (job.build) this.built.deploy.delete(hostKey(t));
        // Never reached (a changed host key, a host that is down): nothing to roll back there,
        // unless an earlier attempt of this run got to it.
        if (!outcome.untouched) this.reached.add(t.id);
        else if (!this.reached.has(t.id)) this.touched.splice(this.touched.indexOf(t), 1);
        failed ??= outcome.failure;
      }
    });
    this.afterHealthy('deploy', index, jobs.filter((_, i) => outcomes[i]!.status === 'healthy'));
    if (cancelled) throw new StopRollout('aborted');
    if (failed) throw new TargetsFailed(failed);
  }

  /** Puts `batch` back on `release`; answers each target's outcome (cancelled ones too). */
  async rollBack(index: number, batch: Target[], release: Release): Promise<TargetOutcome[]> {
    const drains = drainSteps(this.input.plan.traffic, batch, release.values, this.input.plan.targets.length);
    const jobs = batch.map((t): TargetJob => ({
      target: t, phase: 'rollback', pinned: release.pinned, values: targetTemplateValues(t, release.values), migrate: false, build: this.builds('rollback', t),
      onceKey: onceKey('rollback', t.id), resumeAt: this.resumeAt.get(`rollback/${t.id}`) ?? 0, drain: drains.get(t.id),
    }));
    const outcomes = await this.update('rollback', index, jobs);
    outcomes.forEach((outcome, i) => {
      const job = jobs[i]!;
      if (outcome.status === 'failed') this.resumeAt.set(`rollback/${job.target.id}`, outcome.resumeAt);
      else this.resumeAt.delete(`rollback/${job.target.id}`);
      // A build that did not finish is built again by whichever instance of the host goes next.
      if (job.build && outcome.status !== 'healthy') this.built.rollback.delete(hostKey(job.target));
    });
    this.afterHealthy('rollback', index, jobs.filter((_, i) => outcomes[i]!.status === 'healthy'));
    return outcomes;
  }

  /** Whether `t` builds its host in `phase`: the first of the host's targets does, once. */
  private builds(phase: TargetJob['phase'], t: Target): boolean {
    if (this.built[phase].has(hostKey(t))) return false;
    this.built[phase].add(hostKey(t));
    return true;
  }

  private async update(phase: 'deploy' | 'rollback', index: number, jobs: TargetJob[], whenHealthy?: (job: TargetJob) => void): Promise<TargetOutcome[]> {
    if (!jobs.length) return [];
    const attempt = this.nextAttempt(phase, index);
    for (const job of jobs) if (job.drain) this.drained.add(job.target.id);
    // A healthy target is back in rotation: its update readied it.
    const outcomes = await this.updateJobs(phase, index, attempt, jobs, whenHealthy);
    for (const outcome of outcomes) if (outcome.status === 'healthy' || outcome.status === 'skipped') this.drained.delete(outcome.id);
    return outcomes;
  }

  private async updateJobs(phase: 'deploy' | 'rollback', index: number, attempt: number, jobs: TargetJob[], whenHealthy?: (job: TargetJob) => void): Promise<TargetOutcome[]> {
    if (!this.inChildren) return updateTargets(this.settings, jobs, whenHealthy);
    const { plan } = this.input;
    try {
      return await executeChild('updateBatch', {
        workflowId: batchWorkflowId(this.state.run.id, phase, index + 1, attempt),
        staticSummary: `${plan.service}/${plan.environment}: ${phase === 'rollback' ? 'roll back' : 'update'} batch ${index + 1} (${jobs.length} targets)`,
        args: [{ settings: this.settings, jobs }],
      }) as TargetOutcome[];
    } catch (error) {
      if (isCancellation(error)) return jobs.map((job) => ({ id: job.target.id, status: 'cancelled' }));
      throw error;
    }
  }

  private nextAttempt(phase: string, index: number): number {
    const attempt = (this.attempts.get(`${phase}/${index}`) ?? 0) + 1;
    this.attempts.set(`${phase}/${index}`, attempt);
    return attempt;
  }

  /** Starts what nothing waits for (an image prune) on the targets that are healthy, and lets it go. */
  private afterHealthy(phase: 'deploy' | 'rollback', index: number, jobs: TargetJob[]): void {
    // The known-good releases stay on the hosts as images, for a rollback with the registry down.
    const hosts = afterHealthyWork(this.settings, jobs, (this.state.ledger?.knownGood ?? []).map((release) => release.images));
    if (!hosts.length) return;
    const attempt = this.attempts.get(`${phase}/${index}`) ?? 1;
    // Not awaited here: the run goes on to its next batch at once.
    this.afterHealthyRuns.push(startChild('afterHealthy', {
      workflowId: afterHealthyWorkflowId(this.state.run.id, phase, index + 1, attempt),
      staticSummary: `${hosts.length} host${hosts.length === 1 ? '' : 's'}: ${hosts[0]!.commands.map((c) => c.label).join(' → ')}, once healthy`,
      args: [{ hosts, stepTimeoutMs: this.input.stepTimeoutMs }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    }).then((child) => child.result()).catch(() => undefined));
  }

  /**
   * Waits for what `afterHealthy` started: a run ends (and lets the next run of its
   * environment in) only once nothing of it still runs on its hosts.
   */
  async settled(): Promise<void> {
    await Promise.all(this.afterHealthyRuns);
  }
}
