import { Command, CommanderError, Option } from 'commander';
import { ApiRefused, ApiUnreachable, apiClient, type ApiClient } from './api.js';
import { actionCommands } from './commands/actions.js';
import { deployCommands } from './commands/deploy.js';
import { ledgerCommands } from './commands/ledger.js';
import { logsCommands } from './commands/logs.js';
import { rotateCommands } from './commands/rotate.js';
import { runCommands } from './commands/runs.js';
import { cliContext, UsageError } from './context.js';
import type { CliIo } from './io.js';
import { EXIT } from './progress.js';

/**
 * `slipway`: the API from a terminal or a CI job (README, "The slipway CLI"), one file per
 * subject under `commands/`, as Kamal's `lib/kamal/cli/`. `--wait` follows a run until it
 * ends: a live board on a terminal, one timestamped line per change in a log, JSON lines with
 * `--json`; the exit code says how it ended.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
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
  const cli = cliContext(io, api, (exit) => { code = exit; });
  for (const subject of [deployCommands, rotateCommands, runCommands, actionCommands, ledgerCommands, logsCommands]) subject(program, cli);

  const err = (line: string) => io.stderr.write(`${line}\n`);
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
