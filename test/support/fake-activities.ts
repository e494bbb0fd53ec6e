import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../src/activities/index.js';
import type { HostUpdate } from '../../src/activities/runbook.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A fast fake runtime for benchmarks: each host command of a target's update (pull, up) takes
 * `stepMs`; pinning the env file, health checks and everything else take no time. With
 * `before`, each update first waits for it (a test holding a run where it is).
 */
export function fakeActivities(stepMs: number, options: {
  before?: () => Promise<void>;
  /** The update of these targets fails its health checks, as a real one would. */
  unhealthy?: (update: HostUpdate) => boolean;
} = {}): Partial<Activities> {
  return {
    updateHost: async (update: HostUpdate) => {
      await options.before?.();
      if (options.unhealthy?.(update)) {
        throw ApplicationFailure.create({ type: 'HealthCheckFailed', message: `${update.target.name} did not become healthy`, nonRetryable: true, details: [{ stepIndex: update.from + update.steps.length - 1, step: 'health checks (1)', target: update.target.name }] });
      }
      for (const step of update.steps) if (step.kind === 'run') await sleep(stepMs);
      return { durationMs: 0 };
    },
    runAfterHealthy: async () => undefined,
    resolveImages: async () => ({}),
    bake: async () => ({ rounds: 0, elapsedMs: 0 }),
  };
}
