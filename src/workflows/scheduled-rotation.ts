import { workflowInfo } from '@temporalio/workflow';
import type { ScheduledRotationInput } from './contract.js';
import { apiSteps, summary } from './activity-options.js';

/**
 * Started by a Schedule (`schedule: { every }`): queues a rotation in its environment, behind
 * whatever runs there, and ends. The rotation itself shows up as its own run.
 */
export async function scheduledRotation(input: ScheduledRotationInput): Promise<string> {
  // The activity's retries queue the same rotation: its id comes from this run's own ids.
  const { workflowId, runId } = workflowInfo();
  return apiSteps.enqueueScheduledRotation.executeWithOptions(summary(`queue the scheduled rotation of ${input.service} in ${input.environment}`), [input, { workflowId, runId }]);
}
