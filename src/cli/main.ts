import { Command, CommanderError, Option } from 'commander';
import ora from 'ora';
import { ApiRefused, ApiUnreachable, apiClient, type ApiClient } from './api.js';
import type { DryRunPlan } from '../api/dry-run.js';
import { board, changes, EXIT, isRotation, planTable, stepLogText, verdict, type TargetSteps, type Watched } from './progress.js';
import type { Run } from '../domain/run.js';

/**
 * `slipway`: the API from a terminal or a CI job (README, "The slipway CLI"). `--wait` follows
 * the run until it ends: a live board on a terminal, one timestamped line per change in a log,
 * JSON lines with `--json`; the exit code says how it ended.
 */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Fires on Ctrl-C: waiting stops, the run goes on. */
  interrupted: Promise<void>;
  pollMs?: number;
}

class UsageError extends Error {}

interface WaitOptions { wait?: boolean; untilDecision?: boolean; json?: boolean }

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const out = (line = '') => io.stdout.write(`${line}\n`);
  const err = (line: string) => io.stderr.write(`${line}\n`);
  let code: number = EXIT.succeeded;
  const program = new Command('slipway')
    .description('Deploy, roll back and rotate through the Slipway API')
    .addOption(new Option('--url <url>', 'the Slipway API').env('SLIPWAY_URL').default('http://localhost:3000'))
    .addOption(new Option('--token <token>', 'an API token').env('SLIPWAY_TOKEN'))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();
  const api = (): ApiClient => {
    const { url, token } = program.opts<{ url: string; token?: string }>();
    return apiClient(url, token);
  };
  const waitFlags = (c: Command) => c
    .option('--wait', 'follow the run until it ends; the exit code says how')
    .option('--until-decision', 'with --wait: stop (exit 3) when the run waits for an operator')
    .option('--json', 'JSON (with --wait: one JSON line per change)');

  /** Prints what was started, or follows it with --wait. */
  const started = async (path: string, first: Watched, opts: WaitOptions) => {
    if (!opts.wait) {
      out(opts.json ? JSON.stringify(first) : `${first.id} ${first.status}\n  follow it: slipway status ${first.id} --wait`);
      return;
    }
    code = await follow(api(), path, first, opts, io);
  };

  waitFlags(program.command('deploy <service> <environment>').description('Deploy a commit (or a tag) to an environment')
    .option('--sha <sha>', 'the commit to deploy').option('--tag <tag>', 'an image tag, instead of a commit').option('--reason <text>', 'why, for the ledger')
    .option('--dry-run', 'show what it would do, and touch nothing'))
    .action(async (service: string, environment: string, opts: WaitOptions & { sha?: string; tag?: string; reason?: string; dryRun?: boolean }) => {
      if (!!opts.sha === !!opts.tag) throw new UsageError('give exactly one of --sha and --tag');
      const body = { service, environment, ...(opts.sha ? { sha: opts.sha } : { tag: opts.tag }), ...(opts.reason ? { reason: opts.reason } : {}) };
      if (opts.dryRun) return void printPlan(await api().request<DryRunPlan>('POST', '/v1/deployments', { ...body, dryRun: true }), opts.json, out);
      await started('/v1/deployments', await api().request<Watched>('POST', '/v1/deployments', body), opts);
    });

  waitFlags(program.command('rollback <service> <environment>').description('Redeploy the last known-good release, or the one given')
    .option('--sha <sha>', 'the release to go back to').option('--reason <text>', 'why, for the ledger')
    .option('--dry-run', 'show what it would do, and touch nothing'))
    .action(async (service: string, environment: string, opts: WaitOptions & { sha?: string; reason?: string; dryRun?: boolean }) => {
      const body = { service, environment, ...(opts.sha ? { sha: opts.sha } : {}), ...(opts.reason ? { reason: opts.reason } : {}) };
      if (opts.dryRun) return void printPlan(await api().request<DryRunPlan>('POST', '/v1/rollbacks', { ...body, dryRun: true }), opts.json, out);
      await started('/v1/deployments', await api().request<Watched>('POST', '/v1/rollbacks', body), opts);
    });

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  waitFlags(program.command('rotate <service> <environment>').description('Rotate secrets: env-secret values, the SSH key, or a recipe from the config')
    .addOption(new Option('--kind <kind>', 'what to rotate').choices(['env-secret', 'ssh-key', 'recipe']).default('env-secret'))
    .option('--generate <NAME[:bytes[:encoding]]>', 'env-secret: a new random value (default 32 bytes, hex; or base64)', collect)
    .option('--set <NAME=VALUE>', 'env-secret: a value you supply', collect)
    .option('--github-secret <NAME=SECRET>', 'env-secret: also set this GitHub Actions secret; ssh-key: the secret for the new key', collect)
    .option('--recipe <name>', 'recipe: its name under services.<service>.rotations'))
    .action(async (service: string, environment: string, opts: WaitOptions & { kind: string; generate?: string[]; set?: string[]; githubSecret?: string[]; recipe?: string }) => {
      const body = rotationBody(service, environment, opts);
      const rotation = await api().request<Watched>('POST', '/v1/rotations', body);
      await started('/v1/rotations', rotation, opts);
    });

  program.command('runs').description('Recent runs, newest first')
    .option('--service <service>').option('--environment <environment>').option('--status <status>').option('--json', 'JSON')
    .action(async (opts: { service?: string; environment?: string; status?: string; json?: boolean }) => {
      const query = new URLSearchParams(Object.entries({ service: opts.service, environment: opts.environment, status: opts.status }).filter((e): e is [string, string] => !!e[1]));
      const { items } = await api().request<{ items: Watched[] }>('GET', `/v1/deployments${query.size ? `?${query}` : ''}`);
      if (opts.json) return void out(JSON.stringify(items));
      for (const r of items) out([r.id, r.status, `${r.service}/${r.environment}`, 'version' in r ? r.version.sha?.slice(0, 7) ?? '' : '', r.createdAt].join('  '));
    });

  waitFlags(program.command('status <run-id>').description('A run or rotation; with --wait, follow it'))
    .action(async (id: string, opts: WaitOptions) => {
      const path = pathOf(id);
      const run = await api().request<Watched>('GET', `${path}/${encodeURIComponent(id)}`);
      if (opts.wait) return void (code = await follow(api(), path, run, opts, io));
      out(opts.json ? JSON.stringify(run) : board(run));
    });

  for (const [action, what] of [['approve', 'Approve a run waiting after its canary'], ['pause', 'Pause a rollout before its next batch'], ['resume', 'Resume a paused rollout'],
    ['abort', 'Abort a run (it rolls back what it changed), or give up on a failed rotation'], ['retry', 'Retry the failed step of a run waiting for an operator']] as const) {
    program.command(`${action} <run-id>`).description(what).option('--json', 'JSON').action(async (id: string, opts: { json?: boolean }) => {
      const run = await api().request<Watched>('POST', `${pathOf(id)}/${encodeURIComponent(id)}/${action}`);
      out(opts.json ? JSON.stringify(run) : `${run.id} ${run.status}`);
    });
  }

  program.command('ledger <service> <environment>').description('What runs there, what is known good, and what ran before').option('--json', 'JSON')
    .action(async (service: string, environment: string, opts: { json?: boolean }) => {
      const env = await api().request<LedgerView>('GET', `/v1/services/${encodeURIComponent(service)}/environments/${encodeURIComponent(environment)}`);
      if (opts.json) return void out(JSON.stringify(env));
      out(`current: ${env.current?.sha ?? '(none)'}${env.active ? `   active: ${env.active}` : ''}${env.queue.length ? `   queued: ${env.queue.join(', ')}` : ''}`);
      out(`known good: ${env.knownGood.map((k) => k.sha?.slice(0, 7) ?? '?').join(', ') || '(none)'}`);
      for (const h of env.history) out(`  ${h.finishedAt}  ${h.kind.padEnd(8)} ${(h.sha?.slice(0, 7) ?? '').padEnd(7)}  ${h.status}  ${h.runId}${h.error ? `  ${h.error.split('\n')[0]}` : ''}`);
    });

  program.command('logs <run-id>').description("Each target's steps: start, duration, exit code and the last lines of output")
    .option('--target <name>', 'one target only').option('--json', 'JSON')
    .action(async (id: string, opts: { target?: string; json?: boolean }) => {
      const client = api();
      const path = `/v1/deployments/${encodeURIComponent(id)}`;
      const names = opts.target ? [opts.target] : (await client.request<Run>('GET', path)).targets.map((t) => t.id);
      const logs = await Promise.all(names.map((name) => client.request<TargetSteps>('GET', `${path}/targets/${encodeURIComponent(name)}`)));
      if (opts.json) return void out(JSON.stringify(opts.target ? logs[0] : logs));
      out(logs.map(stepLogText).join('\n\n'));
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.succeeded : EXIT.usage;
    if (error instanceof UsageError) { err(`error: ${error.message}`); return EXIT.usage; }
    if (error instanceof ApiRefused) { error.lines().forEach(err); return EXIT.usage; }
    if (error instanceof ApiUnreachable) { err(`error: ${error.message}`); return EXIT.usage; }
    throw error;
  }
}

interface LedgerView {
  current: { sha: string | null } | null;
  knownGood: { sha: string | null }[];
  history: { runId: string; kind: string; status: string; sha: string | null; finishedAt: string; error?: string }[];
  active: string | null;
  queue: string[];
}

function printPlan(plan: DryRunPlan, json: boolean | undefined, out: (line: string) => void): void {
  out(json ? JSON.stringify(plan) : planTable(plan));
}

/** Rotations have ids of their own (`rotation-…`), and routes of their own. */
function pathOf(id: string): string {
  return id.startsWith('rotation-') ? '/v1/rotations' : '/v1/deployments';
}

function rotationBody(service: string, environment: string, opts: { kind: string; generate?: string[]; set?: string[]; githubSecret?: string[]; recipe?: string }): Record<string, unknown> {
  const base = { kind: opts.kind, service, environment };
  if (opts.kind === 'recipe') {
    if (!opts.recipe) throw new UsageError('--kind recipe needs --recipe <name>');
    return { ...base, recipe: opts.recipe };
  }
  if (opts.kind === 'ssh-key') {
    if ((opts.githubSecret ?? []).length > 1) throw new UsageError('ssh-key takes one --github-secret');
    return { ...base, ...(opts.githubSecret?.[0] ? { githubSecret: opts.githubSecret[0] } : {}) };
  }
  const variables: Record<string, unknown> = {};
  for (const spec of opts.generate ?? []) {
    const [name, bytes = '32', encoding = 'hex'] = spec.split(':');
    if (!name || !/^\d+$/.test(bytes) || !['hex', 'base64', 'base64url'].includes(encoding)) throw new UsageError(`--generate ${spec}: expected NAME[:bytes[:hex|base64]]`);
    // base64 here is the URL-safe kind: it needs no quoting in an env file.
    variables[name] = { generate: { bytes: Number(bytes), encoding: encoding === 'hex' ? 'hex' : 'base64url' } };
  }
  for (const pair of opts.set ?? []) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError('--set expects NAME=VALUE');
    variables[pair.slice(0, at)] = { value: pair.slice(at + 1) };
  }
  if (!Object.keys(variables).length) throw new UsageError('env-secret needs at least one --generate or --set');
  const githubSecrets = Object.fromEntries((opts.githubSecret ?? []).map((pair) => {
    const [variable, secret] = pair.split('=');
    if (!variable || !secret) throw new UsageError('--github-secret expects NAME=SECRET for env-secret');
    return [variable, secret];
  }));
  return { ...base, variables, ...(Object.keys(githubSecrets).length ? { githubSecrets } : {}) };
}

/** Polls the run until it has a verdict or Ctrl-C; returns the exit code. */
async function follow(api: ApiClient, path: string, first: Watched, opts: WaitOptions, io: CliIo): Promise<number> {
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
