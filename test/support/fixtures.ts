/**
 * Shared, lazily started test fixtures (Temporal, SSH hosts, registry, GitHub). Each is
 * started once by the first suite that asks for it and stopped when the run ends.
 */
const running = new Map<string, { value: Promise<unknown>; stop: () => Promise<void> }>();

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
