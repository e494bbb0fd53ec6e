import type { Command } from 'commander';
import type { Run } from '../../domain/run.js';
import type { CliContext } from '../context.js';
import { stepLogText, type TargetSteps } from '../progress.js';

/** `slipway logs`: each target's steps, with their times, exit codes and output tails. */
export function logsCommands(program: Command, cli: CliContext): void {
  program.command('logs <run-id>').description("Each target's steps: start, duration, exit code and the last lines of output")
    .option('--target <name>', 'one target only').option('--json', 'JSON')
    .action(async (id: string, opts: { target?: string; json?: boolean }) => {
      const client = cli.api();
      const path = `/v1/deployments/${encodeURIComponent(id)}`;
      const names = opts.target ? [opts.target] : (await client.request<Run>('GET', path)).targets.map((t) => t.id);
      const logs = await Promise.all(names.map((name) => client.request<TargetSteps>('GET', `${path}/targets/${encodeURIComponent(name)}`)));
      if (opts.json) return cli.out(JSON.stringify(opts.target ? logs[0] : logs));
      cli.out(logs.map(stepLogText).join('\n\n'));
    });
}
