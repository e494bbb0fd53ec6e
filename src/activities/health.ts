import type { HostCommand } from '../commands/shell.js';
import { FailureType } from '../domain/failures.js';
import type { HealthCheck, HealthPlan, Target } from '../domain/plan.js';
import { describeCheck, probeHttp, type ProbeResult } from '../health/checks.js';
import type { SshSession } from '../ssh/session.js';
import { lastLines } from '../ssh/tail.js';
import { permanentFailure } from './failure.js';
import type { HostRunner } from '../ssh/runner.js';
import type { StepLogRef } from '../domain/run.js';
import type { StepLogWriter } from '../step-logs/store.js';
import { heartbeat, pause } from './context.js';

export interface HealthDeps {
  runner: HostRunner;
}

const PROBE_TIMEOUT_MS = 10_000;

/** Probes every check once; the first failing one, or undefined when all pass. */
export async function probeOnce(runner: HostRunner, checks: HealthCheck[], dir: string, session: SshSession | undefined, signal?: AbortSignal, step?: StepLogWriter): Promise<ProbeResult | undefined> {
  for (const check of checks) {
    // Each probe may take up to its timeout: the heartbeat goes before each, not after all.
    heartbeat({ probing: describeCheck(check) });
    let result: ProbeResult;
    if ('http' in check) result = await probeHttp(check.http, PROBE_TIMEOUT_MS);
    else {
      const command: HostCommand = { label: `health: ${check.command}`, argv: [], cwd: dir, script: check.command };
      const outcome = await runner.attempt(session!, command, signal, undefined, step);
      const output = outcome.stderrTail.trim() ? outcome.stderrTail : outcome.stdoutTail;
      result = { ok: outcome.exitCode === 0, check: describeCheck(check), evidence: outcome.exitCode === 0 ? 'exited 0' : `exited ${outcome.exitCode ?? outcome.signal}: ${lastLines(output, 10)}` };
    }
    if (!result.ok) return result;
  }
  return undefined;
}

export const needsSsh = (checks: HealthCheck[]) => checks.some((c) => 'command' in c);

/**
 * Probes every check until all pass together, every `interval`, for at most `timeout`. Fails
 * with the last failing check and its evidence.
 */
export async function waitUntilHealthy(runner: HostRunner, target: Target, dir: string, health: HealthPlan, session?: SshSession, signal?: AbortSignal, step?: StepLogWriter): Promise<{ attempts: number; durationMs: number }> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const failing = await probeOnce(runner, health.checks, dir, session, signal, step);
    if (!failing) {
      step?.note(`probe ${attempt}: ${health.checks.map(describeCheck).join(', ')} passed`);
      return { attempts: attempt, durationMs: Date.now() - started };
    }
    step?.note(`probe ${attempt}: ${failing.check} ${failing.evidence.split('\n')[0]}`);
    step?.flush();
    heartbeat({ target: target.name, attempt, failing: failing.check });
    if (Date.now() - started + health.intervalMs > health.timeoutMs) {
      throw permanentFailure(FailureType.HealthCheckFailed,
        `${target.name} did not become healthy within ${health.timeoutMs} ms: ${failing.check} ${failing.evidence}`,
        { target: target.name, evidence: { check: failing.check, observed: failing.evidence, attempts: attempt } });
    }
    await pause(health.intervalMs);
  }
}

export function healthActivities({ runner }: HealthDeps) {
  return {
    /**
     * Probes every check until all pass together, every `interval`, for at most `timeout`.
     * Fails with the last failing check and its evidence.
     */
    async awaitHealthy(target: Target, dir: string, health: HealthPlan, log?: StepLogRef): Promise<{ attempts: number; durationMs: number }> {
      return runner.logged(log, `health checks (${health.checks.length})`, (step) => needsSsh(health.checks)
        ? runner.withSession(target.host, (session, signal) => waitUntilHealthy(runner, target, dir, health, session, signal, step))
        : waitUntilHealthy(runner, target, dir, health, undefined, undefined, step));
    },
  };
}
