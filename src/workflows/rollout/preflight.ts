import { refName, refSha, type DeployPlan, type PinnedImages } from '../../domain/plan.js';
import { imagesToPin, releaseValues } from '../../domain/release.js';
import { rollbackRelease } from '../../domain/ledger.js';
import { trafficTarget } from '../../domain/traffic.js';
import type { RunError } from '../../domain/run.js';
import type { TemplateValues } from '../../domain/templates.js';
import { apiSteps, summary, waitingSteps } from '../activity-options.js';
import { describeFailure } from '../failure-details.js';
import type { DeployInput } from '../contract.js';
import { StopRollout, type RunState } from './run-state.js';

/** What the rollout deploys, once preflight has pinned it. */
export interface Release {
  pinned: PinnedImages;
  values: TemplateValues;
}

/** Preflight failed: the run ends with this error, having touched no host. */
export class PreflightFailed extends Error {
  constructor(readonly error: RunError | undefined, readonly aborted = false) {
    super(error?.message ?? 'aborted');
  }
}

/**
 * The checks before any host is touched: the commit exists (and its CI is green), every
 * image resolves to a digest, HAProxy has every target's server, and the GitHub deployment is open. A rollback instead finds the
 * known-good release it returns to.
 */
export async function preflight(input: DeployInput, state: RunState): Promise<Release> {
  const { plan } = input;
  const { run } = state;
  let step = 'preflight: commit';
  let pinned: PinnedImages = {};
  try {
    if (run.kind === 'rollback') {
      step = 'preflight: known-good version';
      const release = rollbackRelease(state.ledger!, input.rollbackTo);
      if (!release) {
        throw new PreflightFailed({ type: 'NoKnownGoodVersion', step, message: input.rollbackTo ? `no known-good version ${input.rollbackTo} of ${plan.service} in ${plan.environment}` : `${plan.service} in ${plan.environment} has no earlier known-good version to roll back to` });
      }
      run.version = { sha: release.sha, images: release.images, ...(release.revision ? { revision: release.revision } : {}) };
      pinned = release.images;
      state.setStatus('running');
    } else {
      const sha = await verifiedCommit(plan, state);
      step = 'preflight: images';
      const images = imagesToPin(plan, releaseValues(plan, sha));
      // A promotion deploys the very digests its source environment runs, whatever the tags say now.
      if (input.promotion) pinned = input.promotion.images;
      else if (images.length) {
        const waits = waitingSteps(plan.rollout.imageTimeoutMs);
        pinned = await state.cancellable(() => waits.resolveImages.executeWithOptions(summary(`pin ${images.map((i) => `${i.repository}:${i.tag}`).join(', ')} to digests`), [images, plan.rollout.imageTimeoutMs]));
      }
      run.version.images = pinned;
      state.setStatus('running');
    }
    if (plan.traffic?.kind === 'haproxy') {
      step = 'preflight: load balancer';
      const { traffic } = plan;
      const values = releaseValues(plan, run.version.sha);
      const at = plan.targets.map((t) => trafficTarget(traffic, t, values));
      await state.cancellable(() => apiSteps.checkTraffic.executeWithOptions(summary(`check ${plan.targets.length} servers in HAProxy's ${traffic.backend}`), [at]));
    }
    if (plan.repo && run.version.sha) {
      step = 'preflight: GitHub deployment';
      const { repo } = plan;
      const sha = run.version.sha;
      const description = plan.reason ?? `Slipway ${run.kind} of ${plan.service}`;
      const deploymentId = await state.cancellable(() => apiSteps.createGithubDeployment.executeWithOptions(summary(`create GitHub deployment to ${plan.environment}`), [repo, sha, plan.environment, description]));
      run.githubDeploymentId = deploymentId;
      await state.cancellable(() => apiSteps.setGithubDeploymentStatus.executeWithOptions(summary('GitHub deployment: in_progress'), [repo, deploymentId, 'in_progress', 'rolling out', input.uiUrl]));
    }
    return { pinned, values: releaseValues(plan, run.version.sha) };
  } catch (error) {
    if (error instanceof PreflightFailed) throw error;
    if (error instanceof StopRollout) throw new PreflightFailed(undefined, true);
    const failure = describeFailure(error);
    throw new PreflightFailed({ type: failure.type, step, message: failure.message });
  }

  async function verifiedCommit(plan: DeployPlan, state: RunState): Promise<string | null> {
    if (!plan.repo) return refSha(plan.ref);
    const { repo } = plan;
    const ref = refName(plan.ref);
    const sha = await state.cancellable(() => apiSteps.verifyCommit.executeWithOptions(summary(`verify commit ${ref} in ${repo}`), [repo, ref]));
    state.run.version.sha = sha;
    if (plan.requireChecks) {
      step = 'preflight: checks';
      const waits = waitingSteps(plan.rollout.imageTimeoutMs);
      await state.cancellable(() => waits.awaitGreenChecks.executeWithOptions(summary(`wait for green CI on ${sha.slice(0, 7)}`), [repo, sha, plan.rollout.imageTimeoutMs]));
    }
    return sha;
  }
}
