import { rotatableRefusals, type EnvSecretNames } from '../config/rotatable.js';
import type { EnvironmentConfig, RolloutOverride, ServiceConfig } from '../config/schema.js';
import { formatDuration } from '../domain/duration.js';
import { resolveCount } from '../domain/rollout.js';
import { hasScope, type Principal } from './auth.js';
import { HttpProblem, type FieldError } from './problem.js';

/**
 * A request's `rollout` may only make the run safer than its environment's policy unless the
 * caller is an admin: a smaller canary or batch, a longer bake, approval turned on. Anything
 * else (auto-rollback off, a shorter bake, other timeouts) is the environment's to decide.
 * Values equal to the policy change nothing and pass.
 */
export function enforceRolloutPolicy(override: RolloutOverride | undefined, env: EnvironmentConfig, principal: Principal | undefined): void {
  if (!override || hasScope(principal, 'admin')) return;
  const policy = env.rollout;
  const targets = env.targets.reduce((n, t) => n + (t.instances?.length ?? 1), 0);
  const refused: FieldError[] = [];
  const refuse = (field: keyof RolloutOverride, message: string) => refused.push({ field: `rollout.${field}`, message: `${message}: only an admin may` });

  for (const field of ['canary', 'batchSize'] as const) {
    const asked = override[field];
    if (asked !== undefined && resolveCount(asked, targets) > resolveCount(policy[field], targets)) {
      refuse(field, `${asked} is more than the environment's ${policy[field]} (${resolveCount(asked, targets)} > ${resolveCount(policy[field], targets)} of ${targets} targets)`);
    }
  }
  if (override.bake !== undefined && override.bake < policy.bake) refuse('bake', `${formatDuration(override.bake)} is shorter than the environment's ${formatDuration(policy.bake)}`);
  if (override.approval === false && policy.approval) refuse('approval', 'the environment requires approval');
  if (override.autoRollback !== undefined && override.autoRollback !== policy.autoRollback) refuse('autoRollback', `the environment sets autoRollback: ${policy.autoRollback}`);
  for (const field of ['approvalTimeout', 'imageTimeout'] as const) {
    const asked = override[field];
    if (asked !== undefined && asked !== policy[field]) refuse(field, `the environment sets ${field}${policy[field] === undefined ? ' to none' : `: ${formatDuration(policy[field])}`}`);
  }
  if (refused.length) {
    throw new HttpProblem(403, 'Forbidden', `this rollout override would make the run less safe than the environment's policy: ${refused.map((r) => `${r.field}: ${r.message}`).join('; ')}`, refused);
  }
}

/** An `env-secret` rotation writes only what its service's `rotatable` names: `403` naming each name outside it. */
export function enforceRotatable(serviceName: string, service: ServiceConfig, body: EnvSecretNames): void {
  const refused = rotatableRefusals(serviceName, service, body);
  if (refused.length) {
    throw new HttpProblem(403, 'Forbidden', `this rotation writes what ${serviceName} does not let rotations write: ${refused.map((r) => `${r.field}: ${r.message}`).join('; ')}`, refused);
  }
}
