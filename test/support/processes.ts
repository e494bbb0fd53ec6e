import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Server processes the tests start, each in its own process group so that stopping it stops
 * whatever it started too, and so that none outlives the test run, even when it fails.
 */
const shared = globalThis as typeof globalThis & { slipwayProcesses?: Set<ChildProcess> };
const firstCopy = !shared.slipwayProcesses;
const managed: Set<ChildProcess> = (shared.slipwayProcesses ??= new Set());

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    try {
      child.kill(signal); // not a group leader (adopted), or already gone
    } catch {
      // already gone
    }
  }
}

/** Makes sure a process started elsewhere does not outlive the test run. */
export function adoptManaged(child: ChildProcess): void {
  managed.add(child);
  child.once('exit', () => managed.delete(child));
}

export function spawnManaged(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  managed.add(child);
  child.once('exit', () => managed.delete(child));
  return child;
}

export async function stopManaged(child: ChildProcess, graceMs = 2_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

if (firstCopy) {
  process.on('exit', () => {
    for (const child of managed) killGroup(child, 'SIGKILL');
  });
}
