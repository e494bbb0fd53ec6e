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

export type RotationKind = RotationPlan['kind'];

export interface RotationView {
  id: string;
  kind: RotationKind;
  service: string;
  environment: string;
  status: RotationStatus;
  /** `env-secret`: the names of the variables rotated (never their values). */
  variables?: string[] | undefined;
  /** `registry-token`: the registry whose token is rotated. */
  registry?: string | undefined;
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

interface PlanBase {
  service: string;
  environment: string;
  repo?: string | undefined;
  targets: Target[];
  canary: number | string;
  batchSize: number | string;
}

export interface EnvSecretPlan extends PlanBase {
  kind: 'env-secret';
  runtime: (ComposeRuntime | SystemdRuntime) & { envFile: string };
  health: HealthPlan;
  variables: Record<string, SecretSource>;
  /** Variable name -> GitHub Actions secret name, updated once every host runs the new values. */
  githubSecrets: Record<string, string>;
}

/** `ssh-key`: a new deploy key for every host (and login user) of the environment. */
export interface SshKeyPlan extends PlanBase {
  kind: 'ssh-key';
  /** GitHub Actions secret that gets the new private key. */
  githubSecret?: string | undefined;
}

/** `registry-token`: a supplied token for one registry, logged in on every host. */
export interface RegistryTokenPlan extends PlanBase {
  kind: 'registry-token';
  registry: string;
  username: string;
  /** Rides in workflow history only through the payload codec (rotations need encryption). */
  token: string;
  /** The service's image repositories in that registry: the token must pull them. */
  repositories: string[];
  githubSecret?: string | undefined;
}

export type RotationPlan = EnvSecretPlan | SshKeyPlan | RegistryTokenPlan;

export function queuedRotation(id: string, plan: RotationPlan, createdAt: string): RotationView {
  return {
    id, kind: plan.kind, service: plan.service, environment: plan.environment, status: 'queued',
    ...(plan.kind === 'env-secret' ? { variables: Object.keys(plan.variables) } : {}),
    ...(plan.kind === 'registry-token' ? { registry: plan.registry } : {}),
    steps: [], createdAt, updatedAt: createdAt,
  };
}

/** What the Temporal UI and logs call a rotation (no secret in it). */
export function describeRotation(plan: RotationPlan): string {
  switch (plan.kind) {
    case 'env-secret': return `${plan.kind} rotation of ${Object.keys(plan.variables).join(', ')}`;
    case 'ssh-key': return 'ssh-key rotation';
    case 'registry-token': return `registry-token rotation for ${plan.registry}`;
  }
}
