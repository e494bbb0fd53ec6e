import { ApplicationFailure, TemporalFailure, TimeoutFailure } from '@temporalio/workflow';

export interface FailureDetails {
  type: string;
  message: string;
  step?: string | undefined;
  /** The target the failure names (health checks, bake gates). */
  target?: string | undefined;
}

/**
 * The innermost failure of a chain (child workflow -> activity -> application failure): the
 * one that says what went wrong on which host, not the wrappers around it.
 */
export function describeFailure(error: unknown): FailureDetails {
  let current: unknown = error;
  while (current instanceof TemporalFailure && current.cause && !(current instanceof ApplicationFailure)) current = current.cause;
  if (current instanceof ApplicationFailure) {
    const details = (current.details?.[0] ?? {}) as { step?: string; target?: string };
    const step = details.step ?? (current.type === 'HealthCheckFailed' ? 'health checks' : undefined);
    return { type: current.type ?? 'Error', message: current.message, step, target: details.target };
  }
  if (current instanceof TimeoutFailure) return { type: 'Timeout', message: `timed out (${current.timeoutType})` };
  return { type: 'Error', message: current instanceof Error ? current.message : String(current) };
}
