import { targetRunbook } from '../commands/runbook.js';
import { toShell } from '../commands/shell.js';
import { renderHealth } from '../domain/health.js';
import { rollbackRelease, type Release } from '../domain/ledger.js';
import { downgradeTarget } from '../domain/schema-revision.js';
import { composeDowngrade, imageEnvironment } from '../commands/compose.js';
import { hookCommand } from '../commands/hooks.js';
import { hookBatches, hookValues, HOOK_NAMES, type HookName } from '../domain/hooks.js';
import { hostKey, refName, refSha, type DeployPlan, type HealthCheck, type PinnedImages, type TrafficPlan, type TrafficTarget } from '../domain/plan.js';
import { imagesToPin, releaseValues } from '../domain/release.js';
import { planBatches } from '../domain/rollout.js';
import { renderTemplate, targetTemplateValues } from '../domain/templates.js';
import { trafficTarget } from '../domain/traffic.js';
import { setServerState } from '../traffic/haproxy.js';
import { GithubError, type GithubClient } from '../github/client.js';
import { pinnedReference, type RegistryClient } from '../registry/client.js';
import { parsePinnedReference } from '../domain/pinned-reference.js';
import type { DeployInput, EnvironmentView } from '../workflows/contract.js';
import { HttpProblem } from './problem.js';

/**
 * `dryRun: true` (docs/runs.md, "Dry run"): what a deploy or rollback would do, worked out from
 * GitHub, the registry and the environment's ledger as they are now. It reads and touches
 * nothing: no host, no lock, no GitHub Deployment. Commands are shown as the host's shell
 * would get them; they hold image references and the operator's own commands, never a secret.
 */
export interface DryRunPlan {
  dryRun: true;
  kind: 'deploy' | 'rollback';
  service: string;
  environment: string;
  commit: { sha: string | null; ref: string };
  checks: { state: 'success' | 'pending' | 'failure' | 'not required' | 'unknown'; summary: string };
  images: { name: string; repository: string; tag: string; pinned: string }[];
  batches: string[][];
  targets: { name: string; batch: number; commands: string[]; health: HealthCheck[] }[];
  gates: { name: string; on: string; check: string; expect: string }[];
  bakeMs: number;
  approval: boolean;
  /** The run it would wait for, and the ones queued before it. */
  queuedBehind: { active: string | null; queue: string[] } | null;
  /** A rollback to a release at another schema revision: the downgrade first (null without `downgrade`). */
  schema?: { from: string; to: string; command: string | null } | undefined;
  /** The hooks it would run, in order (afterRollback only if it rolls back); absent without hooks. */
  hooks?: { hook: HookName; on: string; command: string }[] | undefined;
}

export interface DryRunDeps {
  github?: GithubClient | undefined;
  registry: RegistryClient;
  environment(service: string, environment: string): Promise<EnvironmentView>;
}

/** A target's steps between leaving its load balancer and coming back, once healthy. */
function withTraffic(plan: TrafficPlan, at: TrafficTarget, steps: string[], afterHealthy: number): string[] {
  const drain = at.kind === 'haproxy'
    ? `${setServerState(at.backend, at.server, 'drain')}   # HAProxy ${at.runtimeApi}${at.via ? ` on ${at.via.address}` : ''}, then wait for its sessions to end (at most ${plan.drainTimeoutMs / 1000} s)`
    : `${at.drain}   # on ${at.on.address}`;
  const ready = at.kind === 'haproxy' ? `${setServerState(at.backend, at.server, 'ready')}   # once healthy` : `${at.ready}   # on ${at.on.address}, once healthy`;
  return [drain, ...steps.slice(0, steps.length - afterHealthy), ready, ...steps.slice(steps.length - afterHealthy)];
}

export async function dryRun(kind: 'deploy' | 'rollback', plan: DeployPlan, deps: DryRunDeps, { rollbackTo, promotion }: { rollbackTo?: string | undefined; promotion?: DeployInput['promotion'] } = {}): Promise<DryRunPlan> {
  const env = await deps.environment(plan.service, plan.environment);
  let commit: DryRunPlan['commit'];
  let checks: DryRunPlan['checks'] = { state: 'not required', summary: plan.requireChecks ? 'a rollback returns to a release that passed them' : 'requireChecks is off' };
  let images: DryRunPlan['images'];
  let pinned: PinnedImages = {};

  let schema: DryRunPlan['schema'];
  if (kind === 'rollback') {
    const release = rollbackRelease(env, rollbackTo);
    if (!release) throw new HttpProblem(409, 'Conflict', rollbackTo ? `no known-good version ${rollbackTo} of ${plan.service} in ${plan.environment}` : `${plan.service} in ${plan.environment} has no earlier known-good version to roll back to`);
    schema = schemaStep(plan, env, release);
    commit = { sha: release.sha, ref: rollbackTo ?? 'the known-good release before current' };
    pinned = release.images;
    images = listPinned(release.images, () => '(pinned)');
  } else {
    const ref = refName(plan.ref);
    let sha = refSha(plan.ref);
    if (plan.repo && deps.github) {
      try {
        sha = await deps.github.resolveCommit(plan.repo, ref);
      } catch (error) {
        if (error instanceof GithubError && error.kind === 'not-found') throw new HttpProblem(400, 'Invalid request', `${plan.repo} has no commit ${ref}`, [{ field: sha ? 'sha' : 'tag', message: 'not found on GitHub' }]);
        throw error;
      }
      if (plan.requireChecks) {
        const verdict = await deps.github.checks(plan.repo, sha).catch((error: unknown) => ({ state: 'unknown' as const, summary: (error as Error).message }));
        checks = { state: verdict.state, summary: verdict.summary };
      }
    }
    commit = { sha, ref };
    if (promotion) Object.assign(pinned, promotion.images);
    images = promotion ? listPinned(promotion.images, (tag) => `(promoted)${tag ? ` ${tag}` : ''}`) : await Promise.all(imagesToPin(plan, releaseValues(plan, sha)).map(async ({ name, repository, tag }) => {
      const digest = await deps.registry.resolveDigest(repository, tag).catch(() => undefined);
      const reference = digest ? pinnedReference(repository, tag, digest) : 'missing';
      pinned[name] = digest ? reference : `${repository}:${tag}`;
      return { name, repository, tag, pinned: reference };
    }));
  }
  const values = releaseValues(plan, commit.sha);

  const batches = planBatches(plan.targets, plan.rollout.canary, plan.rollout.batchSize);
  const builtOn = new Set<string>();
  const targets = batches.flatMap((batch, index) => batch.map((t) => {
    const targetValues = targetTemplateValues(t, values);
    const dir = renderTemplate(plan.runtime.dir, targetValues);
    const build = plan.runtime.kind === 'systemd' && !builtOn.has(hostKey(t));
    builtOn.add(hostKey(t));
    const runbook = targetRunbook({
      runtime: plan.runtime, pinned, values: targetValues, dir, migrate: kind === 'deploy' && t === plan.targets[0], build, keep: env.knownGood.map((release) => release.images),
    });
    const steps = runbook.map((step) => (step.kind === 'pin'
      ? `${step.label}: ${Object.entries(step.values).map(([k, v]) => `${k}=${v}`).join(' ')}`
      : `${toShell(step.command)}${step.onceStep ? '   # once per run and target' : ''}${step.afterHealthy ? '   # once healthy, nothing waits for it' : ''}`));
    return {
      name: t.name, batch: index + 1,
      commands: plan.traffic ? withTraffic(plan.traffic, trafficTarget(plan.traffic, t, values), steps, runbook.filter((step) => step.kind !== 'pin' && step.afterHealthy).length) : steps,
      health: renderHealth(plan.health, targetValues).checks,
    };
  }));
  const canary = batches.length > 1 ? batches[0]! : [];
  const gates = canary.flatMap((t) => plan.analysis.map((g) => ({
    name: g.name, on: t.name,
    check: g.scrape ? `scrape ${renderTemplate(g.scrape.url, targetTemplateValues(t, values))} ${g.scrape.metric}` : `PromQL ${renderTemplate(g.prometheus!.query, targetTemplateValues(t, values))}`,
    expect: g.expect ?? [g.max !== undefined ? `max ${g.max}` : '', g.min !== undefined ? `min ${g.min}` : ''].filter(Boolean).join(', '),
  })));

  const hooks = hookSteps(kind, plan, values, env.current?.sha);

  return {
    dryRun: true, kind, service: plan.service, environment: plan.environment, commit, checks, images,
    batches: batches.map((b) => b.map((t) => t.name)), targets, gates,
    bakeMs: canary.length ? plan.rollout.bakeMs : 0, approval: canary.length > 0 && !!plan.rollout.approval,
    queuedBehind: env.active || env.queue.length ? { active: env.active, queue: env.queue } : null,
    ...(schema ? { schema } : {}),
    ...(hooks.length ? { hooks } : {}),
  };
}

/** Images already pinned (a rollback's, a promotion's), as the plan lists them; `label` says where the pin comes from. */
function listPinned(images: PinnedImages, label: (tag: string | undefined) => string): DryRunPlan['images'] {
  return Object.entries(images).map(([name, reference]) => {
    const parsed = parsePinnedReference(reference);
    return { name, repository: parsed?.repository ?? reference.split('@')[0]!, tag: label(parsed?.tag), pinned: reference };
  });
}

/** The hooks as the run would run them: a rollback run has no afterDeploy, it ends with afterRollback. */
function hookSteps(kind: 'deploy' | 'rollback', plan: DeployPlan, release: ReturnType<typeof releaseValues>, previousSha: string | null | undefined): NonNullable<DryRunPlan['hooks']> {
  const values = hookValues(release, previousSha);
  return HOOK_NAMES.filter((name) => !(kind === 'rollback' && name === 'afterDeploy')).flatMap((name) => (plan.hooks?.[name] ?? []).flatMap((hook) => hookBatches(hook, plan.targets, plan.rollout).flat().map((t) => {
    const targetValues = targetTemplateValues(t, values);
    const command = hookCommand(name, renderTemplate(hook.command, targetValues), renderTemplate(plan.runtime.dir, targetValues));
    return { hook: name, on: t.name, command: toShell(command) };
  })));
}

/** What a rollback to `release` does to the schema first, as the rollback would run it. */
function schemaStep(plan: DeployPlan, env: EnvironmentView, release: Release): DryRunPlan['schema'] {
  const to = downgradeTarget(env.schemaRevision, release);
  if (!to || !env.schemaRevision) return undefined;
  const { runtime } = plan;
  const first = plan.targets[0]!;
  const downgrade = runtime.kind === 'compose' && env.current
    ? composeDowngrade(runtime, renderTemplate(runtime.dir, targetTemplateValues(first, releaseValues(plan, release.sha))), imageEnvironment(runtime, env.current.images), to)
    : undefined;
  return { from: env.schemaRevision, to, command: downgrade ? `${toShell(downgrade)}   # on ${first.name}, once, before any target changes` : null };
}
