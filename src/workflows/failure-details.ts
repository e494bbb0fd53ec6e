import { ApplicationFailure, TemporalFailure, TimeoutFailure } from '@temporalio/workflow';
import { FailureType, PlanError, type FailureDetails } from '../domain/failures.js';

/**
 * The innermost failure of a chain (child workflow -> activity -> application failure): the
 * one that says what went wrong on which host, not the wrappers around it.
 */
export function describeFailure(error: unknown): FailureDetails {
  let current: unknown = error;
  while (current instanceof TemporalFailure && current.cause && !(current instanceof ApplicationFailure)) current = current.cause;
  if (current instanceof ApplicationFailure) {
    const details = (current.details?.[0] ?? {}) as { step?: string; target?: string; hostReached?: boolean; untouched?: boolean; stepIndex?: number };
    const step = details.step ?? (current.type === 'HealthCheckFailed' ? 'health checks' : undefined);
    return {
      type: current.type ?? 'Error', message: current.message, step, target: details.target, hostReached: details.hostReached, untouched: details.untouched,
      ...(typeof details.stepIndex === 'number' ? { stepIndex: details.stepIndex } : {}),
    };
  }
  if (current instanceof TimeoutFailure) return { type: 'Timeout', message: `timed out (${current.timeoutType})` };
  // Thrown by workflow code itself: a PlanError names its type; anything else is a bug.
  if (current instanceof PlanError) return { type: current.type, message: current.message };
  return { type: FailureType.WorkflowError, message: current instanceof Error ? `${current.name}: ${current.message}` : String(current) };
}
