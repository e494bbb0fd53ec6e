import { planBatches } from './rollout.js';
import type { TemplateValues } from './templates.js';

/**
 * The runbook's steps around a deploy (docs/hooks.md): commands of the operator's own, run
 * over SSH in the runtime's directory before the first target changes, once the fleet is
 * healthy, or after a rollback.
 */
export const HOOK_NAMES = ['beforeDeploy', 'afterDeploy', 'afterRollback'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export interface Hook {
  /** A shell snippet, with the template variables and `{previousSha}`, not yet rendered. */
  command: string;
  /** `first`: the run's first target; `all`: every target, in the run's batches. */
  on: 'first' | 'all';
}

export type HooksPlan = Record<HookName, Hook[]>;

export const NO_HOOKS: HooksPlan = { beforeDeploy: [], afterDeploy: [], afterRollback: [] };

/** A service's hooks with an environment's lists over them: a list the environment gives replaces the service's, even empty. */
export function mergeHooks(service: Partial<HooksPlan> | undefined, environment: Partial<HooksPlan> | undefined): HooksPlan {
  return {
    beforeDeploy: environment?.beforeDeploy ?? service?.beforeDeploy ?? [],
    afterDeploy: environment?.afterDeploy ?? service?.afterDeploy ?? [],
    afterRollback: environment?.afterRollback ?? service?.afterRollback ?? [],
  };
}

/** Where a hook runs, batch by batch: the run's first target alone, or every target in the run's batches. */
export function hookBatches<T>(hook: Hook, targets: T[], rollout: { canary: number | string; batchSize: number | string }): T[][] {
  if (!targets.length) return [];
  return hook.on === 'first' ? [[targets[0]!]] : planBatches(targets, rollout.canary, rollout.batchSize);
}

/**
 * A hook's values: the run's release (`{sha}`), and in `{previousSha}` the one it replaces,
 * empty when there is none (a first deploy, a release deployed by tag).
 */
export function hookValues(release: TemplateValues, previousSha: string | null | undefined): TemplateValues {
  return { ...release, previousSha: previousSha ?? '' };
}
