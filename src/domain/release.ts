import type { DeployPlan, ImageSpec } from './plan.js';
import { renderTemplate, type TemplateValues } from './templates.js';

/**
 * What a release is made of before its images are pinned. The dry run and the engine's
 * preflight both compute it here, so that the plan a dry run shows is the one the run follows.
 */

/** The template values of a release: its service and environment, and its commit once known. */
export function releaseValues(plan: Pick<DeployPlan, 'service' | 'environment'>, sha: string | null | undefined): TemplateValues {
  return { service: plan.service, environment: plan.environment, ...(sha ? { sha, sha7: sha.slice(0, 7) } : {}) };
}

/** Each image of a deploy at the tag it is pinned from: the tag asked for, or the tag template filled in for the commit. */
export function imagesToPin(plan: DeployPlan, values: TemplateValues): ImageSpec[] {
  if (!plan.images.length) return [];
  const tag = 'tag' in plan.ref ? plan.ref.tag : renderTemplate(plan.tagTemplate, values);
  return plan.images.map((image) => ({ ...image, tag }));
}
