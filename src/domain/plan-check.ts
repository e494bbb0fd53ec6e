import { refSha, type DeployPlan } from './plan.js';
import { missingTemplateVariables, targetTemplateValues, type TemplateValues } from './templates.js';

/** A template of the plan that some target of the run cannot fill. */
export interface UnfillableTemplate {
  /** Where the template is in the service's config: `health.checks[0].http.url`. */
  field: string;
  template: string;
  variables: string[];
  /** The first target it fails for, when it depends on the target. */
  target?: string | undefined;
}

/** Every template a deploy renders, by where it is in the service's config. */
function templatesOf(plan: DeployPlan): { field: string; template: string }[] {
  const out: { field: string; template: string }[] = [{ field: 'runtime.dir', template: plan.runtime.dir }];
  if (plan.runtime.kind === 'systemd') {
    out.push({ field: 'runtime.unit', template: plan.runtime.unit });
    plan.runtime.build.forEach((template, i) => out.push({ field: `runtime.build[${i}]`, template }));
  }
  plan.health.checks.forEach((check, i) => {
    if ('command' in check) return out.push({ field: `health.checks[${i}].command`, template: check.command });
    out.push({ field: `health.checks[${i}].http.url`, template: check.http.url });
    if (check.http.bodyContains !== undefined) out.push({ field: `health.checks[${i}].http.bodyContains`, template: check.http.bodyContains });
  });
  plan.analysis.forEach((gate, i) => {
    if (gate.scrape) out.push({ field: `analysis[${i}].scrape.url`, template: gate.scrape.url });
    if (gate.prometheus) out.push({ field: `analysis[${i}].prometheus.query`, template: gate.prometheus.query });
  });
  return out;
}

/**
 * The templates a deploy could not fill, found before anything runs: `{sha}` when deploying a
 * service without a `repo` by tag (no commit is ever known), `{instance}` on a host without
 * instances, a tag template that names a host. A workflow that met one of them half-way
 * through a rollout would have to stop there.
 */
export function unfillableTemplates(plan: DeployPlan): UnfillableTemplate[] {
  const shaKnown = refSha(plan.ref) !== null || !!plan.repo;
  const base: TemplateValues = { service: plan.service, environment: plan.environment, ...(shaKnown ? { sha: 'x', sha7: 'x' } : {}) };
  const found: UnfillableTemplate[] = [];
  if (refSha(plan.ref) !== null && plan.images.length) {
    const variables = missingTemplateVariables(plan.tagTemplate, base);
    if (variables.length) found.push({ field: 'tag', template: plan.tagTemplate, variables });
  }
  for (const { field, template } of templatesOf(plan)) {
    for (const target of plan.targets) {
      const variables = missingTemplateVariables(template, targetTemplateValues(target, base));
      if (!variables.length) continue;
      found.push({ field, template, variables, target: target.name });
      break;
    }
  }
  return found;
}

/** Why a variable has no value, in words an operator can act on. */
export function whyMissing(variable: string, field: string): string {
  if (variable === 'sha' || variable === 'sha7') return 'no commit is known when a service without a repo is deployed by tag';
  if (field === 'tag') return 'the image tag is resolved once per deploy, not per host';
  if (variable === 'instance') return 'the target has no instances';
  return 'it has no value here';
}
