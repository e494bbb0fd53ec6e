import { evaluateGate, takeBaseline, type AnalysisGate, type Baseline } from '../analysis/gates.js';
import { FailureType } from '../domain/failures.js';
import type { HealthPlan, Target } from '../domain/plan.js';
import { permanentFailure } from './failure.js';
import { needsSsh, probeOnce } from './health.js';
import type { HostRunner } from '../ssh/runner.js';
import { heartbeat, heartbeatDetails, pause } from './context.js';

/** A canary target with its checks and gates rendered for it. */
export interface BakeTarget {
  target: Target;
  dir: string;
  health: HealthPlan;
  gates: AnalysisGate[];
}

interface BakeProgress {
  elapsedMs: number;
  rounds: number;
  baselines: Record<string, Baseline | undefined>;
}

export function bakeActivities({ runner }: { runner: HostRunner }) {
  return {
    /**
     * The bake: for `bakeMs`, every `intervalMs`, the canary's health checks and metric gates
     * must all pass. Progress (time baked, metric baselines) rides on heartbeats, so a bake
     * interrupted by a worker crash resumes where it was instead of starting over.
     */
    async bake(targets: BakeTarget[], bakeMs: number, intervalMs: number): Promise<{ rounds: number; elapsedMs: number }> {
      const previous = heartbeatDetails<BakeProgress>();
      const startedAt = Date.now() - (previous?.elapsedMs ?? 0);
      const baselines = previous?.baselines ?? {};
      let rounds = previous?.rounds ?? 0;
      for (const { target, gates } of targets) {
        for (const gate of gates) {
          const key = `${target.id}/${gate.name}`;
          if (!(key in baselines)) {
            try {
              baselines[key] = await takeBaseline(gate, Date.now());
            } catch (error) {
              throw permanentFailure(FailureType.AnalysisFailed, `analysis gate ${gate.name} on ${target.name}: ${(error as Error).message}`, { target: target.name, evidence: { gate: gate.name, observed: (error as Error).message } });
            }
          }
        }
      }
      for (;;) {
        rounds++;
        for (const { target, dir, health, gates } of targets) {
          const probe = (session?: Parameters<typeof probeOnce>[3]) => probeOnce(runner, health.checks, dir, session);
          const unhealthy = needsSsh(health.checks) ? await runner.withSession(target.host, (s) => probe(s)) : await probe();
          if (unhealthy) {
            throw permanentFailure(FailureType.HealthCheckFailed, `${target.name} became unhealthy during the bake: ${unhealthy.check} ${unhealthy.evidence}`,
              { target: target.name, step: 'bake', evidence: { check: unhealthy.check, observed: unhealthy.evidence } });
          }
          for (const gate of gates) {
            const verdict = await evaluateGate(gate, baselines[`${target.id}/${gate.name}`], Date.now());
            if (!verdict.ok) {
              throw permanentFailure(FailureType.AnalysisFailed, `analysis gate ${gate.name} failed on ${target.name}: ${verdict.evidence}`,
                { target: target.name, step: 'bake', evidence: { gate: gate.name, observed: verdict.evidence } });
            }
          }
        }
        const elapsedMs = Date.now() - startedAt;
        heartbeat({ elapsedMs, rounds, baselines } satisfies BakeProgress);
        if (elapsedMs >= bakeMs) return { rounds, elapsedMs };
        await pause(Math.min(intervalMs, bakeMs - elapsedMs));
      }
    },
  };
}
