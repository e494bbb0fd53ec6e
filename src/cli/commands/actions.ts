import type { Command } from 'commander';
import { pathOf, waitFlags, type CliContext } from '../context.js';
import type { WaitOptions } from '../io.js';
import type { Watched } from '../progress.js';

const ACTIONS = {
  approve: 'Approve a run waiting after its canary',
  pause: 'Pause a rollout before its next batch',
  resume: 'Resume a paused rollout',
  abort: 'Abort a run (it rolls back what it changed), or give up on a failed rotation',
  retry: 'Retry the failed step of a run (or the compensation of a rotation) waiting for an operator',
} as const;

/** An operator's decision on a run (`rollback` too: see deploy.ts); with `--wait`, follows it. */
export async function act(cli: CliContext, id: string, action: keyof typeof ACTIONS | 'rollback' | 'override', opts: WaitOptions, body?: object): Promise<void> {
  const path = pathOf(id);
  const run = await cli.api().request<Watched>('POST', `${path}/${encodeURIComponent(id)}/${action}`, body);
  if (opts.wait) return cli.started(path, run, opts);
  cli.out(opts.json ? JSON.stringify(run) : `${run.id} ${run.status}`);
}

/** `slipway approve|pause|resume|abort|retry <run-id>`. */
export function actionCommands(program: Command, cli: CliContext): void {
  for (const [action, what] of Object.entries(ACTIONS) as [keyof typeof ACTIONS, string][]) {
    waitFlags(program.command(`${action} <run-id>`).description(what)).action((id: string, opts: WaitOptions) => act(cli, id, action, opts));
  }
  waitFlags(program.command('override <run-id>').description('Admin: start a run waiting for its deploy window, or the end of a freeze, now')
    .requiredOption('--reason <text>', 'why, for the ledger'))
    .action((id: string, opts: WaitOptions & { reason: string }) => act(cli, id, 'override', opts, { reason: opts.reason }));
}
