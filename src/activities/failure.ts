import { ApplicationFailure } from '@temporalio/common';
import type { FailureType } from '../domain/failures.js';
import { redact, registerSecret, withoutSecrets } from '../redact.js';

/** A fault that retrying cannot heal: it goes straight to the workflow's gate logic. */
export function permanentFailure(type: FailureType, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type, message: redact(message), nonRetryable: true, details: details ? [details] : undefined });
}

/** A fault worth another attempt under the activity's retry policy (backoff is the policy's). */
export function transientFailure(type: string, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type, message: redact(message), nonRetryable: false, details: details ? [details] : undefined });
}

/**
 * Runs `step` so that none of `secrets` can leave it in an error message (activity errors
 * are stored in workflow history, which must hold no secret in plaintext). The values are
 * registered with the redactor first, so the process never logs or quotes them afterwards
 * either, whatever later step prints them (a service that echoes its bad config).
 */
export async function hidingSecrets<T>(secrets: string[], step: () => Promise<T>): Promise<T> {
  secrets.forEach(registerSecret);
  try {
    return await step();
  } catch (error) {
    if (error instanceof Error) {
      error.message = withoutSecrets(error.message, secrets);
    }
    throw error;
  }
}
