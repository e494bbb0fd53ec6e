import type { EnvSecretPlan, RotationPlan } from '../domain/rotation.js';
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

/** What a rotation request says beyond service and environment (the API body, or a Schedule's). */
export type RotationRequestPart =
  | { kind: 'env-secret'; variables: EnvSecretPlan['variables']; githubSecrets?: Record<string, string> | undefined }
  | { kind: 'ssh-key'; githubSecret?: string | undefined }
  | { kind: 'registry-token'; registry: string; username: string; token: string; githubSecret?: string | undefined };

/** The service's image repositories that live in `registry`. */
export function repositoriesIn(service: ServiceConfig, registry: string): string[] {
  return Object.values(service.images).filter((repository) => repository.startsWith(`${registry}/`));
}

/** A rotation of `service` in `environment`, from config and the request. */
export function buildRotationPlan(serviceName: string, service: ServiceConfig, environmentName: string, env: EnvironmentConfig, request: RotationRequestPart): RotationPlan {
  const base = {
    service: serviceName, environment: environmentName, repo: service.repo,
    targets: expandTargets(env), canary: env.rollout.canary, batchSize: env.rollout.batchSize,
  };
  switch (request.kind) {
    case 'env-secret':
      return { kind: 'env-secret', ...base, runtime: service.runtime, health: healthPlan(service), variables: request.variables, githubSecrets: request.githubSecrets ?? {} };
    case 'ssh-key':
      return { kind: 'ssh-key', ...base, githubSecret: request.githubSecret };
    case 'registry-token':
      return {
        kind: 'registry-token', ...base, registry: request.registry, username: request.username, token: request.token,
        repositories: repositoriesIn(service, request.registry), githubSecret: request.githubSecret,
      };
  }
}
