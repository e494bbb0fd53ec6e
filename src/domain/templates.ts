import { FailureType, PlanError } from './failures.js';

/**
 * `{host}`, `{name}`, `{instance}`, `{sha}`, `{sha7}`, `{service}`, `{environment}` in config strings.
 * An unknown or unavailable variable is an error rather than a silent empty string: a
 * health URL with a hole in it would probe the wrong thing.
 */
export const TEMPLATE_VARIABLES = ['host', 'name', 'instance', 'sha', 'sha7', 'service', 'environment'] as const;
/** Hooks also know the release their run replaces (empty on a first deploy). */
export const HOOK_TEMPLATE_VARIABLES = [...TEMPLATE_VARIABLES, 'previousSha'] as const;
export type TemplateVariable = (typeof HOOK_TEMPLATE_VARIABLES)[number];
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

const PLACEHOLDER = /\{([a-zA-Z0-9_]+)\}/g;

export function templateVariablesIn(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

export function unknownTemplateVariables(template: string, known: readonly string[] = TEMPLATE_VARIABLES): string[] {
  return templateVariablesIn(template).filter((v) => !known.includes(v));
}

/** The values of one target: its host, its name in config and its instance, over `base`. */
export function targetTemplateValues(target: { host: { address: string }; hostName: string; instance?: string | undefined }, base: TemplateValues): TemplateValues {
  return { ...base, host: target.host.address, name: target.hostName, ...(target.instance !== undefined ? { instance: target.instance } : {}) };
}

/** The variables `template` uses that have no value in `values`. */
export function missingTemplateVariables(template: string, values: TemplateValues): string[] {
  return [...new Set(templateVariablesIn(template).filter((name) => values[name as TemplateVariable] === undefined))];
}

export function renderTemplate(template: string, values: TemplateValues): string {
  const missing = missingTemplateVariables(template, values);
  if (missing.length) {
    throw new PlanError(FailureType.TemplateUnresolved, `template "${template}" uses ${missing.map((m) => `{${m}}`).join(', ')}, which has no value in this run`);
  }
  return template.replace(PLACEHOLDER, (_whole, name: string) => values[name as TemplateVariable]!);
}
