import { ApplicationFailure } from '@temporalio/common';
import type { FailureContext, FailureType, TransientFailureType } from '../domain/failures.js';
import { redact, registerSecret, withoutSecrets } from '../redact.js';

/** A fault that retrying cannot heal: it goes straight to the workflow's gate logic. */
export function permanentFailure(type: FailureType, message: string, context?: FailureContext): ApplicationFailure {
  return failure(type, message, true, context);
}

/** A fault worth another attempt under the activity's retry policy (backoff is the policy's). */
export function transientFailure(type: TransientFailureType, message: string, context?: FailureContext): ApplicationFailure {
  return failure(type, message, false, context);
}

/** The same failure, saying more about where it happened (the context given wins). */
export function withContext(error: ApplicationFailure, context: FailureContext): ApplicationFailure {
  const had = error.details?.[0] as FailureContext | undefined;
  return ApplicationFailure.create({ type: error.type ?? undefined, message: error.message, nonRetryable: error.nonRetryable ?? false, details: [{ ...had, ...context }] });
}

function failure(type: string, message: string, nonRetryable: boolean, context: FailureContext | undefined): ApplicationFailure {
  return ApplicationFailure.create({ type, message: redact(message), nonRetryable, details: context ? [context] : undefined });
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
