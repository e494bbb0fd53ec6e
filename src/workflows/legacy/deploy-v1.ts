import {
  CancellationScope, condition, executeChild, isCancellation, log, patched,
  setHandler, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import { renderHealth } from '../../domain/health.js';
import { rollbackRelease, type Ledger, type Release } from '../../domain/ledger.js';
import type { ImageSpec, PinnedImages, Target } from '../../domain/plan.js';
import { planBatches } from '../../domain/rollout.js';
import { FailureType, PLAN_FAILURES } from '../../domain/failures.js';
import { FINISHED_STATUSES, type LeftToFix, type Run, type RunError, type RunStatus } from '../../domain/run.js';
import { SEARCH_ATTRIBUTES } from '../../domain/search-attributes.js';
import { renderTemplate, targetTemplateValues, type TemplateValues } from '../../domain/templates.js';
import { apiSteps, hostSteps, summary, waitingSteps } from '../activity-options.js';
import { describeFailure } from '../failure-details.js';
import { actionUpdates, grantSignal, rollbackWorkflowId, runQuery, targetWorkflowId, type OperatorAction } from '../definitions.js';
import { runNotices } from '../notifier.js';
import { updateTarget } from './update-target.js';
import type { DeployInput } from '../deploy.js';
import { noticeOf } from '../rollout/run-state.js';

/** Raised inside the rollout when it must stop and put back what it touched. */
class StopRollout extends Error {
  constructor(readonly outcome: 'rolled_back' | 'aborted', readonly error?: RunError) {
    super(outcome);
  }
}

/**
 * The deploy workflow as it was before the batch engine (one child workflow per target), kept
 * unchanged for the runs that started with it: `deploy` takes this path when replaying them.
 * Delete it (and `update-target.ts`) with the `batch-engine` patch once no such run is open.
 */
export async function deployV1(input: DeployInput): Promise<Run> {
  const { plan } = input;
  const kind = input.kind ?? 'deploy';
  const now = () => new Date().toISOString();
  const run: Run = {
    id: workflowInfo().workflowId,
    kind,
    service: plan.service,
    environment: plan.environment,
    version: { sha: 'sha' in plan.ref ? plan.ref.sha : null, images: {} },
    previous: null,
    status: 'queued',
    phase: 'preflight',
    targets: plan.targets.map((t) => ({ id: t.id, name: t.name, status: 'pending' })),
    reason: plan.reason,
    createdAt: input.createdAt,
    updatedAt: now(),
  };
  let ledger: Ledger | undefined;
  let pauseRequested = false;
  let approved = false;
  let operator: 'retry' | 'rollback' | 'abort' | undefined;
  let abortRequested = false;
  let rollbackAborted = false;
  let inFlight: CancellationScope | undefined;

  const notices = runNotices(input.notifications, run.id);
  let startedNotice = false;
  const setStatus = (status: RunStatus) => {
    run.status = status;
    run.updatedAt = now();
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.status, value: status },
      { key: SEARCH_ATTRIBUTES.version, value: run.version.sha ?? ('tag' in plan.ref ? plan.ref.tag : '') },
    ]);
    const event = noticeOf(status, !!run.awaitingOperator, !!run.finishedAt, startedNotice);
    if (event === 'started') startedNotice = true;
    if (event) notices.send(event, run);
  };
  const finished = () => FINISHED_STATUSES.includes(run.status);

  setHandler(runQuery, () => run);
  setHandler(grantSignal, (granted) => { ledger ??= granted; });
  const action = (name: OperatorAction, allowed: () => string | undefined, apply: () => void) => setHandler(actionUpdates[name], () => {
    apply();
    run.updatedAt = now();
    return run;
  }, { validator: () => { const reason = allowed(); if (reason) throw new Error(reason); } });
  const state = () => `the run is ${run.status}`;
  action('approve', () => (run.status === 'awaiting_approval' ? undefined : `${state()}, not awaiting approval`), () => { approved = true; });
  action('pause', () => (run.status === 'running' && !pauseRequested && run.phase !== 'preflight' && run.phase !== 'rollback' ? undefined : `${state()}${pauseRequested ? ' and already pausing' : ''}: only a rolling-out run can pause`), () => { pauseRequested = true; });
  action('resume', () => (run.status === 'paused' || pauseRequested ? undefined : `${state()}, not paused`), () => { pauseRequested = false; });
  const waiting = () => run.status === 'awaiting_operator' || (run.status === 'failed' && !!run.awaitingOperator);
  action('retry', () => (waiting() ? undefined : `${state()}: retry applies to a run awaiting an operator`), () => { operator = 'retry'; });
  action('rollback', () => (run.status === 'awaiting_operator' ? undefined : `${state()}: rollback applies to a run awaiting an operator`), () => { operator = 'rollback'; });
  // Every state that is not final can be aborted. An abort rolls back what the run touched; an
  // abort of that rollback (or of one a failed gate started) stops it where it is.
  action('abort', () => (finished() && !run.awaitingOperator ? `${state()}: nothing to abort`
    : rollbackAborted || (abortRequested && run.phase !== 'rollback') ? `${state()}: already aborting` : undefined), () => {
    if (run.phase === 'rollback') rollbackAborted = true;
    abortRequested = true;
    operator = 'abort';
    inFlight?.cancel();
  });

  setStatus('queued');
  await condition(() => ledger !== undefined || abortRequested);
  if (abortRequested) return end('aborted');
  run.previous = ledger!.current ? { sha: ledger!.current.sha, images: ledger!.current.images } : null;
  setStatus('running');

  const waits = waitingSteps(plan.rollout.imageTimeoutMs);
  const touched: Target[] = [];
  /** Targets an update of this run got to: they stay touched whatever a later attempt does. */
  const reached = new Set<Target>();
  let stepName = 'preflight: commit';
  let values: TemplateValues = { service: plan.service, environment: plan.environment };
  let pinned: PinnedImages = {};

  /** Runs a step that can be cancelled by `abort`; failures are classified by the caller. */
  async function cancellable<T>(step: () => Promise<T>): Promise<T> {
    if (abortRequested) throw new StopRollout('aborted');
    inFlight = new CancellationScope();
    try {
      return await inFlight.run(step);
    } catch (error) {
      if (abortRequested && isCancellation(error)) throw new StopRollout('aborted');
      throw error;
    } finally {
      inFlight = undefined;
    }
  }

  /** A health-gated step: on failure, roll back (autoRollback) or ask an operator. */
  async function gated(name: string, step: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        await cancellable(step);
        return;
      } catch (error) {
        if (error instanceof StopRollout) throw error;
        const failure = describeFailure(error);
        const target = failure.target ?? failedTarget();
        run.error = { type: failure.type, step: target ? `${target}: ${failure.step ?? name}` : name, target, message: failure.message };
        if (plan.rollout.autoRollback) throw new StopRollout('rolled_back', run.error);
        operator = undefined;
        setStatus('awaiting_operator');
        await condition(() => operator !== undefined);
        if (operator === 'abort') throw new StopRollout('aborted', run.error);
        if (operator === 'rollback') throw new StopRollout('rolled_back', run.error);
        run.error = undefined;
        setStatus('running');
      }
    }
  }

  const failedTarget = () => run.targets.find((t) => t.status === 'failed')?.name;
  const attempts = new Map<string, number>();
  const builtHosts = new Set<string>();
  const hostKey = (t: Target) => `${t.host.user}@${t.host.address}:${t.host.port}`;

  /** Updates the targets of a batch in parallel; those already healthy (a retried batch) are skipped. */
  async function updateBatch(batch: Target[], migrateOn: Target | undefined): Promise<void> {
    const pending = batch.filter((t) => run.targets.find((s) => s.id === t.id)!.status !== 'healthy');
    // systemd instances of one host: the one that builds goes first, the others restart once
    // it is done, never on the old or a half-built tree.
    const building = new Map<string, Promise<void>>();
    const results = await Promise.allSettled(pending.map(async (t) => {
      const state = run.targets.find((s) => s.id === t.id)!;
      const build = !builtHosts.has(hostKey(t));
      builtHosts.add(hostKey(t));
      const hostBuild = building.get(hostKey(t));
      let done = () => undefined as void;
      if (build) building.set(hostKey(t), new Promise<void>((resolve) => { done = resolve; }));
      else if (hostBuild && patched('build-before-restart')) {
        await hostBuild;
        // The build failed: this instance stays as it was, for a retry to take up.
        if (!builtHosts.has(hostKey(t))) return;
      }
      if (!touched.includes(t)) touched.push(t);
      state.status = 'updating';
      state.error = undefined;
      const attempt = (attempts.get(t.id) ?? 0) + 1;
      attempts.set(t.id, attempt);
      try {
        await executeChild(updateTarget, {
          workflowId: targetWorkflowId(run.id, t.id, attempt),
          staticSummary: `${plan.service}/${plan.environment}: update ${t.name}`,
          args: [{ target: t, runtime: plan.runtime, health: plan.health, pinned, values: targetTemplateValues(t, values), migrate: t === migrateOn, build, stepTimeoutMs: input.stepTimeoutMs, heartbeatTimeoutMs: input.heartbeatTimeoutMs, log: { run: run.id, target: t.id, phase: 'deploy' } }],
        });
        state.status = 'healthy';
        state.version = run.version.sha ?? Object.values(pinned)[0];
        reached.add(t);
      } catch (error) {
        const failure = describeFailure(error);
        state.status = 'failed';
        state.error = failure.message;
        if (build) builtHosts.delete(hostKey(t));
        // Never reached (a changed host key, a host that is down): nothing to roll back there,
        // unless an earlier attempt of this run got to it.
        if (!failure.untouched) reached.add(t);
        else if (!reached.has(t) && patched('skip-unreached-rollback')) touched.splice(touched.indexOf(t), 1);
        throw error;
      } finally {
        done();
      }
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async function bake(canary: Target[]): Promise<void> {
    const dirFor = (t: Target) => renderTemplate(plan.runtime.dir, targetTemplateValues(t, values));
    const targets = canary.map((t) => ({
      target: t, dir: dirFor(t), health: renderHealth(plan.health, targetTemplateValues(t, values)),
      gates: plan.analysis.map((g) => ({
        ...g,
        scrape: g.scrape ? { ...g.scrape, url: renderTemplate(g.scrape.url, targetTemplateValues(t, values)) } : undefined,
        prometheus: g.prometheus ? { ...g.prometheus, query: renderTemplate(g.prometheus.query, targetTemplateValues(t, values)) } : undefined,
      })),
    }));
    const interval = Math.max(plan.health.intervalMs, 500);
    await hostSteps(plan.rollout.bakeMs + input.stepTimeoutMs, input.heartbeatTimeoutMs).bake.executeWithOptions(
      summary(`bake ${canary.map((t) => t.name).join(', ')} for ${Math.round(plan.rollout.bakeMs / 1000)} s: health${plan.analysis.length ? ` and ${plan.analysis.map((g) => g.name).join(', ')}` : ''}`),
      [targets, plan.rollout.bakeMs, interval],
    );
  }

  /** The template values of a release to return to (its commit, when it has one). */
  const releaseValues = (release: Release): TemplateValues => ({
    service: plan.service, environment: plan.environment, ...(release.sha ? { sha: release.sha, sha7: release.sha.slice(0, 7) } : {}),
  });

  /**
   * Puts `targets` back on `release`: the batches they were updated in, last batch first, each
   * batch in parallel and health-checked. A target that cannot come back does not stop the
   * others; an abort stops the rollback where it is. Answers what is left to fix.
   */
  async function rollBackInBatches(release: Release, targets: Target[]): Promise<LeftToFix[]> {
    run.phase = 'rollback';
    const back = releaseValues(release);
    const oldLabel = release.sha ?? Object.values(release.images)[0] ?? 'the previous release';
    const newLabel = run.version.sha ?? Object.values(run.version.images)[0] ?? 'the new release';
    const batches = planBatches(plan.targets, plan.rollout.canary, plan.rollout.batchSize).map((b) => b.filter((t) => targets.includes(t))).filter((b) => b.length).reverse();
    const left: LeftToFix[] = [];
    for (const batch of batches) {
      if (rollbackAborted) {
        left.push(...batch.map((t) => ({ target: t.name, version: newLabel, error: 'not rolled back: the rollback was aborted', type: 'Aborted' })));
        continue;
      }
      inFlight = new CancellationScope();
      const scope = inFlight;
      const results = await scope.run(() => Promise.allSettled(batch.map(async (t) => {
        const attempt = (attempts.get(`rollback/${t.id}`) ?? 0) + 1;
        attempts.set(`rollback/${t.id}`, attempt);
        await executeChild(updateTarget, {
          workflowId: rollbackWorkflowId(run.id, t.id, attempt),
          staticSummary: `${plan.service}/${plan.environment}: roll ${t.name} back to ${release.sha?.slice(0, 7) ?? 'the previous images'}`,
          args: [{ target: t, runtime: plan.runtime, health: plan.health, pinned: release.images, values: targetTemplateValues(t, back), migrate: false, build: true, stepTimeoutMs: input.stepTimeoutMs, heartbeatTimeoutMs: input.heartbeatTimeoutMs, log: { run: run.id, target: t.id, phase: 'rollback' } }],
        });
      })));
      inFlight = undefined;
      results.forEach((result, i) => {
        const t = batch[i]!;
        const state = run.targets.find((s) => s.id === t.id)!;
        if (result.status === 'fulfilled') {
          state.status = 'rolled_back';
          state.version = oldLabel;
          state.error = undefined;
          return;
        }
        const failure = isCancellation(result.reason) ? { type: 'Aborted', message: 'the rollback was aborted while it ran' } : describeFailure(result.reason);
        state.status = 'failed';
        state.error = `rollback: ${failure.message}`;
        left.push({ target: t.name, version: `unknown: between ${newLabel} and ${oldLabel}`, error: failure.message, type: failure.type });
      });
      run.updatedAt = now();
    }
    return left;
  }

  /**
   * The rollback of a stopped rollout: every touched target, batch by batch. Targets that do
   * not come back leave the run `failed` with `leftToFix`, holding the environment until an
   * operator retries them or aborts (unless retrying could not help, or it was aborted).
   */
  async function rollBackAll(release: Release, outcome: 'rolled_back' | 'aborted'): Promise<Run> {
    const before = run.error;
    let left = await rollBackInBatches(release, touched);
    while (left.length) {
      run.leftToFix = left;
      const lost = left.map((l) => l.target).join(', ');
      run.error = {
        type: before?.type ?? FailureType.WorkflowError, step: 'rollback', target: left[0]!.target,
        message: `${left.length} target${left.length === 1 ? '' : 's'} not rolled back (${lost}): ${left[0]!.error}; before that: ${before?.message ?? outcome}`,
      };
      // Aborted, or nothing a retry could change (the release itself cannot be applied): the run ends.
      if (abortRequested || left.every((l) => PLAN_FAILURES.includes(l.type))) return end('failed');
      operator = undefined;
      run.awaitingOperator = true;
      setStatus('failed');
      await condition(() => operator !== undefined);
      run.awaitingOperator = undefined;
      if (operator === 'abort') return end('failed');
      setStatus('running');
      const names = new Set(left.map((l) => l.target));
      left = await rollBackInBatches(release, touched.filter((t) => names.has(t.name)));
    }
    run.leftToFix = undefined;
    run.error = before;
    return end(outcome);
  }

  /** Puts every touched target back on `release`, newest first, each health-checked (runs started before parallel rollbacks). */
  async function rollBack(release: Release): Promise<void> {
    run.phase = 'rollback';
    const back = releaseValues(release);
    for (const t of [...touched].reverse()) {
      const state = run.targets.find((s) => s.id === t.id)!;
      await executeChild(updateTarget, {
        workflowId: rollbackWorkflowId(run.id, t.id),
        staticSummary: `${plan.service}/${plan.environment}: roll ${t.name} back to ${release.sha?.slice(0, 7) ?? 'the previous images'}`,
        args: [{ target: t, runtime: plan.runtime, health: plan.health, pinned: release.images, values: targetTemplateValues(t, back), migrate: false, build: true, stepTimeoutMs: input.stepTimeoutMs, heartbeatTimeoutMs: input.heartbeatTimeoutMs, log: { run: run.id, target: t.id, phase: 'rollback' } }],
      });
      state.status = 'rolled_back';
      state.version = release.sha ?? Object.values(release.images)[0];
      run.updatedAt = now();
    }
  }

  async function end(status: 'succeeded' | 'failed' | 'rolled_back' | 'aborted'): Promise<Run> {
    if (plan.repo && run.githubDeploymentId !== undefined) {
      const state = status === 'succeeded' ? 'success' : 'failure';
      try {
        await apiSteps.setGithubDeploymentStatus.executeWithOptions({ ...summary(`GitHub deployment: ${state}`), retry: { maximumAttempts: 5 } },
          [plan.repo, run.githubDeploymentId, state, (run.error?.message ?? (status === 'succeeded' ? 'deployed' : status)).slice(0, 140), input.uiUrl]);
      } catch (error) {
        // The hosts are what they are; a GitHub outage must not change the run's outcome.
        log.warn('could not set the GitHub deployment status', { error: describeFailure(error).message });
      }
    }
    if (status === 'succeeded') run.phase = 'done';
    run.finishedAt = now();
    setStatus(status);
    await notices.flush();
    return run;
  }

  try {
    try {
      if (kind === 'rollback') {
        stepName = 'preflight: known-good version';
        const release = rollbackRelease(ledger!, input.rollbackTo);
        if (!release) {
          run.error = { type: 'NoKnownGoodVersion', step: stepName, message: input.rollbackTo ? `no known-good version ${input.rollbackTo} of ${plan.service} in ${plan.environment}` : `${plan.service} in ${plan.environment} has no earlier known-good version to roll back to` };
          return await end('failed');
        }
        run.version = { sha: release.sha, images: release.images };
        pinned = release.images;
        if (release.sha) values = { ...values, sha: release.sha, sha7: release.sha.slice(0, 7) };
        setStatus('running');
      } else {
        let sha = 'sha' in plan.ref ? plan.ref.sha : undefined;
        if (plan.repo) {
          const ref = 'sha' in plan.ref ? plan.ref.sha : plan.ref.tag;
          sha = await cancellable(() => apiSteps.verifyCommit.executeWithOptions(summary(`verify commit ${ref} in ${plan.repo}`), [plan.repo!, ref]));
          run.version.sha = sha;
          if (plan.requireChecks) {
            stepName = 'preflight: checks';
            await cancellable(() => waits.awaitGreenChecks.executeWithOptions(summary(`wait for green CI on ${sha!.slice(0, 7)}`), [plan.repo!, sha!, plan.rollout.imageTimeoutMs]));
          }
        }
        stepName = 'preflight: images';
        if (sha) values = { ...values, sha, sha7: sha.slice(0, 7) };
        const images: ImageSpec[] = plan.images.map((image) => ({ ...image, tag: 'tag' in plan.ref ? plan.ref.tag : renderTemplate(plan.tagTemplate, values) }));
        if (images.length) {
          pinned = await cancellable(() => waits.resolveImages.executeWithOptions(summary(`pin ${images.map((i) => `${i.repository}:${i.tag}`).join(', ')} to digests`), [images, plan.rollout.imageTimeoutMs]));
        }
        run.version.images = pinned;
        setStatus('running');
      }
      if (plan.repo && run.version.sha) {
        stepName = 'preflight: GitHub deployment';
        const sha = run.version.sha;
        const description = plan.reason ?? `Slipway ${kind} of ${plan.service}`;
        const deploymentId = await cancellable(() => apiSteps.createGithubDeployment.executeWithOptions(summary(`create GitHub deployment to ${plan.environment}`), [plan.repo!, sha, plan.environment, description]));
        run.githubDeploymentId = deploymentId;
        await cancellable(() => apiSteps.setGithubDeploymentStatus.executeWithOptions(summary('GitHub deployment: in_progress'), [plan.repo!, deploymentId, 'in_progress', 'rolling out', input.uiUrl]));
      }
    } catch (error) {
      if (error instanceof StopRollout) return await end('aborted');
      const failure = describeFailure(error);
      run.error = { type: failure.type, step: stepName, message: failure.message };
      return await end('failed');
    }

    const batches = planBatches(plan.targets, plan.rollout.canary, plan.rollout.batchSize);
    // Shown with each target (the CLI's progress groups them so); changes no command.
    batches.forEach((batch, index) => batch.forEach((t) => { run.targets.find((s) => s.id === t.id)!.batch = index + 1; }));
    for (const [index, batch] of batches.entries()) {
      if (index > 0 && pauseRequested) {
        setStatus('paused');
        await condition(() => !pauseRequested || abortRequested);
        if (abortRequested) throw new StopRollout('aborted');
        setStatus('running');
      }
      run.phase = index === 0 ? 'canary' : 'fleet';
      run.updatedAt = now();
      await gated(`batch ${index + 1}`, () => updateBatch(batch, kind === 'deploy' && index === 0 ? batch[0] : undefined));
      if (index === 0 && batches.length > 1 && plan.rollout.bakeMs > 0) {
        run.phase = 'bake';
        run.updatedAt = now();
        await gated('bake', () => bake(batch));
      }
      if (index === 0 && batches.length > 1 && plan.rollout.approval) {
        setStatus('awaiting_approval');
        const timeout = plan.rollout.approvalTimeoutMs;
        const decided = timeout ? await condition(() => approved || abortRequested, timeout) : await condition(() => approved || abortRequested).then(() => true);
        if (abortRequested) throw new StopRollout('aborted');
        if (!decided) {
          throw new StopRollout('rolled_back', { type: 'ApprovalTimeout', step: 'approval', message: `nobody approved within ${Math.round(plan.rollout.approvalTimeoutMs! / 1000)} s` });
        }
        setStatus('running');
      }
    }
    return await end('succeeded');
  } catch (error) {
    if (!(error instanceof StopRollout)) {
      if (isCancellation(error)) throw error;
      // Workflow code threw (a bug, or a plan it cannot carry out): the run fails, naming the
      // error, rather than retrying its workflow task forever while it holds the environment.
      const failure = describeFailure(error);
      run.error = { type: failure.type, step: run.phase, message: failure.message };
      return end('failed');
    }
    if (error.error) run.error = error.error;
    // A rollback that fails goes back to what ran before it, like a deploy that fails.
    const release = ledger!.current;
    if (!touched.length) return end(error.outcome === 'aborted' ? 'aborted' : 'failed');
    if (!release) {
      run.error = { ...(run.error ?? { type: 'Aborted', step: 'abort' }), message: `${run.error?.message ?? 'aborted'}; nothing to roll back to: this is the first deploy of ${plan.service} to ${plan.environment}` };
      return end(error.outcome === 'aborted' ? 'aborted' : 'failed');
    }
    setStatus('running');
    if (patched('parallel-rollback')) return await rollBackAll(release, error.outcome);
    try {
      await rollBack(release);
    } catch (rollbackError) {
      const failure = describeFailure(rollbackError);
      run.error = { type: failure.type, step: `rollback: ${failure.step ?? 'update'}`, target: failure.target, message: `rolling back failed: ${failure.message}; before that: ${run.error?.message ?? error.outcome}` };
      return end('failed');
    }
    return end(error.outcome);
  }
}
