/**
 * `{host}`, `{name}`, `{instance}`, `{sha}`, `{sha7}`, `{service}`, `{environment}` in config strings.
 * An unknown or unavailable variable is an error rather than a silent empty string: a
 * health URL with a hole in it would probe the wrong thing.
 */
export const TEMPLATE_VARIABLES = ['host', 'name', 'instance', 'sha', 'sha7', 'service', 'environment'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

const PLACEHOLDER = /\{([a-zA-Z0-9_]+)\}/g;

export function templateVariablesIn(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

export function unknownTemplateVariables(template: string): string[] {
  return templateVariablesIn(template).filter((v) => !(TEMPLATE_VARIABLES as readonly string[]).includes(v));
}

/** The values of one target: its host, its name in config and its instance, over `base`. */
export function targetTemplateValues(target: { host: { address: string }; hostName: string; instance?: string | undefined }, base: TemplateValues): TemplateValues {
  return { ...base, host: target.host.address, name: target.hostName, ...(target.instance !== undefined ? { instance: target.instance } : {}) };
}

export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = values[name as TemplateVariable];
    if (value === undefined) throw new Error(`template "${template}" uses {${name}}, which has no value here`);
    return value;
  });
}
