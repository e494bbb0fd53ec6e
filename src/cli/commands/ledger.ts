import type { Command } from 'commander';
import type { EnvironmentView } from '../../workflows/contract.js';
import type { CliContext } from '../context.js';

/** `slipway ledger`: what runs in an environment, what is known good, and what ran before. */
export function ledgerCommands(program: Command, cli: CliContext): void {
  program.command('ledger <service> <environment>').description('What runs there, what is known good, and what ran before').option('--json', 'JSON')
    .action(async (service: string, environment: string, opts: { json?: boolean }) => {
      const env = await cli.api().request<EnvironmentView>('GET', `/v1/services/${encodeURIComponent(service)}/environments/${encodeURIComponent(environment)}`);
      if (opts.json) return cli.out(JSON.stringify(env));
      cli.out(`current: ${env.current?.sha ?? '(none)'}${env.active ? `   active: ${env.active}` : ''}${env.queue.length ? `   queued: ${env.queue.join(', ')}` : ''}`);
      cli.out(`known good: ${env.knownGood.map((k) => k.sha?.slice(0, 7) ?? '?').join(', ') || '(none)'}`);
      for (const h of env.history) cli.out(`  ${h.finishedAt}  ${h.kind.padEnd(8)} ${(h.sha?.slice(0, 7) ?? '').padEnd(7)}  ${h.status}  ${h.runId}${h.error ? `  ${h.error.split('\n')[0]}` : ''}`);
    });
}
