import { workflowInfo } from '@temporalio/workflow';

/**
 * What keys this execution's run-once steps on hosts (a migration, a build, a recipe's
 * provisioning), whose markers live there for 30 days: the workflow id and the run id of its
 * first execution. An idempotency key names the same workflow id again once Temporal has
 * forgotten the run, and that new execution must not find the old one's steps done.
 */
export function onceScope(): string {
  const { workflowId, firstExecutionRunId } = workflowInfo();
  return `${workflowId}@${firstExecutionRunId}`;
}
