import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { spawnManaged, stopManaged } from './processes.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * `npm run worker` as a process of its own, for the tests that SIGKILL it mid-step and start
 * it again: one at a time, with what it printed kept for a failure's message.
 */
export class WorkerProcess {
  private child: ChildProcess | undefined;
  private output = '';

  constructor(private readonly env: Record<string, string>) {}

  get running(): boolean { return this.child !== undefined; }

  /** The last of what it printed. */
  log(): string { return this.output.slice(-3000); }

  async start(): Promise<void> {
    const child = spawnManaged(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'src', 'main', 'worker.ts')], {
      env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (c: Buffer) => { this.output += c.toString(); });
    child.stderr!.on('data', (c: Buffer) => { this.output += c.toString(); });
    const from = this.output.length;
    for (let i = 0; !this.output.slice(from).includes('worker started'); i++) {
      if (i > 600 || child.exitCode !== null) throw new Error(`worker did not start:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL to it and all it started, as a machine's crash would. */
  kill(): Promise<void> {
    const dying = this.child!;
    this.child = undefined;
    const gone = new Promise<void>((r) => dying.once('exit', () => r()));
    process.kill(-dying.pid!, 'SIGKILL');
    return gone;
  }

  async stop(): Promise<void> {
    if (this.child) await stopManaged(this.child, 1_000);
    this.child = undefined;
  }
}
