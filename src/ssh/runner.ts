import { ApplicationFailure } from '@temporalio/common';
import pLimit, { type LimitFunction } from 'p-limit';
import { activityAttempt, cancellationSignal, firstScheduledMs, heartbeat, hostReached, noteHostReached } from '../activities/context.js';
import { permanentFailure, transientFailure } from '../activities/failure.js';
import { readFileCommand } from '../commands/files.js';
import type { HostCommand } from '../commands/shell.js';
import type { SshConfig } from '../config/schema.js';
import type { CredentialStore } from '../credentials/store.js';
import { FailureType, TransientFailureType } from '../domain/failures.js';
import type { HostRef } from '../domain/plan.js';
import type { StepLogRef } from '../domain/run.js';
import { redact } from '../redact.js';
import type { StepLogStore, StepLogWriter } from '../step-logs/store.js';
import { describeHost, SshError, SshSession, type CommandResult } from './session.js';
import { lastLines } from './tail.js';

/**
 * How activities reach hosts: one session per step, the key Slipway logs in with, handshakes
 * bounded per worker, output to the step log, and every SSH fault turned into a typed failure
 * (retried while a host may still come back, permanent for keys and credentials).
 */

/** The largest file Slipway reads back from a host (an env file). */
export const MAX_READ_BYTES = 1024 * 1024;

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
      return transientFailure(TransientFailureType.HostUnreachableTransient, error.message, details);
    }
    default: return transientFailure(TransientFailureType.SshTransient, error.message, details);
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
    step: command.label, evidence: { host: describeHost(host), exitCode: result.exitCode },
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

