import { condition, isCancellation, setHandler, setWorkflowOptions } from '@temporalio/workflow';
import type { Target } from '../domain/plan.js';
import { planBatches } from '../domain/rollout.js';
import { abortedInQueueError, type Run } from '../domain/run.js';
import { waitingFor } from '../domain/windows.js';
import { describeFailure } from './failure-details.js';
import { drainedTargetsQuery, type DeployInput } from './contract.js';
import { bake } from './rollout/bake.js';
import { Batches, TargetsFailed } from './rollout/batches.js';
import { reportToGithub } from './rollout/github.js';
import { runHooks } from './rollout/hooks.js';
import { preflight, PreflightFailed, type Release } from './rollout/preflight.js';
import { rollBackAll } from './rollout/rollback.js';
import { downgradeSchema } from './rollout/schema.js';
import { RunState, StopRollout } from './rollout/run-state.js';
import { putBackDrained } from './rollout/traffic.js';

/**
 * A deploy or rollback, as the runbook goes: wait for the environment's lock, preflight, the
 * canary, its bake (health and metric gates), an optional approval, then the rest in batches,
 * each health-gated. A failed gate rolls every touched target back to the last known-good
 * version (or, with `autoRollback: false`, waits for an operator's retry, rollback or abort).
 */
export async function deploy(input: DeployInput): Promise<Run> {
  const { plan } = input;
  const state = new RunState(input);
  const { run } = state;
  const batches = new Batches(input, state);
  let release: Release | undefined;
  setHandler(drainedTargetsQuery, () => [...batches.drained]);

  // Aborted by an operator while it waited in the queue: it ends here, having touched nothing.
  if (input.abortedInQueue) {
    run.error = abortedInQueueError(input.abortedInQueue.reason);
    return end('aborted');
  }
  const ledger = state.ledger!;
  run.previous = ledger.current ? { sha: ledger.current.sha, images: ledger.current.images } : null;
  run.schemaRevision = ledger.schemaRevision;
  state.setStatus('running');

  try {
    try {
      release = await preflight(input, state);
    } catch (error) {
      if (!(error instanceof PreflightFailed)) throw error;
      if (error.aborted) return await end('aborted');
      run.error = error.error;
      return await end('failed');
    }

    const deploying = release;
    try {
      await state.cancellable(() => runHooks(input, state, 'beforeDeploy', deploying.values));
    } catch (error) {
      if (!(error instanceof TargetsFailed)) throw error;
      const { failure } = error;
      run.error = { type: failure.type, step: `${failure.target}: ${failure.step}`, target: failure.target, message: `the beforeDeploy hook failed, so no target was changed: ${failure.message}` };
      return await end('failed');
    }
    // A rollback run: the schema goes down to the release's revision before any target changes.
    if (run.kind === 'rollback' && ledger.current && !await downgradeSchema(input, state, run.version, ledger.current.images)) return await end('failed');
    const planned = planBatches(plan.targets, plan.rollout.canary, plan.rollout.batchSize);
    // Shown with each target (the CLI's progress groups them so); changes no command.
    planned.forEach((batch, index) => batch.forEach((t) => { state.target(t.id).batch = index + 1; }));
    for (const [index, batch] of planned.entries()) {
      if (index > 0) {
        await pauseIfAsked();
        await pauseOutsideWindow();
      }
      run.phase = index === 0 ? 'canary' : 'fleet';
      state.touch();
      const migrateOn: Target | undefined = run.kind === 'deploy' && index === 0 ? batch[0] : undefined;
      await gated(`batch ${index + 1}`, () => batches.deploy(index, batch, deploying, migrateOn));
      const canary = index === 0 && planned.length > 1;
      if (canary && plan.rollout.bakeMs > 0) {
        run.phase = 'bake';
        state.touch();
        await gated('bake', () => bake(plan, batch, deploying.values, input.stepTimeoutMs, input.heartbeatTimeoutMs));
      }
      if (canary && plan.rollout.approval) await awaitApproval();
    }
    // The whole fleet is healthy: a failing afterDeploy hook is a failed gate. A rollback run
    // has rolled back, and says so to its afterRollback hooks instead.
    if (run.kind === 'deploy') await gated('afterDeploy', () => runHooks(input, state, 'afterDeploy', deploying.values));
    else await afterRollback();
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
    const stopped = error.outcome === 'aborted' ? 'aborted' : 'failed';
    if (!batches.touched.length) return end(stopped);
    const previous = ledger.current;
    if (!previous) {
      run.error = { ...(run.error ?? { type: 'Aborted', step: 'abort' }), message: `${run.error?.message ?? 'aborted'}; nothing to roll back to: this is the first deploy of ${plan.service} to ${plan.environment}` };
      return end(stopped);
    }
    state.setStatus('running');
    const outcome = await rollBackAll(input, state, batches, previous, error.outcome);
    await afterRollback();
    return end(outcome);
  }

  /** After a rollback, whatever its outcome: a failing hook is reported in `run.hooks` and changes no status. */
  async function afterRollback(): Promise<void> {
    await runHooks(input, state, 'afterRollback', release!.values).catch((error: unknown) => {
      if (!(error instanceof TargetsFailed)) throw error;
    });
  }

  /** A health-gated step: on failure, roll back (autoRollback) or ask an operator. */
  async function gated(name: string, step: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        await state.cancellable(step);
        return;
      } catch (error) {
        if (error instanceof StopRollout) throw error;
        const failure = error instanceof TargetsFailed ? error.failure : describeFailure(error);
        const target = failure.target ?? run.targets.find((t) => t.status === 'failed')?.name;
        run.error = { type: failure.type, step: target ? `${target}: ${failure.step ?? name}` : name, target, message: failure.message };
        if (plan.rollout.autoRollback) throw new StopRollout('rolled_back', run.error);
        state.setStatus('awaiting_operator');
        const decision = await state.awaitOperator();
        if (decision === 'abort') throw new StopRollout('aborted', run.error);
        if (decision === 'rollback') throw new StopRollout('rolled_back', run.error);
        run.error = undefined;
        state.setStatus('running');
      }
    }
  }

  async function pauseIfAsked(): Promise<void> {
    if (!state.pauseRequested) return;
    state.setStatus('paused');
    await condition(() => !state.pauseRequested || state.abortRequested);
    if (state.abortRequested) throw new StopRollout('aborted');
    state.setStatus('running');
  }

  /**
   * `windows.pauseBetweenBatches`: the window closed (or a freeze began) since the run started.
   * It pauses before its next batch until the window opens again (a durable timer), unless an
   * operator resumes it sooner or aborts it.
   */
  async function pauseOutsideWindow(): Promise<void> {
    if (!plan.windows?.pauseBetweenBatches) return;
    const wait = waitingFor(plan.windows, Date.now());
    if (!wait) return;
    run.waitingFor = wait;
    state.pauseRequested = true;
    state.setStatus('paused');
    await condition(() => !state.pauseRequested || state.abortRequested, Math.max(Date.parse(wait.until) - Date.now(), 1));
    state.pauseRequested = false;
    run.waitingFor = undefined;
    if (state.abortRequested) throw new StopRollout('aborted');
    state.setStatus('running');
  }

  async function awaitApproval(): Promise<void> {
    state.setStatus('awaiting_approval');
    const timeout = plan.rollout.approvalTimeoutMs;
    const decided = timeout
      ? await condition(() => state.approved || state.abortRequested, timeout)
      : await condition(() => state.approved || state.abortRequested).then(() => true);
    if (state.abortRequested) throw new StopRollout('aborted');
    if (!decided) throw new StopRollout('rolled_back', { type: 'ApprovalTimeout', step: 'approval', message: `nobody approved within ${Math.round(timeout! / 1000)} s` });
    state.setStatus('running');
  }

  async function end(status: 'succeeded' | 'failed' | 'rolled_back' | 'aborted'): Promise<Run> {
    await putBackDrained(input, state, batches, release);
    await reportToGithub(plan, run, status, input.uiUrl);
    await batches.settled();
    if (status === 'succeeded') run.phase = 'done';
    run.finishedAt = new Date().toISOString();
    state.setStatus(status);
    if (status === 'succeeded' && run.promotedFrom) state.notify('promoted');
    await state.flushNotices();
    return run;
  }
}

// Errors that still escape (from `end`, say) fail the run's workflow rather than its task.
setWorkflowOptions({ failureExceptionTypes: [Error] }, deploy);
