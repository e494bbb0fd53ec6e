import { setWorkflowOptions } from '@temporalio/workflow';
import type { HostJobOutcome, RotationBatchInput } from './contract.js';
import { runHostJobs } from './rotation/host-jobs.js';

/**
 * A slice of one step of a large rotation (more than a hundred hosts): its host jobs in a
 * history of their own, so that no rotation's history grows with the size of the fleet.
 * Answers each job's outcome; the rotation decides what a failure means.
 */
export async function rotationBatch(input: RotationBatchInput): Promise<HostJobOutcome[]> {
  return runHostJobs(input);
}

setWorkflowOptions({ failureExceptionTypes: [Error] }, rotationBatch);
