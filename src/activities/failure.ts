import { ApplicationFailure } from '@temporalio/common';
import type { FailureType } from '../domain/failures.js';
import { redact } from '../redact.js';

/** A fault that retrying cannot heal: it goes straight to the workflow's gate logic. */
export function permanentFailure(type: FailureType, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type, message: redact(message), nonRetryable: true, details: details ? [details] : undefined });
}

/** A fault worth another attempt under the activity's retry policy (backoff is the policy's). */
export function transientFailure(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message: redact(message), nonRetryable: false });
}
