import {
  defineQuery, executeChild, log, setHandler, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { DeployPlan, ImageSpec, PinnedImages } from '../domain/plan.js';
import type { Run, RunError, RunStatus } from '../domain/run.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { renderTemplate, type TemplateValues } from '../domain/templates.js';
import { apiSteps, summary, waitingSteps } from './activity-options.js';
import { describeFailure } from './failure-details.js';
import { updateTarget } from './update-target.js';

export interface DeployInput {
  plan: DeployPlan;
  /** The longest one host command may run (from the worker's `ssh.commandTimeout`). */
  stepTimeoutMs: number;
  createdAt: string;
  /** Where the run opens in the Temporal UI, for the GitHub Deployment's log link. */
  uiUrl?: string | undefined;
}

export const runQuery = defineQuery<Run>('run');

/**
 * A deploy: preflight (commit, checks, images pinned to digests), a GitHub Deployment, then
 * every target in order, each health-gated before the next is touched.
 */
export async function deploy(input: DeployInput): Promise<Run> {
  const { plan } = input;
  const now = () => new Date().toISOString();
  const run: Run = {
    id: workflowInfo().workflowId,
    kind: 'deploy',
    service: plan.service,
    environment: plan.environment,
    version: { sha: 'sha' in plan.ref ? plan.ref.sha : null, images: {} },
    previous: null,
    status: 'running',
    phase: 'preflight',
    targets: plan.targets.map((t) => ({ id: t.id, name: t.name, status: 'pending' })),
    reason: plan.reason,
    createdAt: input.createdAt,
    updatedAt: now(),
  };
  setHandler(runQuery, () => run);

  const setStatus = (status: RunStatus) => {
    run.status = status;
    run.updatedAt = now();
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.status, value: status },
      { key: SEARCH_ATTRIBUTES.version, value: run.version.sha ?? ('tag' in plan.ref ? plan.ref.tag : '') },
    ]);
  };
  setStatus('running');

  /** Reports the outcome on the GitHub Deployment, then ends the run: the run is done when GitHub says so too. */
  const finish = async (status: 'succeeded' | 'failed', description: string): Promise<Run> => {
    if (plan.repo && run.githubDeploymentId !== undefined) {
      const state = status === 'succeeded' ? 'success' : 'failure';
      try {
        await apiSteps.setGithubDeploymentStatus.executeWithOptions({ ...summary(`GitHub deployment: ${state}`), retry: { maximumAttempts: 5 } }, [plan.repo, run.githubDeploymentId, state, description.slice(0, 140), input.uiUrl]);
      } catch (error) {
        // The hosts are what they are; a GitHub outage must not change the run's outcome.
        log.warn('could not set the GitHub deployment status', { error: describeFailure(error).message });
      }
    }
    run.phase = status === 'succeeded' ? 'done' : run.phase;
    run.finishedAt = now();
    setStatus(status);
    return run;
  };

  let step = 'preflight: commit';
  let target: string | undefined;
  const waits = waitingSteps(plan.rollout.imageTimeoutMs);
  try {
    let sha = 'sha' in plan.ref ? plan.ref.sha : undefined;
    if (plan.repo) {
      const ref = 'sha' in plan.ref ? plan.ref.sha : plan.ref.tag;
      sha = await apiSteps.verifyCommit.executeWithOptions(summary(`verify commit ${ref} in ${plan.repo}`), [plan.repo, ref]);
      run.version.sha = sha;
      if (plan.requireChecks) {
        step = 'preflight: checks';
        await waits.awaitGreenChecks.executeWithOptions(summary(`wait for green CI on ${sha.slice(0, 7)}`), [plan.repo, sha, plan.rollout.imageTimeoutMs]);
      }
    }

    step = 'preflight: images';
    const values: TemplateValues = { service: plan.service, environment: plan.environment, ...(sha ? { sha, sha7: sha.slice(0, 7) } : {}) };
    const images: ImageSpec[] = plan.images.map((image) => ({
      ...image, tag: 'tag' in plan.ref ? plan.ref.tag : renderTemplate(plan.tagTemplate, values),
    }));
    let pinned: PinnedImages = {};
    if (images.length) {
      pinned = await waits.resolveImages.executeWithOptions(summary(`pin ${images.map((i) => `${i.repository}:${i.tag}`).join(', ')} to digests`), [images, plan.rollout.imageTimeoutMs]);
    }
    run.version.images = pinned;
    setStatus('running');

    if (plan.repo && sha) {
      step = 'preflight: GitHub deployment';
      const deploymentId = await apiSteps.createGithubDeployment.executeWithOptions(summary(`create GitHub deployment to ${plan.environment}`), [plan.repo, sha, plan.environment, plan.reason ?? `Slipway deploy of ${plan.service}`]);
      run.githubDeploymentId = deploymentId;
      await apiSteps.setGithubDeploymentStatus.executeWithOptions(summary('GitHub deployment: in_progress'), [plan.repo, deploymentId, 'in_progress', 'rolling out', input.uiUrl]);
    }

    const builtHosts = new Set<string>();
    for (const [index, t] of plan.targets.entries()) {
      run.phase = index === 0 ? 'canary' : 'fleet';
      step = 'update';
      target = t.name;
      const state = run.targets[index]!;
      state.status = 'updating';
      setStatus('running');
      const hostKey = `${t.host.user}@${t.host.address}:${t.host.port}`;
      try {
        await executeChild(updateTarget, {
          workflowId: `${run.id}/${t.id}`,
          staticSummary: `${plan.service}/${plan.environment}: update ${t.name}`,
          args: [{
            target: t, runtime: plan.runtime, health: plan.health, pinned,
            values: { ...values, host: t.host.address, name: t.hostName, ...(t.instance !== undefined ? { instance: t.instance } : {}) },
            migrate: index === 0, build: !builtHosts.has(hostKey), stepTimeoutMs: input.stepTimeoutMs,
          }],
        });
      } catch (error) {
        state.status = 'failed';
        state.error = describeFailure(error).message;
        throw error;
      }
      builtHosts.add(hostKey);
      state.status = 'healthy';
      state.version = sha ?? Object.values(pinned)[0];
    }

    return await finish('succeeded', 'deployed');
  } catch (error) {
    const failure = describeFailure(error);
    const runError: RunError = { type: failure.type, step: target ? `${target}: ${failure.step ?? 'update'}` : step, target, message: failure.message };
    run.error = runError;
    return finish('failed', runError.message);
  }
}
