import { composeMigrate, composePull, composeUp, imageEnvironment, imagePrune } from './compose.js';
import type { HostCommand } from './shell.js';
import { buildSteps, restartUnit } from './systemd.js';
import type { DeployPlan, PinnedImages } from '../domain/plan.js';
import { renderTemplate, type TemplateValues } from '../domain/templates.js';

/**
 * One target's runbook (SPEC §3) as data, in order: what `update-target` carries out step by
 * step, and what a dry run shows. Health checks follow it.
 */
export type RunbookStep =
  /** Set the pinned image references in the env file (only the lines it names change). */
  | { kind: 'pin'; label: string; file: string; values: Record<string, string> }
  /** A command; with `onceStep`, it runs once per run and target whatever the retries. */
  | { kind: 'run'; command: HostCommand; onceStep?: string };

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
}

export function targetRunbook({ runtime, pinned, values, dir, migrate, build }: RunbookInput): RunbookStep[] {
  const steps: RunbookStep[] = [];
  if (runtime.kind === 'compose') {
    const env = imageEnvironment(runtime, pinned);
    if (Object.keys(env).length) steps.push({ kind: 'pin', label: `pin images in ${runtime.envFile}`, file: runtime.envFile, values: env });
    steps.push({ kind: 'run', command: composePull(runtime, dir, env) });
    const migration = migrate ? composeMigrate(runtime, dir, env) : undefined;
    if (migration) steps.push({ kind: 'run', command: migration, onceStep: 'migrate' });
    steps.push({ kind: 'run', command: composeUp(runtime, dir, env) });
    if (runtime.prune) steps.push({ kind: 'run', command: imagePrune(dir) });
  } else {
    if (build) buildSteps(dir, runtime.build.map((b) => renderTemplate(b, values))).forEach((command, i) => steps.push({ kind: 'run', command, onceStep: `build/${i}` }));
    steps.push({ kind: 'run', command: restartUnit(dir, renderTemplate(runtime.unit, values)) });
  }
  return steps;
}
