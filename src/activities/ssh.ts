import { readEnvValues, restoreEnvValues, rewriteEnvFile } from '../commands/envfile.js';
import { backupFileCommand, fileExistsCommand, removeFileCommand, replaceFileCommand } from '../commands/files.js';
import { forgetOnceOutput } from '../commands/host-process.js';
import { quote, type HostCommand } from '../commands/shell.js';
import { FailureType } from '../domain/failures.js';
import type { HostRef } from '../domain/plan.js';
import { fillPlaceholders, parseProvisioned, ProvisionedOutputError, type RecipeValues } from '../domain/recipe.js';
import type { StepLogRef } from '../domain/run.js';
import { registerSecret } from '../redact.js';
import { MAX_READ_BYTES, type HostRunner } from '../ssh/runner.js';
import { describeHost } from '../ssh/session.js';
import { hidingSecrets, permanentFailure } from './failure.js';

export function sshActivities({ runner }: { runner: HostRunner }) {
  return {
    /** Runs one runbook step on a host. Only timing comes back: output stays out of history. */
    async runOnHost(host: HostRef, command: HostCommand, log?: StepLogRef): Promise<{ durationMs: number }> {
      return runner.logged(log, command.label, (step) => runner.withSession(host, async (session, signal) => {
        const result = await runner.run(session, command, signal, undefined, step);
        return { durationMs: result.durationMs };
      }));
    },

    /**
     * A rotation's write: `file` is first copied to `backup` (once, so a retry keeps what was
     * there before the rotation), then `values` replace their lines atomically.
     */
    async writeEnvSecrets(host: HostRef, dir: string, file: string, backup: string, values: Record<string, string>): Promise<{ changed: boolean }> {
      return hidingSecrets(Object.values(values), () => runner.withSession(host, async (session, signal) => {
        await runner.run(session, backupFileCommand(dir, file, backup), signal);
        const current = await runner.readText(session, dir, file, signal);
        const next = rewriteEnvFile(current, values);
        if (next === current) return { changed: false };
        await runner.run(session, replaceFileCommand(dir, file, next), signal);
        return { changed: true };
      }));
    },

    /** A rotation's compensation: `names` go back to what `backup` held; the backup is kept. */
    async restoreEnvSecrets(host: HostRef, dir: string, file: string, backup: string, names: string[]): Promise<{ changed: boolean }> {
      return runner.withSession(host, async (session, signal) => {
        // No backup: the rotation never got to write this host (it backs up first).
        if ((await runner.attempt(session, fileExistsCommand(dir, backup), signal)).exitCode !== 0) return { changed: false };
        const before = await runner.readText(session, dir, backup, signal);
        const current = await runner.readText(session, dir, file, signal);
        const next = restoreEnvValues(current, before, names);
        if (next === current) return { changed: false };
        await hidingSecrets(Object.values(readEnvValues(before)), () => runner.run(session, replaceFileCommand(dir, file, next), signal));
        return { changed: true };
      });
    },

    /**
     * A recipe's provisioning command (it makes a credential in another system), run once per
     * `once` key whatever the retries: its `NAME=VALUE` lines for exactly `names` are the new
     * values, secrets from now on; the rest of its output is discarded.
     */
    async provisionValues(host: HostRef, dir: string, command: string, names: string[], once: string): Promise<Record<string, string>> {
      return runner.withSession(host, async (session, signal) => {
        const step: HostCommand = { label: command, argv: [], cwd: dir, script: command, once, onceOutput: true, sensitiveOutput: true };
        const printed = (await runner.run(session, step, signal, MAX_READ_BYTES)).stdout ?? '';
        try {
          const values = parseProvisioned(printed, names);
          Object.values(values).forEach(registerSecret);
          return values;
        } catch (error) {
          if (error instanceof ProvisionedOutputError) throw permanentFailure(FailureType.HostOutputInvalid, `"${command}" on ${describeHost(host)} ${error.message}`);
          throw error;
        }
      });
    },

    /** What `{old:X}` means in a recipe: the values `names` hold now in the env file; each must be there. */
    async readOldValues(host: HostRef, dir: string, file: string, names: string[]): Promise<Record<string, string>> {
      return runner.withSession(host, async (session, signal) => {
        const current = readEnvValues(await runner.readText(session, dir, file, signal));
        const missing = names.filter((name) => !current[name]);
        if (missing.length) {
          throw permanentFailure(FailureType.InvalidInput, `${dir}/${file} on ${describeHost(host)} has no ${missing.join(', ')}: {old:${missing[0]}} has no value to retire`);
        }
        const old = Object.fromEntries(names.map((name) => [name, current[name]!]));
        Object.values(old).forEach(registerSecret);
        return old;
      });
    },

    /**
     * A recipe's `finally` or `undo` command, its `{new:X}`/`{old:X}` filled in here, quoted
     * for the shell, and run once per `once` key. Its output stays on the host.
     */
    async runRecipeCommand(host: HostRef, dir: string, command: string, values: RecipeValues, once: string): Promise<void> {
      return hidingSecrets([...Object.values(values.new), ...Object.values(values.old)], () => runner.withSession(host, async (session, signal) => {
        const step: HostCommand = { label: command, argv: [], cwd: dir, script: fillPlaceholders(command, values, quote), once, sensitiveOutput: true };
        await runner.run(session, step, signal);
      }));
    },

    /** The kept output of a provisioning command (it holds the values) goes once the rotation has ended. */
    async forgetProvisioned(host: HostRef, once: string): Promise<void> {
      await runner.withSession(host, (session, signal) => runner.run(session, forgetOnceOutput(once), signal));
    },

    async removeHostFile(host: HostRef, dir: string, file: string): Promise<void> {
      await runner.withSession(host, (session, signal) => runner.run(session, removeFileCommand(dir, file), signal));
    },
  };
}
