import type { EnvSecretPlan, RecipeCommand, RecipePlan, RecipeWrite, RotationPlan } from '../domain/rotation.js';
import { targetId, type DeployPlan, type HealthPlan, type Target, type TrafficPlan } from '../domain/plan.js';
import { mergeHooks } from '../domain/hooks.js';
import { lockOrder } from '../domain/recipe.js';
import { own, type EnvironmentConfig, type RolloutOverride, type ServiceConfig, type SlipwayConfig } from './schema.js';

/** Targets of an environment: one per host, or one per instance on a host for systemd. */
export function expandTargets(env: EnvironmentConfig): Target[] {
  return env.targets.flatMap((t) => {
    const host = { address: t.address, port: t.port, user: t.user };
    if (!t.instances) return [{ id: targetId(t.name), name: t.name, hostName: t.name, host }];
    return t.instances.map((instance) => ({ id: targetId(t.name, instance), name: `${t.name}#${instance}`, hostName: t.name, host, instance: String(instance) }));
  });
}

function healthPlan(service: ServiceConfig): HealthPlan {
  return { timeoutMs: service.health.timeout, intervalMs: service.health.interval, checks: service.health.checks };
}

/** The balancer in front of the environment's targets, if it names one. */
export function trafficPlan(env: EnvironmentConfig): TrafficPlan | undefined {
  const { traffic } = env;
  if (!traffic) return undefined;
  if (traffic.haproxy) return { kind: 'haproxy', drainTimeoutMs: traffic.drainTimeout, ...traffic.haproxy };
  return { kind: 'command', drainTimeoutMs: traffic.drainTimeout, ...traffic.command! };
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
    images: Object.entries(service.images).map(([name, repository]) => ({ name, repository })),
    tagTemplate: service.tag,
    runtime: service.runtime,
    health: healthPlan(service),
    analysis: service.analysis,
    targets: expandTargets(env),
    traffic: trafficPlan(env),
    hooks: mergeHooks(service.hooks, env.hooks),
    windows: env.windows,
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
  | { kind: 'registry-token'; registry: string; username: string; token: string; githubSecret?: string | undefined }
  | { kind: 'recipe'; recipe: string };

/** The service's image repositories that live in `registry`. */
export function repositoriesIn(service: ServiceConfig, registry: string): string[] {
  return Object.values(service.images).filter((repository) => repository.startsWith(`${registry}/`));
}

/**
 * A rotation of `service` in `environment`, from config and the request. A recipe's name must
 * be one of the service's (`recipeOf`); its other services and environments were checked when
 * the config loaded.
 */
export function buildRotationPlan(config: SlipwayConfig, serviceName: string, environmentName: string, request: RotationRequestPart): RotationPlan {
  const service = own(config.services, serviceName)!;
  const env = own(service.environments, environmentName)!;
  const base = {
    service: serviceName, environment: environmentName, repo: service.repo,
    targets: expandTargets(env), canary: env.rollout.canary, batchSize: env.rollout.batchSize, traffic: trafficPlan(env),
  };
  switch (request.kind) {
    case 'env-secret':
      return { kind: 'env-secret', ...base, runtime: service.runtime, health: healthPlan(service), variables: request.variables, githubSecrets: request.githubSecrets ?? {} };
    case 'ssh-key':
      return { kind: 'ssh-key', ...base, githubSecret: request.githubSecret };
    case 'registry-token':
      return {
        kind: 'registry-token', ...base, registry: request.registry, username: request.username, token: request.token,
        insecure: own(config.registries, request.registry)?.insecure ?? false,
        // Every service pulls from that registry with this one credential: it must pull them all.
        repositories: [...new Set(Object.values(config.services).flatMap((s) => repositoriesIn(s, request.registry)))], githubSecret: request.githubSecret,
      };
    case 'recipe':
      return buildRecipePlan(config, base, request.recipe);
  }
}

function buildRecipePlan(config: SlipwayConfig, base: Pick<RecipePlan, 'service' | 'environment' | 'repo' | 'targets' | 'canary' | 'batchSize'>, name: string): RecipePlan {
  const recipe = own(own(config.services, base.service)!.rotations, name)!;
  const at = (ref: { service: string; environment: string }) => {
    const service = own(config.services, ref.service)!;
    return { service, env: own(service.environments, ref.environment)! };
  };
  const command = (c: { command: string; on: { service: string; environment: string } }): RecipeCommand => {
    const { service, env } = at(c.on);
    return { command: c.command, service: c.on.service, environment: c.on.environment, target: expandTargets(env)[0]!, dir: service.runtime.dir };
  };
  const writes = recipe.write.map((w): RecipeWrite => {
    const { service, env } = at(w);
    return {
      service: w.service, environment: w.environment, targets: expandTargets(env), canary: env.rollout.canary, batchSize: env.rollout.batchSize,
      runtime: service.runtime, health: healthPlan(service), variables: w.variables, traffic: trafficPlan(env),
    };
  });
  return {
    kind: 'recipe', recipe: name, ...base,
    values: recipe.values.map((v) => ('generate' in v ? { generate: v.generate } : { provision: { ...command(v), names: v.names } })),
    writes,
    githubSecrets: recipe.githubSecrets,
    http: recipe.http.map((h) => ({ method: h.method, url: h.url, headers: h.headers, ...(h.body !== undefined ? { body: h.body } : {}), expect: h.expect, retryFor: h.retryFor, idempotent: h.idempotent })),
    finally: recipe.finally.map(command),
    undo: recipe.undo.map(command),
    locks: lockOrder([{ service: base.service, environment: base.environment }, ...writes]),
  };
}
