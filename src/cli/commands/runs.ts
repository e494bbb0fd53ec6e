import type { Command } from 'commander';
import { pathOf, waitFlags, type CliContext } from '../context.js';
import type { WaitOptions } from '../io.js';
import { follow } from '../follow.js';
import { board, type Watched } from '../progress.js';

/** `slipway runs` (recent runs) and `slipway status <run-id>` (one, or followed with `--wait`). */
export function runCommands(program: Command, cli: CliContext): void {
  program.command('runs').description('Recent runs, newest first')
    .option('--service <service>').option('--environment <environment>').option('--status <status>').option('--json', 'JSON')
    .action(async (opts: { service?: string; environment?: string; status?: string; json?: boolean }) => {
      const query = new URLSearchParams(Object.entries({ service: opts.service, environment: opts.environment, status: opts.status }).filter((e): e is [string, string] => !!e[1]));
      const { items } = await cli.api().request<{ items: Watched[] }>('GET', `/v1/deployments${query.size ? `?${query}` : ''}`);
      if (opts.json) return cli.out(JSON.stringify(items));
      for (const r of items) cli.out([r.id, r.status, `${r.service}/${r.environment}`, 'version' in r ? r.version.sha?.slice(0, 7) ?? '' : '', r.createdAt].join('  '));
    });

  waitFlags(program.command('status <run-id>').description('A run or rotation; with --wait, follow it'))
    .action(async (id: string, opts: WaitOptions) => {
      const path = pathOf(id);
      const run = await cli.api().request<Watched>('GET', `${path}/${encodeURIComponent(id)}`);
      if (opts.wait) return cli.exitWith(await follow(cli.api(), path, run, opts, cli.io));
      cli.out(opts.json ? JSON.stringify(run) : board(run));
    });
}
