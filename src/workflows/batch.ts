import { setWorkflowOptions } from '@temporalio/workflow';
import type { BatchInput, TargetOutcome } from './contract.js';
import { updateTargets } from './rollout/targets.js';

/**
 * One batch of a large run (more than a few hundred targets): its targets updated at once, in
 * a history of their own, so that no history grows with the size of the fleet. Answers each
 * target's outcome; the run decides what a failure means.
 */
export async function updateBatch({ settings, jobs }: BatchInput): Promise<TargetOutcome[]> {
  return updateTargets(settings, jobs);
}

setWorkflowOptions({ failureExceptionTypes: [Error] }, updateBatch);
