import type { DeployPlan, Target } from '../../domain/plan.js';
import { releaseValues } from '../../domain/release.js';
import type { StepLogRef } from '../../domain/run.js';
import { renderTemplate, targetTemplateValues, type TemplateValues } from '../../domain/templates.js';
import { describeTrafficTarget, trafficTarget } from '../../domain/traffic.js';
import { housekeeping } from '../activity-options.js';
import { readyInBalancer } from '../traffic-step.js';
import type { DeployInput } from '../contract.js';
import { describeFailure } from '../failure-details.js';
import { checkHealth } from '../health-step.js';
import type { Batches } from './batches.js';
import type { Release } from './preflight.js';
import type { RunState } from './run-state.js';

/** At the end of a run, how long a drained target's health is checked once more before it is left out. */
const LAST_CHECK_MS = 10_000;

interface LeftOut {
  target: Target;
  type: string;
  error: string;
}

/**
 * The end of a run, whatever its outcome: every target it took out of the load balancer and did
 * not put back (an update cut short, a failed target) is checked once more, and put back when
 * healthy. One that is not healthy, or that the balancer will not take back, stays out and is
 * in `leftToFix`, saying so: a target that is not healthy never gets traffic.
 */
export async function putBackDrained(input: DeployInput, state: RunState, batches: Batches, release: Release | undefined): Promise<void> {
  const { plan } = input;
  if (!plan.traffic || !batches.drained.size) return;
  const { run } = state;
  const previous = releaseValues(plan, state.ledger?.current?.sha);
  const targets = plan.targets.filter((t) => batches.drained.has(t.id));
  const left = await putBack(input, targets.map((t) => ({
    target: t,
    values: state.target(t.id).status === 'healthy' && release ? release.values : previous,
    log: { run: run.id, target: t.id, phase: run.phase === 'rollback' ? 'rollback' : 'deploy' },
  })), 'as the run ends');
  for (const t of targets) if (!left.some((l) => l.target === t)) batches.drained.delete(t.id);
  for (const { target: t, type, error } of left) {
    const listed = run.leftToFix?.find((l) => l.target === t.name);
    if (listed) listed.error = `${listed.error}; ${error}`;
    else run.leftToFix = [...(run.leftToFix ?? []), { target: t.name, version: state.target(t.id).version ?? 'unknown', error, type }];
  }
  state.touch();
}

/**
 * A run that ended without its own cleanup (terminated by an admin's `release`): what it had
 * drained, asked of its history, goes back when healthy. Answers a note for the ledger's
 * history, naming what stays out.
 */
export async function putBackAfterLostRun(input: DeployInput, runId: string, currentSha: string | null | undefined): Promise<string | undefined> {
  const { plan } = input;
  if (!plan.traffic) return undefined;
  let ids: string[];
  try {
    ids = await housekeeping.drainedTargetsOf(runId);
  } catch (error) {
    return `it may have left targets out of their load balancer (${describeFailure(error).message}): check it`;
  }
  const targets = plan.targets.filter((t) => ids.includes(t.id));
  if (!targets.length) return undefined;
  const values = releaseValues(plan, currentSha);
  const left = await putBack(input, targets.map((t) => ({ target: t, values })), 'after its run was ended');
  const back = targets.filter((t) => !left.some((l) => l.target === t)).map((t) => t.name);
  return [
    ...(back.length ? [`put back in the load balancer: ${back.join(', ')}`] : []),
    ...left.map((l) => `${l.target.name} ${l.error}`),
  ].join('; ');
}

/** Each target's health checked once more, then readied; answers those left out, and why. */
async function putBack(input: Pick<DeployInput, 'plan' | 'stepTimeoutMs' | 'heartbeatTimeoutMs'>, targets: Array<{ target: Target; values: TemplateValues; log?: StepLogRef }>, when: string): Promise<LeftOut[]> {
  const { plan, stepTimeoutMs, heartbeatTimeoutMs } = input;
  const traffic = plan.traffic!;
  const left: LeftOut[] = [];
  await Promise.all(targets.map(async ({ target: t, values: base, log }) => {
    const values = targetTemplateValues(t, base);
    const at = trafficTarget(traffic, t, base);
    const where = describeTrafficTarget(at);
    try {
      await checkHealth(t, renderTemplate(plan.runtime.dir, values), lastCheck(plan), values, stepTimeoutMs, heartbeatTimeoutMs, log);
    } catch (error) {
      const failure = describeFailure(error);
      left.push({ target: t, type: failure.type, error: `left out of ${where}: not healthy (${failure.message})` });
      return;
    }
    try {
      await readyInBalancer(t.name, at, traffic.drainTimeoutMs, { stepTimeoutMs, heartbeatTimeoutMs }, log, `, ${when}`);
    } catch (error) {
      const failure = describeFailure(error);
      left.push({ target: t, type: failure.type, error: `left out of ${where}: ${failure.message}` });
    }
  }));
  return left;
}

const lastCheck = (plan: DeployPlan) => ({ ...plan.health, timeoutMs: Math.min(plan.health.timeoutMs, LAST_CHECK_MS) });
