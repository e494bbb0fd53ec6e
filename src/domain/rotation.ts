import type { ComposeRuntime } from '../commands/compose.js';
import type { SystemdRuntime } from '../commands/systemd.js';
import type { HealthPlan, Target } from './plan.js';
import type { RunError } from './run.js';

/**
 * A rotation (SPEC §4, §5): a saga whose compensations undo its finished steps in reverse
 * order when a later step fails. The view below is what the API answers; it never holds a
 * secret value, only the names of the variables and secrets.
 */
export type RotationStatus = 'queued' | 'running' | 'succeeded' | 'compensating' | 'compensated' | 'failed';
export type RotationStepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'compensating' | 'compensated';

export interface RotationStep {
  name: string;
  target?: string | undefined;
  status: RotationStepStatus;
  error?: string | undefined;
}

export interface RotationView {
  id: string;
  kind: 'env-secret';
  service: string;
  environment: string;
  status: RotationStatus;
  /** The names of the variables rotated (never their values). */
  variables: string[];
  steps: RotationStep[];
  error?: RunError | undefined;
  /** With `failed`: what a compensation could not undo, for an operator to fix by hand. */
  leftToFix?: string[] | undefined;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string | undefined;
}

/** How a variable gets its new value: generated on the worker, or supplied with the request. */
export type SecretSource = { generate: { bytes: number; encoding: 'hex' | 'base64url' } } | { value: string };

export interface EnvSecretPlan {
  kind: 'env-secret';
  service: string;
  environment: string;
  repo?: string | undefined;
  runtime: (ComposeRuntime | SystemdRuntime) & { envFile: string };
  health: HealthPlan;
  targets: Target[];
  canary: number | string;
  batchSize: number | string;
  variables: Record<string, SecretSource>;
  /** Variable name -> GitHub Actions secret name, updated once every host runs the new values. */
  githubSecrets: Record<string, string>;
}

export function queuedRotation(id: string, plan: EnvSecretPlan, createdAt: string): RotationView {
  return {
    id, kind: plan.kind, service: plan.service, environment: plan.environment, status: 'queued',
    variables: Object.keys(plan.variables), steps: [], createdAt, updatedAt: createdAt,
  };
}
