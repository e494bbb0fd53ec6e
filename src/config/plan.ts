import type { EnvSecretPlan } from '../domain/rotation.js';
import type { DeployPlan, HealthPlan, Target } from '../domain/plan.js';
import type { EnvironmentConfig, RolloutOverride, ServiceConfig } from './schema.js';

/** Targets of an environment: one per host, or one per instance on a host for systemd. */
export function expandTargets(env: EnvironmentConfig): Target[] {
  return env.targets.flatMap((t) => {
    const host = { address: t.address, port: t.port, user: t.user };
    if (!t.instances) return [{ id: t.name, name: t.name, hostName: t.name, host }];
    return t.instances.map((instance) => ({ id: `${t.name}-${instance}`, name: `${t.name}#${instance}`, hostName: t.name, host, instance: String(instance) }));
  });
}

function healthPlan(service: ServiceConfig): HealthPlan {
  return { timeoutMs: service.health.timeout, intervalMs: service.health.interval, checks: service.health.checks };
}

export interface DeployRequestRef {
  sha?: string | undefined;
  tag?: string | undefined;
  rollout?: RolloutOverride | undefined;
  reason?: string | undefined;
}

/** Everything a deploy of `service` to `environment` needs, from config and the request. */
export function buildDeployPlan(serviceName: string, service: ServiceConfig, environmentName: string, env: EnvironmentConfig, request: DeployRequestRef): DeployPlan {
  const rollout = { ...env.rollout, ...Object.fromEntries(Object.entries(request.rollout ?? {}).filter(([, v]) => v !== undefined)) };
  return {
    service: serviceName,
    environment: environmentName,
    ref: request.sha ? { sha: request.sha.toLowerCase() } : { tag: request.tag! },
    repo: service.repo,
    requireChecks: env.requireChecks,
    images: Object.entries(service.images).map(([name, repository]) => ({ name, repository, tag: '' })),
    tagTemplate: service.tag,
    runtime: service.runtime,
    health: healthPlan(service),
    analysis: service.analysis,
    targets: expandTargets(env),
    rollout: {
      canary: rollout.canary, batchSize: rollout.batchSize, bakeMs: rollout.bake,
      autoRollback: rollout.autoRollback, approval: rollout.approval, approvalTimeoutMs: rollout.approvalTimeout, imageTimeoutMs: rollout.imageTimeout,
    },
    reason: request.reason,
  };
}

/** An `env-secret` rotation of `service` in `environment`, from config and the request. */
export function buildEnvSecretPlan(serviceName: string, service: ServiceConfig, environmentName: string, env: EnvironmentConfig, request: {
  variables: EnvSecretPlan['variables']; githubSecrets?: EnvSecretPlan['githubSecrets'] | undefined;
}): EnvSecretPlan {
  return {
    kind: 'env-secret',
    service: serviceName,
    environment: environmentName,
    repo: service.repo,
    runtime: service.runtime,
    health: healthPlan(service),
    targets: expandTargets(env),
    canary: env.rollout.canary,
    batchSize: env.rollout.batchSize,
    variables: request.variables,
    githubSecrets: request.githubSecrets ?? {},
  };
}
