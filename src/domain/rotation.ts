import type { ComposeRuntime } from '../commands/compose.js';
import type { SystemdRuntime } from '../commands/systemd.js';
import type { HealthPlan, Target, TrafficPlan } from './plan.js';
import type { HttpStepCall } from './recipe.js';
import type { RunError } from './run.js';

/**
 * A rotation (docs/rotations.md): a saga whose compensations undo its finished steps in reverse
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
  /** `recipe`: its name under `services.<service>.rotations`. */
  recipe?: string | undefined;
  steps: RotationStep[];
  error?: RunError | undefined;
  /** With `failed`: what a compensation could not undo, for an operator to fix by hand. */
  leftToFix?: string[] | undefined;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string | undefined;
  /** A queued rotation's place in its environment's queue (1: next to run); API answers only. */
  queuePosition?: number | undefined;
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
  /** The load balancer a target leaves while it restarts. */
  traffic?: TrafficPlan | undefined;
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
  /** Every service's image repositories in that registry: the token must pull them all. */
  repositories: string[];
  /** The registry answers in plain HTTP (a test registry): the hosts' docker must be told. */
  insecure: boolean;
  githubSecret?: string | undefined;
}

/** A service and an environment: what a lock is taken on. */
export interface EnvironmentRef {
  service: string;
  environment: string;
}

/** Where a recipe writes: one service's env file on every target of one environment. */
export interface RecipeWrite extends EnvironmentRef {
  targets: Target[];
  canary: number | string;
  batchSize: number | string;
  runtime: (ComposeRuntime | SystemdRuntime) & { envFile: string };
  health: HealthPlan;
  variables: string[];
  traffic?: TrafficPlan | undefined;
}

/** A recipe's command (`values`, `finally`, `undo`), run on the first target of `on`, in its service's dir. */
export interface RecipeCommand extends EnvironmentRef {
  command: string;
  target: Target;
  /** The service's runtime dir, a template. */
  dir: string;
}

/** Where a recipe's new values come from. `supplied` is `env-secret`'s (a value in the request). */
export type RecipeValue =
  | { provision: RecipeCommand & { names: string[] } }
  | { generate: { name: string; bytes: number; encoding: 'hex' | 'base64' | 'base64url' } }
  | { supplied: { name: string; value: string } };

/** The saga a recipe runs (docs/rotations.md, "Rotation recipes"); `env-secret` runs as one too. */
export interface RecipeSpec extends EnvironmentRef {
  repo?: string | undefined;
  values: RecipeValue[];
  writes: RecipeWrite[];
  /** Value name -> GitHub Actions secret of `repo`. */
  githubSecrets: Record<string, string>;
  http: HttpStepCall[];
  finally: RecipeCommand[];
  undo: RecipeCommand[];
}

/** `recipe`: a rotation declared in `services.<service>.rotations.<recipe>`. */
export interface RecipePlan extends PlanBase, RecipeSpec {
  kind: 'recipe';
  recipe: string;
  /**
   * Every environment it writes to and its own, in the one order all recipes lock in. The
   * first is where it queues; the others it takes in turn once that one is granted.
   */
  locks: EnvironmentRef[];
}

export type RotationPlan = EnvSecretPlan | SshKeyPlan | RegistryTokenPlan | RecipePlan;

/** `env-secret` as the recipe it is: values written to its own env file, then GitHub. */
export function envSecretAsRecipe(plan: EnvSecretPlan): RecipeSpec {
  const names = Object.keys(plan.variables);
  return {
    service: plan.service, environment: plan.environment, repo: plan.repo,
    values: Object.entries(plan.variables).map(([name, source]): RecipeValue => ('value' in source ? { supplied: { name, value: source.value } } : { generate: { name, ...source.generate } })),
    writes: [{ service: plan.service, environment: plan.environment, targets: plan.targets, canary: plan.canary, batchSize: plan.batchSize, runtime: plan.runtime, health: plan.health, variables: names, traffic: plan.traffic }],
    githubSecrets: plan.githubSecrets, http: [], finally: [], undo: [],
  };
}

/** The names a recipe's values make, in order. */
export function namesOf(values: RecipeValue[]): string[] {
  return values.flatMap((v) => ('provision' in v ? v.provision.names : 'generate' in v ? [v.generate.name] : [v.supplied.name]));
}

/** The environment whose queue a rotation waits in: a recipe's first lock, else its own. */
export function homeOf(plan: RotationPlan): EnvironmentRef {
  return plan.kind === 'recipe' ? plan.locks[0]! : { service: plan.service, environment: plan.environment };
}

export function queuedRotation(id: string, plan: RotationPlan, createdAt: string): RotationView {
  return {
    id, kind: plan.kind, service: plan.service, environment: plan.environment, status: 'queued',
    ...(plan.kind === 'env-secret' ? { variables: Object.keys(plan.variables) } : {}),
    ...(plan.kind === 'registry-token' ? { registry: plan.registry } : {}),
    ...(plan.kind === 'recipe' ? { recipe: plan.recipe, variables: namesOf(plan.values) } : {}),
    steps: [], createdAt, updatedAt: createdAt,
  };
}

/** What the Temporal UI and logs call a rotation (no secret in it). */
export function describeRotation(plan: RotationPlan): string {
  switch (plan.kind) {
    case 'env-secret': return `${plan.kind} rotation of ${Object.keys(plan.variables).join(', ')}`;
    case 'ssh-key': return 'ssh-key rotation';
    case 'registry-token': return `registry-token rotation for ${plan.registry}`;
    case 'recipe': return `recipe rotation ${plan.recipe}`;
  }
}

/**
 * Past this many hosts in one step, a rotation runs the step's host jobs in `rotationBatch`
 * children of this many each: its own history then grows with the number of batches, not hosts.
 */
export const ROTATION_BATCH_HOSTS = 100;
