import { readEnvValues, restoreEnvValues, rewriteEnvFile } from '../commands/envfile.js';
import { backupFileCommand, fileExistsCommand, readFileCommand, removeFileCommand, replaceFileCommand } from '../commands/files.js';
import { forgetOnceOutput } from '../commands/host-process.js';
import { quote, type HostCommand } from '../commands/shell.js';
import type { SshConfig } from '../config/schema.js';
import type { CredentialStore } from '../credentials/store.js';
import { ApplicationFailure } from '@temporalio/common';
import pLimit, { type LimitFunction } from 'p-limit';
import { FailureType } from '../domain/failures.js';
import type { HostRef } from '../domain/plan.js';
import { fillPlaceholders, parseProvisioned, ProvisionedOutputError, type RecipeValues } from '../domain/recipe.js';
import { redact, registerSecret } from '../redact.js';
import { lastLines } from '../ssh/tail.js';
import { describeHost, SshError, SshSession, type CommandResult } from '../ssh/session.js';
import type { StepLogRef } from '../domain/run.js';
import type { StepLogStore, StepLogWriter } from '../step-logs/store.js';
import { activityAttempt, cancellationSignal, firstScheduledMs, heartbeat, hostReached, noteHostReached } from './context.js';
import { hidingSecrets, permanentFailure, transientFailure } from './failure.js';

/** The largest file Slipway reads back from a host (an env file). */
const MAX_READ_BYTES = 1024 * 1024;

/**
 * Turns an SSH fault into the failure the workflow sees: an unreachable host is retried by
 * the activity's retry policy until `ssh.retryFor` has passed since the first attempt, then
 * fails for good; key and auth problems never heal by retrying.
 */
function classify(error: unknown, ssh: SshConfig, firstScheduledMs: number, reached: boolean): Error {
  if (!(error instanceof SshError)) return error as Error;
  // Whether any attempt got as far as a session: a saga undoes a step only where it may have run.
  const details = { hostReached: reached };
  switch (error.kind) {
    case 'host-key-mismatch': return permanentFailure(FailureType.HostKeyMismatch, error.message, details);
    case 'host-key-unknown': return permanentFailure(FailureType.HostKeyUnknown, error.message, details);
    case 'auth': return permanentFailure(FailureType.SshAuthFailed, error.message, details);
    case 'timeout': return permanentFailure(FailureType.CommandTimedOut, error.message, details);
    case 'unreachable': {
      const waited = Date.now() - firstScheduledMs;
      if (waited >= ssh.retryFor) return permanentFailure(FailureType.HostUnreachable, `${error.message} (gave up after ${Math.round(waited / 1000)} s)`, details);
      return transientFailure('HostUnreachableTransient', error.message, details);
    }
    default: return transientFailure('SshTransient', error.message, details);
  }
}

function ensureSucceeded(command: HostCommand, host: HostRef, result: CommandResult): CommandResult {
  if (result.exitCode === 0) return result;
  if (result.exitCode === null && !result.signal) {
    throw new SshError('unreachable', `the connection to ${describeHost(host)} dropped during "${command.label}"`);
  }
  const output = result.stderrTail.trim() || command.sensitiveOutput ? result.stderrTail : result.stdoutTail;
  const how = result.exitCode === null ? `was killed by signal ${result.signal}` : `exited with ${result.exitCode}`;
  throw permanentFailure(FailureType.CommandFailed, `"${command.label}" on ${describeHost(host)} ${how}:\n${lastLines(output, 20)}`, {
    host: describeHost(host), step: command.label, exitCode: result.exitCode,
  });
}

/** Connects to hosts and runs commands for activities, turning faults into typed failures. */
export class HostRunner {
  /** Bounds the handshakes in flight (key exchange is the CPU-heavy part of a connection); sessions are not bounded. */
  private readonly handshakes: LimitFunction;

  constructor(private readonly ssh: SshConfig, private readonly store?: CredentialStore, private readonly stepLogs?: StepLogStore) {
    this.handshakes = pLimit(ssh.maxConcurrentHandshakes);
  }

  /**
   * Runs `use` as one step of a target's log, when `log` names a target: its commands' output
   * and exit codes go to the step log, and so does the error it fails with.
   */
  async logged<T>(log: StepLogRef | undefined, label: string, use: (step?: StepLogWriter) => Promise<T>): Promise<T> {
    const step = log && this.stepLogs?.begin(log, label, activityAttempt());
    if (!step) return use();
    try {
      const result = await use(step);
      step.end(true);
      return result;
    } catch (error) {
      // A failed command's own output is already there; other faults (no connection, a
      // timeout, a check that never passed) say what happened in Slipway's words.
      const commandFailed = error instanceof ApplicationFailure && error.type === FailureType.CommandFailed;
      if (!commandFailed) step.note(`slipway: ${redact(error instanceof Error ? error.message : String(error))}`);
      step.end(false);
      throw error;
    }
  }

  /** The private key Slipway logs in to this host with: a rotated one, else the config's. */
  async keyFor(host: HostRef): Promise<{ privateKey: string; passphrase?: string | undefined }> {
    const rotated = await this.store?.sshKey(host);
    return rotated ? { privateKey: rotated } : { privateKey: this.ssh.privateKey, passphrase: this.ssh.passphrase };
  }

  /**
   * One connection for everything `use` runs on the host, closed afterwards; with `key`,
   * logged in with that key instead of the one Slipway uses (a rotation verifying a new key).
   */
  async withSession<T>(host: HostRef, use: (session: SshSession, signal?: AbortSignal) => Promise<T>, key?: { privateKey: string }): Promise<T> {
    const firstAttemptMs = firstScheduledMs();
    const signal = cancellationSignal();
    const ssh = this.ssh;
    let session: SshSession | undefined;
    try {
      const credentials = key ?? await this.keyFor(host);
      session = await this.handshakes(() => {
        signal?.throwIfAborted();
        return SshSession.connect(host, {
          ...credentials, knownHostsPath: ssh.knownHosts,
          connectTimeoutMs: ssh.connectTimeout, keepaliveIntervalMs: ssh.keepaliveInterval,
        }, signal);
      });
      noteHostReached();
      return await use(session, signal);
    } catch (error) {
      // Cancelled (an abort, or a shutdown past its grace time): reported as cancelled, not as
      // a failure to retry.
      if (signal?.aborted) throw signal.reason;
      throw classify(error, ssh, firstAttemptMs, hostReached());
    } finally {
      session?.close();
    }
  }

  /** Runs a command that must succeed, heartbeating its progress. */
  async run(session: SshSession, command: HostCommand, signal?: AbortSignal, captureStdout?: number, step?: StepLogWriter): Promise<CommandResult> {
    heartbeat({ step: command.label, elapsedMs: 0 });
    const result = await this.attempt(session, command, signal, captureStdout, step);
    return ensureSucceeded(command, session.host, result);
  }

  /** A text file on the host (an env file, a backup); empty when it does not exist. */
  async readText(session: SshSession, dir: string, file: string, signal?: AbortSignal, step?: StepLogWriter): Promise<string> {
    const text = (await this.run(session, readFileCommand(dir, file), signal, MAX_READ_BYTES, step)).stdout ?? '';
    if (text.includes('\0')) throw permanentFailure(FailureType.HostOutputInvalid, `${file} on ${describeHost(session.host)} is not a text file`);
    return text;
  }

  /** Runs a command whose exit code the caller judges (a health check). */
  async attempt(session: SshSession, command: HostCommand, signal?: AbortSignal, captureStdout?: number, step?: StepLogWriter): Promise<CommandResult> {
    // A command whose output is a secret (or a file's content) never reaches the step log.
    const logOutput = step && !command.sensitiveOutput && captureStdout === undefined;
    const result = await session.run(command, {
      timeoutMs: this.ssh.commandTimeout, signal, captureStdout,
      onProgress: (p) => {
        heartbeat({ step: command.label, ...p });
        step?.flush();
      },
      onOutput: logOutput ? (chunk) => step.append(chunk.toString('utf8')) : undefined,
    });
    step?.exited(result.exitCode);
    return result;
  }
}

/**
 * Sets `values` in a dotenv file on the host, keeping every other line. Rewrites (and so moves
 * the previous file to `.slipway-prev`) only when something changes, which keeps a retried
 * step from overwriting the backup with its own result.
 */
export async function pinEnvFile(runner: HostRunner, session: SshSession, dir: string, file: string, values: Record<string, string>, signal?: AbortSignal, step?: StepLogWriter): Promise<{ changed: boolean }> {
  const current = await runner.readText(session, dir, file, signal, step);
  const next = rewriteEnvFile(current, values);
  const existing = readEnvValues(current);
  const lines = Object.entries(values).map(([name, value]) => `${name}=${value}`);
  if (next === current && Object.entries(values).every(([k, v]) => existing[k] === v)) {
    lines.forEach((line) => step?.note(`${line} (already set)`));
    return { changed: false };
  }
  await runner.run(session, replaceFileCommand(dir, file, next), signal, undefined, step);
  lines.forEach((line) => step?.note(line));
  step?.note(`${dir}/${file} rewritten; the previous one is ${file}.slipway-prev`);
  return { changed: true };
}

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
