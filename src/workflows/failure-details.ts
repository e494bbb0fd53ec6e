import { ApplicationFailure, TemporalFailure, TimeoutFailure } from '@temporalio/workflow';
import { FailureType, PlanError, type FailureContext, type FailureDetails } from '../domain/failures.js';

/**
 * The innermost failure of a chain (child workflow -> activity -> application failure): the
 * one that says what went wrong on which host, not the wrappers around it.
 */
export function describeFailure(error: unknown): FailureDetails {
  let current: unknown = error;
  while (current instanceof TemporalFailure && current.cause && !(current instanceof ApplicationFailure)) current = current.cause;
  if (current instanceof ApplicationFailure) {
    const context = (current.details?.[0] ?? {}) as FailureContext;
    const step = context.step ?? (current.type === FailureType.HealthCheckFailed ? 'health checks' : undefined);
    return {
      type: current.type ?? 'Error', message: current.message, step, target: context.target, hostReached: context.hostReached,
      ...(typeof context.stepIndex === 'number' ? { stepIndex: context.stepIndex } : {}),
    };
  }
  if (current instanceof TimeoutFailure) return { type: 'Timeout', message: `timed out (${current.timeoutType})` };
  // Thrown by workflow code itself: a PlanError names its type; anything else is a bug.
  if (current instanceof PlanError) return { type: current.type, message: current.message };
  return { type: FailureType.WorkflowError, message: current instanceof Error ? `${current.name}: ${current.message}` : String(current) };
}
