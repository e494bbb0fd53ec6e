import type { Command } from 'commander';
import type { DryRunPlan } from '../../api/dry-run.js';
import { UsageError, waitFlags, type CliContext } from '../context.js';
import type { WaitOptions } from '../io.js';
import { planTable, type Watched } from '../progress.js';
import { act } from './actions.js';

interface StartOptions extends WaitOptions { dryRun?: boolean; reason?: string; sha?: string; override?: string }

/**
 * `slipway deploy` and `slipway rollback`: start a run (or, with `--dry-run`, show its plan).
 * `rollback` with a run id alone is the operator's action on that run instead.
 */
export function deployCommands(program: Command, cli: CliContext): void {
  const startOrPlan = async (route: string, body: Record<string, unknown>, opts: StartOptions) => {
    const request = { ...body, ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.override ? { override: { reason: opts.override } } : {}) };
    if (opts.dryRun) {
      const plan = await cli.api().request<DryRunPlan>('POST', route, { ...request, dryRun: true });
      return cli.out(opts.json ? JSON.stringify(plan) : planTable(plan));
    }
    await cli.started('/v1/deployments', await cli.api().request<Watched>('POST', route, request), opts);
  };

  waitFlags(program.command('deploy <service> <environment>').description('Deploy a commit (or a tag) to an environment')
    .option('--sha <sha>', 'the commit to deploy').option('--tag <tag>', 'an image tag, instead of a commit').option('--reason <text>', 'why, for the ledger')
    .option('--override <reason>', 'admin: deploy although the environment\'s promotion condition is not met, for this reason')
    .option('--dry-run', 'show what it would do, and touch nothing'))
    .action(async (service: string, environment: string, opts: StartOptions & { tag?: string }) => {
      if (!!opts.sha === !!opts.tag) throw new UsageError('give exactly one of --sha and --tag');
      await startOrPlan('/v1/deployments', { service, environment, ...(opts.sha ? { sha: opts.sha } : { tag: opts.tag }) }, opts);
    });

  waitFlags(program.command('promote <service>')
    .description('Deploy to --to the release current in --from: the same commit and the very same image digests')
    .requiredOption('--from <environment>', 'where the release runs now').requiredOption('--to <environment>', 'where it goes')
    .option('--reason <text>', 'why, for the ledger')
    .option('--override <reason>', 'admin: promote although it has not soaked in --from (or is not allowed), for this reason')
    .option('--dry-run', 'show what it would do, and touch nothing'))
    .action(async (service: string, opts: StartOptions & { from: string; to: string }) => {
      await startOrPlan('/v1/promotions', { service, from: opts.from, to: opts.to }, opts);
    });

  waitFlags(program.command('rollback <service|run-id> [environment]')
    .description('Redeploy the last known-good release (or --sha) of a service in an environment; with a run id alone, roll back that run, which waits for an operator')
    .option('--sha <sha>', 'the release to go back to').option('--reason <text>', 'why, for the ledger')
    .option('--dry-run', 'show what it would do, and touch nothing'))
    .action(async (serviceOrRun: string, environment: string | undefined, opts: StartOptions) => {
      if (environment !== undefined) return startOrPlan('/v1/rollbacks', { service: serviceOrRun, environment, ...(opts.sha ? { sha: opts.sha } : {}) }, opts);
      if (opts.sha || opts.dryRun || opts.reason) throw new UsageError('--sha, --reason and --dry-run go with <service> <environment>; a run id alone rolls that run back');
      await act(cli, serviceOrRun, 'rollback', opts);
    });
}
