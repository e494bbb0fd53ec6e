import type { Target } from '../../domain/plan.js';
import { releaseValues } from '../../domain/release.js';
import { renderTemplate, targetTemplateValues } from '../../domain/templates.js';
import { describeTrafficTarget, trafficTarget } from '../../domain/traffic.js';
import { hostSteps, summary } from '../activity-options.js';
import type { DeployInput } from '../contract.js';
import { describeFailure } from '../failure-details.js';
import { checkHealth } from '../health-step.js';
import type { Batches } from './batches.js';
import type { Release } from './preflight.js';
import type { RunState } from './run-state.js';

/** At the end of a run, how long a drained target's health is checked once more before it is left out. */
const LAST_CHECK_MS = 10_000;

/**
 * The end of a run, whatever its outcome: every target it took out of the load balancer and did
 * not put back (an update cut short, a failed target) is checked once more, and put back when
 * healthy. One that is not healthy, or that the balancer will not take back, stays out and is
 * in `leftToFix`, saying so: a target that is not healthy never gets traffic.
 */
export async function putBackDrained(input: DeployInput, state: RunState, batches: Batches, release: Release | undefined): Promise<void> {
  const { plan } = input;
  const { traffic } = plan;
  if (!traffic || !batches.drained.size) return;
  const { run } = state;
  const previous = releaseValues(plan, state.ledger?.current?.sha);
  await Promise.all(plan.targets.filter((t) => batches.drained.has(t.id)).map(async (t) => {
    const target = state.target(t.id);
    const base = target.status === 'healthy' && release ? release.values : previous;
    const values = targetTemplateValues(t, base);
    const at = trafficTarget(traffic, t, base);
    const where = describeTrafficTarget(at);
    const log = { run: run.id, target: t.id, phase: run.phase === 'rollback' ? 'rollback' as const : 'deploy' as const };
    try {
      await checkHealth(t, renderTemplate(plan.runtime.dir, values), { ...plan.health, timeoutMs: Math.min(plan.health.timeoutMs, LAST_CHECK_MS) }, values, input.stepTimeoutMs, input.heartbeatTimeoutMs, log);
    } catch (error) {
      const failure = describeFailure(error);
      leftOut(state, t, failure.type, `left out of ${where}: not healthy (${failure.message})`);
      return;
    }
    try {
      await hostSteps(traffic.drainTimeoutMs + input.stepTimeoutMs, input.heartbeatTimeoutMs).readyTarget.executeWithOptions(summary(`${t.name}: ready (${where}), as the run ends`), [at, traffic.drainTimeoutMs, log]);
      batches.drained.delete(t.id);
    } catch (error) {
      const failure = describeFailure(error);
      leftOut(state, t, failure.type, `left out of ${where}: ${failure.message}`);
    }
  }));
  state.touch();
}

function leftOut(state: RunState, t: Target, type: string, error: string): void {
  const { run } = state;
  const target = state.target(t.id);
  const listed = run.leftToFix?.find((l) => l.target === t.name);
  if (listed) listed.error = `${listed.error}; ${error}`;
  else run.leftToFix = [...(run.leftToFix ?? []), { target: t.name, version: target.version ?? 'unknown', error, type }];
}
