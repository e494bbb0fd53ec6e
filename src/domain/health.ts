import type { HealthCheck, HealthPlan } from './plan.js';
import { renderTemplate, type TemplateValues } from './templates.js';

/** A target's health checks with its template values filled in. */
export function renderHealth(health: HealthPlan, values: TemplateValues): HealthPlan {
  const checks = health.checks.map((check): HealthCheck => ('http' in check
    ? { http: { ...check.http, url: renderTemplate(check.http.url, values), bodyContains: check.http.bodyContains === undefined ? undefined : renderTemplate(check.http.bodyContains, values) } }
    : { command: renderTemplate(check.command, values) }));
  return { ...health, checks };
}
