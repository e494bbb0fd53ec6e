/**
 * Shared, lazily started test fixtures (Temporal, SSH hosts, registry, GitHub). Each is
 * started once by the first suite that asks for it and stopped when the run ends.
 */
type Running = Map<string, { value: Promise<unknown>; stop: () => Promise<void> }>;
// Kept on globalThis: mocha may load test files as CommonJS and the runner as ESM, which
// would otherwise give each its own copy of this module.
const shared = globalThis as typeof globalThis & { slipwayFixtures?: Running };
const running: Running = (shared.slipwayFixtures ??= new Map());

export function sharedFixture<T>(name: string, start: () => Promise<T>, stop: (value: T) => Promise<void>): Promise<T> {
  const existing = running.get(name);
  if (existing) return existing.value as Promise<T>;
  const value = start();
  running.set(name, { value, stop: async () => stop(await value) });
  return value;
}

export async function stopAllFixtures(): Promise<void> {
  const all = [...running.values()].reverse();
  running.clear();
  for (const fixture of all) {
    await fixture.stop().catch((error: unknown) => console.error('fixture stop failed:', error));
  }
}
