import type { Target, TrafficPlan, TrafficTarget } from './plan.js';
import { renderTemplate, targetTemplateValues, type TemplateValues } from './templates.js';

/**
 * A target's drain, as its update runs it: where, how long to wait for open sessions, and what
 * else is drained at the same time (a batch drains together; the balancer must keep a server).
 */
export interface DrainStep {
  at: TrafficTarget;
  drainTimeoutMs: number;
  /** The servers of the same backend drained together with this one (itself included). */
  together: string[];
  /** The environment has this one target: draining it may leave the backend with none. */
  onlyTarget: boolean;
}

/** `target`'s place behind the balancer, its templates rendered with the target's values. */
export function trafficTarget(plan: TrafficPlan, target: Target, base: TemplateValues): TrafficTarget {
  const values = targetTemplateValues(target, base);
  if (plan.kind === 'haproxy') {
    return { kind: 'haproxy', runtimeApi: plan.runtimeApi, via: plan.via, backend: plan.backend, server: renderTemplate(plan.server, values) };
  }
  return { kind: 'command', drain: renderTemplate(plan.drain, values), ready: renderTemplate(plan.ready, values), on: plan.on ?? target.host };
}

/** The drain steps of targets updated together (one batch). */
export function drainSteps(plan: TrafficPlan | undefined, targets: Target[], base: TemplateValues, environmentSize: number): Map<string, DrainStep> {
  const steps = new Map<string, DrainStep>();
  if (!plan) return steps;
  const at = targets.map((t) => trafficTarget(plan, t, base));
  const together = at.flatMap((a) => (a.kind === 'haproxy' ? [a.server] : []));
  targets.forEach((t, i) => steps.set(t.id, { at: at[i]!, drainTimeoutMs: plan.drainTimeoutMs, together, onlyTarget: environmentSize === 1 }));
  return steps;
}

/** How the step log, the Temporal UI and the dry run name the balancer a target leaves. */
export function describeTrafficTarget(at: TrafficTarget): string {
  return at.kind === 'haproxy' ? `HAProxy ${at.backend}/${at.server}` : `"${at.drain}" on ${at.on.address}`;
}
