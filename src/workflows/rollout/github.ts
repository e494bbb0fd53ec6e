import { log } from '@temporalio/workflow';
import type { DeployPlan } from '../../domain/plan.js';
import type { Run } from '../../domain/run.js';
import { apiSteps, summary } from '../activity-options.js';
import { describeFailure } from '../failure-details.js';

/** Closes the run's GitHub deployment with its outcome; a GitHub outage never changes the run's. */
export async function reportToGithub(plan: DeployPlan, run: Run, status: Run['status'], uiUrl: string | undefined): Promise<void> {
  if (!plan.repo || run.githubDeploymentId === undefined) return;
  const state = status === 'succeeded' ? 'success' : 'failure';
  try {
    await apiSteps.setGithubDeploymentStatus.executeWithOptions({ ...summary(`GitHub deployment: ${state}`), retry: { maximumAttempts: 5 } },
      [plan.repo, run.githubDeploymentId, state, (run.error?.message ?? (status === 'succeeded' ? 'deployed' : status)).slice(0, 140), uiUrl]);
  } catch (error) {
    log.warn('could not set the GitHub deployment status', { error: describeFailure(error).message });
  }
}
