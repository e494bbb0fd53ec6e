import { renderHealth } from '../domain/health.js';
import type { HealthPlan, Target } from '../domain/plan.js';
import type { TemplateValues } from '../domain/templates.js';
import type { StepLogRef } from '../domain/run.js';
import { hostSteps, summary } from './activity-options.js';

/** Waits until the target passes every health check (a step of its own; none when there are no checks). */
export async function checkHealth(target: Target, dir: string, plan: HealthPlan, values: TemplateValues, stepTimeoutMs: number, heartbeatTimeoutMs?: number, log?: StepLogRef): Promise<void> {
  const health = renderHealth(plan, values);
  if (!health.checks.length) return;
  await hostSteps(Math.max(stepTimeoutMs, health.timeoutMs), heartbeatTimeoutMs).awaitHealthy
    .executeWithOptions(summary(`${target.name}: health checks (${health.checks.length})`), [target, dir, health, log]);
}
