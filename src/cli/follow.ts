import ora from 'ora';
import type { ApiClient } from './api.js';
import type { CliIo, WaitOptions } from './io.js';
import { board, changes, EXIT, isRotation, verdict, type Watched } from './progress.js';

/** Polls the run until it has a verdict or Ctrl-C; returns the exit code. */
export async function follow(api: ApiClient, path: string, first: Watched, opts: WaitOptions, io: CliIo): Promise<number> {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  // Redrawn in place only where a person watches: a terminal of known width, not dumb, not CI
  // (ora's own test). Anywhere else, log lines.
  const live = !opts.json && !!io.stdout.isTTY && !!io.stdout.columns && !('CI' in io.env) && io.env.TERM !== 'dumb';
  const ui = (first as { links?: { ui?: string } }).links?.ui;
  if (!opts.json) out(`${first.id}${ui ? `  ${ui}` : ''}`);
  const spinner = live ? ora({ stream: io.stdout, text: board(first) }).start() : undefined;
  const report = (before: Watched | undefined, now: Watched) => {
    if (spinner) spinner.text = board(now);
    else if (opts.json) { if (changes(before, now).length) out(JSON.stringify({ at: new Date().toISOString(), run: now })); }
    else for (const line of changes(before, now)) out(`${new Date().toISOString()} ${line}`);
  };
  let interrupted = false;
  void io.interrupted.then(() => { interrupted = true; });
  let before: Watched | undefined;
  let now = first;
  for (;;) {
    report(before, now);
    const ending = verdict(now, !!opts.untilDecision);
    if (ending) {
      if (spinner && ending.code === EXIT.succeeded) spinner.succeed(board(now));
      else spinner?.fail(board(now));
      if (opts.json) out(JSON.stringify({ at: new Date().toISOString(), exit: ending.code, run: now }));
      else for (const line of ending.lines) out(line);
      return ending.code;
    }
    await Promise.race([new Promise((r) => setTimeout(r, io.pollMs ?? 1000)), io.interrupted]);
    if (interrupted) {
      spinner?.stop();
      io.stderr.write(`stopped waiting; ${now.id} goes on (${now.status}). Follow it with: slipway status ${now.id} --wait   Abort it with: slipway abort ${now.id}\n`);
      return EXIT.interrupted;
    }
    before = now;
    now = await api.request<Watched>('GET', `${path}/${encodeURIComponent(now.id)}`);
    if (isRotation(now) !== isRotation(first)) throw new Error(`${now.id} changed kind`);
  }
}
