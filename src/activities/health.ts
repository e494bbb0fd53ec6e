import type { HostCommand } from '../commands/shell.js';
import { FailureType } from '../domain/failures.js';
import type { HealthCheck, HealthPlan, Target } from '../domain/plan.js';
import { describeCheck, probeHttp, type ProbeResult } from '../health/checks.js';
import type { SshSession } from '../ssh/session.js';
import { lastLines } from '../ssh/tail.js';
import { permanentFailure } from './failure.js';
import { heartbeat, type HostRunner } from './ssh.js';
import { pause } from './timing.js';

export interface HealthDeps {
  runner: HostRunner;
}

const PROBE_TIMEOUT_MS = 10_000;

export function healthActivities({ runner }: HealthDeps) {
  async function probe(check: HealthCheck, dir: string, session: SshSession | undefined, signal?: AbortSignal): Promise<ProbeResult> {
    if ('http' in check) return probeHttp(check.http, PROBE_TIMEOUT_MS);
    const command: HostCommand = { label: `health: ${check.command}`, argv: [], cwd: dir, script: check.command };
    const result = await runner.attempt(session!, command, signal);
    const output = result.stderrTail.trim() ? result.stderrTail : result.stdoutTail;
    return { ok: result.exitCode === 0, check: describeCheck(check), evidence: result.exitCode === 0 ? 'exited 0' : `exited ${result.exitCode ?? result.signal}: ${lastLines(output, 10)}` };
  }

  return {
    /**
     * Probes every check until all pass together, every `interval`, for at most `timeout`.
     * Fails with the last failing check and its evidence.
     */
    async awaitHealthy(target: Target, dir: string, health: HealthPlan): Promise<{ attempts: number; durationMs: number }> {
      const started = Date.now();
      const needsSsh = health.checks.some((c) => 'command' in c);
      const loop = async (session?: SshSession, signal?: AbortSignal) => {
        for (let attempt = 1; ; attempt++) {
          const results: ProbeResult[] = [];
          for (const check of health.checks) results.push(await probe(check, dir, session, signal));
          const failing = results.find((r) => !r.ok);
          if (!failing) return { attempts: attempt, durationMs: Date.now() - started };
          heartbeat({ target: target.name, attempt, failing: failing.check });
          if (Date.now() - started + health.intervalMs > health.timeoutMs) {
            throw permanentFailure(FailureType.HealthCheckFailed,
              `${target.name} did not become healthy within ${health.timeoutMs} ms: ${failing.check} ${failing.evidence}`,
              { target: target.name, check: failing.check, evidence: failing.evidence, attempts: attempt });
          }
          await pause(health.intervalMs);
        }
      };
      return needsSsh ? runner.withSession(target.host, loop) : loop();
    },
  };
}
