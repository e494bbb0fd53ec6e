import type { Command } from 'commander';
import type { ApiClient } from './api.js';
import { follow } from './follow.js';
import type { CliIo, WaitOptions } from './io.js';
import type { Watched } from './progress.js';

/** Bad usage that commander cannot see (two flags that exclude each other, a malformed value): exit 2. */
export class UsageError extends Error {}


/** What every subject's commands share: the API, output, and how the process will exit. */
export interface CliContext {
  io: CliIo;
  api(): ApiClient;
  out(line?: string): void;
  /** The exit code, once a command has followed a run to its end. */
  exitWith(code: number): void;
  /** Prints what was started, or with `--wait` follows it to its end (`path`: where it is read back). */
  started(path: string, first: Watched, opts: WaitOptions): Promise<void>;
}

export function cliContext(io: CliIo, api: () => ApiClient, exitWith: (code: number) => void): CliContext {
  const out = (line = '') => io.stdout.write(`${line}\n`);
  return {
    io, api, out, exitWith,
    async started(path, first, opts) {
      if (!opts.wait) {
        out(opts.json ? JSON.stringify(first) : `${first.id} ${first.status}\n  follow it: slipway status ${first.id} --wait`);
        return;
      }
      exitWith(await follow(api(), path, first, opts, io));
    },
  };
}

/** `--wait`, `--until-decision` and `--json`, for the commands that start or show a run. */
export function waitFlags(command: Command): Command {
  return command
    .option('--wait', 'follow the run until it ends; the exit code says how')
    .option('--until-decision', 'with --wait: stop (exit 3) when the run waits for an operator')
    .option('--json', 'JSON (with --wait: one JSON line per change)');
}

/** Rotations have ids of their own (`rotation-…`), and routes of their own. */
export function pathOf(id: string): string {
  return id.startsWith('rotation-') ? '/v1/rotations' : '/v1/deployments';
}
