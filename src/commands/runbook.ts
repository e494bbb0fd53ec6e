import { composeMigrate, composePull, composeRevision, composeUp, imageEnvironment, imagePrune, keepReleaseImages } from './compose.js';
import type { HostCommand } from './shell.js';
import { buildSteps, restartUnit } from './systemd.js';
import { renderHealth } from '../domain/health.js';
import type { DeployPlan, HealthPlan, PinnedImages } from '../domain/plan.js';
import { renderTemplate, type TemplateValues } from '../domain/templates.js';

/**
 * One target's runbook as data, in order: what a target's update carries out step by
 * step, and what a dry run shows. Health checks follow it.
 */
export type RunbookStep =
  /** Set the pinned image references in the env file (only the lines it names change). */
  | { kind: 'pin'; label: string; file: string; values: Record<string, string> }
  /**
   * A command; with `onceStep`, it runs once per run and target whatever the retries. With
   * `afterHealthy`, nothing waits for it: it runs once the target is healthy (an image prune).
   */
  | {
    kind: 'run'; command: HostCommand; onceStep?: string; afterHealthy?: boolean;
    /** Its output names the schema's revision (`revision`), which the update answers. */
    readsRevision?: boolean;
  };

export interface RunbookInput {
  runtime: DeployPlan['runtime'];
  pinned: PinnedImages;
  values: TemplateValues;
  /** The host's directory, rendered. */
  dir: string;
  /** Migrations run on the first target of a deploy only. */
  migrate: boolean;
  /** systemd: the build runs once per host, with its first instance. */
  build: boolean;
  /**
   * compose with `prune`: the releases whose images stay on the host, newest first (this one
   * and the last known-good ones); the prune removes the rest.
   */
  keep?: PinnedImages[] | undefined;
}

export function targetRunbook({ runtime, pinned, values, dir, migrate, build, keep }: RunbookInput): RunbookStep[] {
  const steps: RunbookStep[] = [];
  if (runtime.kind === 'compose') {
    const env = imageEnvironment(runtime, pinned);
    if (Object.keys(env).length) steps.push({ kind: 'pin', label: `pin images in ${runtime.envFile}`, file: runtime.envFile, values: env });
    steps.push({ kind: 'run', command: composePull(runtime, dir, env) });
    const migration = migrate ? composeMigrate(runtime, dir, env) : undefined;
    if (migration) steps.push({ kind: 'run', command: migration, onceStep: 'migrate' });
    const revision = migrate ? composeRevision(runtime, dir, env) : undefined;
    if (revision) steps.push({ kind: 'run', command: revision, readsRevision: true });
    steps.push({ kind: 'run', command: composeUp(runtime, dir, env) });
    if (runtime.prune) {
      const kept = distinctReleases([pinned, ...(keep ?? [])]).slice(0, runtime.keepReleases);
      const tagging = keepReleaseImages(dir, kept, { service: values.service ?? '', environment: values.environment ?? '' });
      if (tagging) steps.push({ kind: 'run', command: tagging, afterHealthy: true });
      steps.push({ kind: 'run', command: imagePrune(dir), afterHealthy: true });
    }
  } else {
    if (build) buildSteps(dir, runtime.build.map((b) => renderTemplate(b, values))).forEach((command, i) => steps.push({ kind: 'run', command, onceStep: `build/${i}` }));
    steps.push({ kind: 'run', command: restartUnit(dir, renderTemplate(runtime.unit, values)) });
  }
  return steps;
}

function distinctReleases(releases: PinnedImages[]): PinnedImages[] {
  return releases.filter((release, i) => releases.findIndex((r) => JSON.stringify(r) === JSON.stringify(release)) === i);
}

/**
 * What one target's update runs, in order: the runbook's steps up to its health checks, then
 * the checks (when there are any). Indices into this list are what an update resumes from.
 */
export type UpdateStep = RunbookStep | { kind: 'health'; label: string };

export function updateSteps(runbook: RunbookStep[], healthChecks: number): UpdateStep[] {
  const steps: UpdateStep[] = runbook.filter((s) => !(s.kind === 'run' && s.afterHealthy));
  if (healthChecks) steps.push({ kind: 'health', label: `health checks (${healthChecks})` });
  return steps;
}

/** One target's update, rendered: what the workflow cuts into activities, and each activity runs as given. */
export interface TargetUpdate {
  dir: string;
  steps: UpdateStep[];
  health: HealthPlan;
  /** What runs once the target is healthy, nothing waiting for it (an image prune). */
  afterHealthy: HostCommand[];
}

/**
 * One target's update, rendered for its values, once, by the workflow: its directory, its
 * steps, its health checks and what follows them. Throws a `PlanError` when a template has no
 * value.
 */
export function targetUpdate(input: Omit<RunbookInput, 'dir'> & { health: HealthPlan }): TargetUpdate {
  const dir = renderTemplate(input.runtime.dir, input.values);
  const health = renderHealth(input.health, input.values);
  const runbook = targetRunbook({ ...input, dir });
  return { dir, steps: updateSteps(runbook, health.checks.length), health, afterHealthy: afterHealthySteps(runbook) };
}

/** How a step reads in the UI, the step log and a failure. */
export function stepLabel(step: UpdateStep): string {
  return step.kind === 'run' ? step.command.label : step.label;
}

/**
 * How an update's steps split into activities, as `[from, to)` ranges of `steps`, from step
 * `start` on: a step that must run once per run (a migration, a build), or whose answer the
 * run keeps (the schema's revision), is an activity of its own; the idempotent steps around
 * it share one, over one SSH connection.
 */
export function updateSegments(steps: UpdateStep[], start = 0): Array<{ from: number; to: number }> {
  const segments: Array<{ from: number; to: number }> = [];
  let from = start;
  for (let i = start; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.kind !== 'run' || !(step.onceStep || step.readsRevision)) continue;
    if (i > from) segments.push({ from, to: i });
    segments.push({ from: i, to: i + 1 });
    from = i + 1;
  }
  if (from < steps.length) segments.push({ from, to: steps.length });
  return segments;
}

/** The steps nothing waits for, run once the target is healthy. */
export function afterHealthySteps(runbook: RunbookStep[]): HostCommand[] {
  return runbook.flatMap((s) => (s.kind === 'run' && s.afterHealthy ? [s.command] : []));
}
