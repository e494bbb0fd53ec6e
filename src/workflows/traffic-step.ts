import type { TrafficTarget } from '../domain/plan.js';
import type { StepLogRef } from '../domain/run.js';
import { describeTrafficTarget, type DrainStep } from '../domain/traffic.js';
import { hostSteps, summary } from './activity-options.js';

interface StepTimes { stepTimeoutMs: number; heartbeatTimeoutMs?: number | undefined }

/**
 * A target leaves its load balancer (a step of its own). It may wait `drainTimeout` twice: for
 * another server to take requests, then for its own sessions to end.
 */
export async function drainFromBalancer(name: string, drain: DrainStep, times: StepTimes, log?: StepLogRef): Promise<void> {
  await hostSteps(2 * drain.drainTimeoutMs + times.stepTimeoutMs, times.heartbeatTimeoutMs).drainTarget
    .executeWithOptions(summary(`${name}: drain (${describeTrafficTarget(drain.at)})`), [drain, log]);
}

/** A healthy target goes back in (a step of its own), waiting up to `drainTimeoutMs` for the balancer to see it up. */
export async function readyInBalancer(name: string, at: TrafficTarget, drainTimeoutMs: number, times: StepTimes, log?: StepLogRef, when = ''): Promise<void> {
  await hostSteps(drainTimeoutMs + times.stepTimeoutMs, times.heartbeatTimeoutMs).readyTarget
    .executeWithOptions(summary(`${name}: ready (${describeTrafficTarget(at)})${when}`), [at, drainTimeoutMs, log]);
}
