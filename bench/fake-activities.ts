import type { Activities } from '../src/activities/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fast fake runtime for benchmarks: every host step takes `stepMs`, nothing else takes time. */
export function fakeActivities(stepMs: number): Partial<Activities> {
  return {
    runOnHost: async () => { await sleep(stepMs); return { durationMs: stepMs }; },
    updateEnvFile: async () => ({ changed: true }),
    awaitHealthy: async () => ({ attempts: 1, durationMs: 0 }),
    resolveImages: async () => ({}),
    bake: async () => ({ rounds: 0, elapsedMs: 0 }),
  };
}
