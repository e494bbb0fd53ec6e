import type { SecretSource } from '../domain/rotation.js';
import { apiSteps, summary } from './activity-options.js';

/** What a Temporal Schedule starts: the rotation as requested, re-planned from config each time. */
export interface ScheduledRotationInput {
  service: string;
  environment: string;
  request: {
    kind: 'env-secret';
    /** Generated values only: a supplied value would be the same at every run. */
    variables: Record<string, Extract<SecretSource, { generate: unknown }>>;
    githubSecrets?: Record<string, string> | undefined;
  } | {
    kind: 'ssh-key';
    githubSecret?: string | undefined;
  } | {
    kind: 'recipe';
    recipe: string;
  };
}

/**
 * Started by a Schedule (`schedule: { every }`): queues a rotation in its environment, behind
 * whatever runs there, and ends. The rotation itself shows up as its own run.
 */
export async function scheduledRotation(input: ScheduledRotationInput): Promise<string> {
  return apiSteps.enqueueScheduledRotation.executeWithOptions(summary(`queue the scheduled rotation of ${input.service} in ${input.environment}`), [input]);
}
