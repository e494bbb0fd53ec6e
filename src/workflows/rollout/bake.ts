import { renderHealth } from '../../domain/health.js';
import type { DeployPlan, Target } from '../../domain/plan.js';
import { renderTemplate, targetTemplateValues, type TemplateValues } from '../../domain/templates.js';
import { hostSteps, summary } from '../activity-options.js';

/**
 * The canary's bake: health checks and metric gates probed together for `bake`, each gate's
 * templates rendered for its target. One activity, so that a gate failing ends it at once.
 */
export async function bake(plan: DeployPlan, canary: Target[], values: TemplateValues, stepTimeoutMs: number, heartbeatTimeoutMs: number | undefined): Promise<void> {
  const targets = canary.map((t) => {
    const own = targetTemplateValues(t, values);
    return {
      target: t, dir: renderTemplate(plan.runtime.dir, own), health: renderHealth(plan.health, own),
      gates: plan.analysis.map((g) => ({
        ...g,
        scrape: g.scrape ? { ...g.scrape, url: renderTemplate(g.scrape.url, own) } : undefined,
        prometheus: g.prometheus ? { ...g.prometheus, query: renderTemplate(g.prometheus.query, own) } : undefined,
      })),
    };
  });
  const interval = Math.max(plan.health.intervalMs, 500);
  const gates = plan.analysis.length ? ` and ${plan.analysis.map((g) => g.name).join(', ')}` : '';
  await hostSteps(plan.rollout.bakeMs + stepTimeoutMs, heartbeatTimeoutMs).bake.executeWithOptions(
    summary(`bake ${canary.map((t) => t.name).join(', ')} for ${Math.round(plan.rollout.bakeMs / 1000)} s: health${gates}`),
    [targets, plan.rollout.bakeMs, interval],
  );
}
