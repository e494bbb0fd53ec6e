import { readFileSync } from 'node:fs';
import ssh2, { type ClientChannel, type ConnectConfig } from 'ssh2';
import { randomUUID } from 'node:crypto';
import { hostScript, processToken, stopScript } from '../commands/host-process.js';
import type { HostCommand } from '../commands/shell.js';
import { fingerprint, hostKeyAlgorithms, keysForHost, parseKnownHosts, revokedKeys } from './known-hosts.js';
import { TailBuffer } from './tail.js';

export interface SshHost {
  address: string;
  port: number;
  user: string;
}

export interface SshSettings {
  privateKey: string;
  passphrase?: string | undefined;
  knownHostsPath: string;
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
}

export type SshErrorKind = 'host-key-mismatch' | 'host-key-unknown' | 'auth' | 'unreachable' | 'timeout' | 'cancelled' | 'protocol';

/** A connection or command fault, classified so the activity can tell transient from permanent. */
export class SshError extends Error {
  constructor(readonly kind: SshErrorKind, message: string) {
    super(message);
    this.name = 'SshError';
  }
}

export interface CommandResult {
  exitCode: number | null;
  signal?: string | undefined;
  durationMs: number;
  outputBytes: number;
  stdoutTail: string;
  stderrTail: string;
  /** The whole standard output, only when `captureStdout` asked for it. */
  stdout?: string;
}

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Keep the whole stdout up to this many bytes (for reading a file); more is an error. */
  captureStdout?: number;
  onProgress?: (progress: { outputBytes: number; elapsedMs: number }) => void;
  /** Every chunk of output, both streams, as it comes (a step log). */
  onOutput?: (chunk: Buffer) => void;
}

/** How long stopping a command's processes on the host may take (TERM, a grace time, KILL). */
const STOP_TIMEOUT_MS = 7_000;

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE', 'ENOTFOUND']);

function classifyConnectError(error: Error & { level?: string; code?: string }, where: string, keyProblem: string | undefined, pinnedTypes: string[]): SshError {
  if (keyProblem) return new SshError('host-key-mismatch', keyProblem);
  if (error.level === 'client-authentication') return new SshError('auth', `authentication on ${where} failed: the key was not accepted`);
  if (/no matching host key/i.test(error.message)) {
    return new SshError('host-key-mismatch', `host key mismatch for ${where}: it offers none of the pinned key types (${pinnedTypes.join(', ')})`);
  }
  if (error.level === 'client-timeout' || (error.code && TRANSIENT_CODES.has(error.code)) || /connection lost|handshake/i.test(error.message)) {
    return new SshError('unreachable', `cannot reach ${where}: ${error.code ?? error.message}`);
  }
  return new SshError('protocol', `SSH to ${where} failed: ${error.message}`);
}

/**
 * What goes over SSH for an `sh` script: sshd runs it with the login user's shell, which may be
 * fish, tcsh or anything else. The script travels base64-encoded inside one single-quoted word
 * that every such shell passes through untouched, and `/bin/sh` decodes and runs it.
 */
export function forLoginShell(script: string): string {
  return `exec /bin/sh -c 'eval "$(echo ${Buffer.from(script).toString('base64')} | base64 -d)"'`;
}

export function describeHost(host: SshHost): string {
  return `${host.user}@${host.address}:${host.port}`;
}

/** One SSH connection, reused for every command an activity runs on that host. */
export class SshSession {
  private constructor(private readonly client: ssh2.Client, readonly host: SshHost) {}

  static async connect(host: SshHost, settings: SshSettings, signal?: AbortSignal): Promise<SshSession> {
    const entries = parseKnownHosts(readFileSync(settings.knownHostsPath, 'utf8'));
    const known = keysForHost(entries, host.address, host.port);
    const revoked = revokedKeys(entries);
    const where = describeHost(host);
    if (!known.some((k) => !k.revoked)) {
      throw new SshError('host-key-unknown', `host ${host.address} port ${host.port} is not in ${settings.knownHostsPath}: add its key (host keys are pinned, never trusted on first use)`);
    }
    let keyProblem: string | undefined;
    const client = new ssh2.Client();
    const config: ConnectConfig = {
      host: host.address,
      port: host.port,
      username: host.user,
      privateKey: settings.privateKey,
      passphrase: settings.passphrase,
      readyTimeout: settings.connectTimeoutMs,
      keepaliveInterval: settings.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: hostKeyAlgorithms(known) as never },
      hostVerifier: (presented: Buffer) => {
        const match = known.find((k) => k.key.equals(presented));
        if (match && !match.revoked) return true;
        const pinned = known.filter((k) => !k.revoked).map((k) => `${k.keyType} ${fingerprint(k.key)}`).join(', ');
        keyProblem = match?.revoked || revoked.some((r) => r.equals(presented))
          ? `host key of ${where} (${fingerprint(presented)}) is marked @revoked in ${settings.knownHostsPath}`
          : `host key mismatch for ${where}: it presented ${fingerprint(presented)}, known_hosts pins ${pinned}`;
        return false;
      },
    };
    return new Promise<SshSession>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const onAbort = () => settle(() => {
        client.end();
        reject(new SshError('cancelled', `connecting to ${where} was cancelled`));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      client.once('ready', () => settle(() => resolve(new SshSession(client, host))));
      // Errors after the first (and after 'ready') surface through the running command: a
      // dropped connection closes its channel without an exit code. The listener stays so
      // that none of them can crash the worker.
      client.on('error', (error: Error & { level?: string; code?: string }) => settle(() => {
        client.end();
        reject(classifyConnectError(error, where, keyProblem, known.map((k) => k.keyType)));
      }));
      client.on('close', () => settle(() => reject(new SshError('unreachable', `the connection to ${where} closed during the handshake`))));
      client.connect(config);
    });
  }

  run(command: HostCommand, options: RunOptions): Promise<CommandResult> {
    const started = Date.now();
    const where = describeHost(this.host);
    const token = processToken(command, randomUUID());
    return new Promise<CommandResult>((resolve, reject) => {
      this.client.exec(forLoginShell(hostScript(command, token)), (error, channel: ClientChannel) => {
        if (error) return reject(new SshError('unreachable', `cannot start "${command.label}" on ${where}: ${error.message}`));
        const stdout = new TailBuffer(16 * 1024);
        const stderr = new TailBuffer(16 * 1024);
        const captured: Buffer[] = [];
        let capturedBytes = 0;
        let outputBytes = 0;
        let failure: SshError | undefined;
        const cleanup = () => {
          clearTimeout(timer);
          clearInterval(progress);
          options.signal?.removeEventListener('abort', onAbort);
        };
        // A timed-out or cancelled command is stopped on the host (its whole process group)
        // before the step gives up: the session is closed by the activity right after.
        const stop = (problem: SshError) => {
          if (failure) return;
          failure = problem;
          cleanup();
          try {
            channel.close();
          } catch {
            // the channel is already gone
          }
          void this.stopOnHost(token).finally(() => reject(problem));
        };
        const timer = setTimeout(() => stop(new SshError('timeout', `"${command.label}" on ${where} did not finish within ${options.timeoutMs} ms`)), options.timeoutMs);
        const progress = setInterval(() => options.onProgress?.({ outputBytes, elapsedMs: Date.now() - started }), 1_000);
        const onAbort = () => stop(new SshError('cancelled', `"${command.label}" on ${where} was cancelled`));
        options.signal?.addEventListener('abort', onAbort, { once: true });

        // Both streams are always drained, or a chatty command would block on a full window.
        channel.on('data', (chunk: Buffer) => {
          outputBytes += chunk.length;
          stdout.push(chunk);
          options.onOutput?.(chunk);
          if (options.captureStdout === undefined) return;
          capturedBytes += chunk.length;
          if (capturedBytes > options.captureStdout) stop(new SshError('protocol', `"${command.label}" on ${where} printed more than ${options.captureStdout} bytes`));
          else captured.push(chunk);
        });
        channel.stderr.on('data', (chunk: Buffer) => {
          outputBytes += chunk.length;
          stderr.push(chunk);
          options.onOutput?.(chunk);
        });
        channel.on('close', (code: number | null, signalName?: string) => {
          cleanup();
          if (failure) return;
          resolve({
            exitCode: code ?? null,
            signal: signalName,
            durationMs: Date.now() - started,
            outputBytes,
            stdoutTail: stdout.text(),
            stderrTail: stderr.text(),
            stdout: options.captureStdout === undefined ? undefined : Buffer.concat(captured).toString('utf8'),
          });
        });
        channel.end(command.stdin ?? undefined);
      });
    });
  }

  /**
   * Kills what a stopped command left running on the host. Best effort, and bounded: when the
   * connection itself is gone there is nothing this session can reach.
   */
  private stopOnHost(token: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
      const done = () => { clearTimeout(timer); resolve(); };
      try {
        this.client.exec(forLoginShell(stopScript(token)), (error, channel) => {
          if (error) return done();
          channel.on('close', done);
          channel.on('data', () => undefined);
          channel.stderr.on('data', () => undefined);
        });
      } catch {
        done();
      }
    });
  }

  /**
   * A stream to a unix socket or a TCP port on the host (or reachable from it), carried by this
   * connection (OpenSSH's `direct-streamlocal` / `direct-tcpip`): what talks to a load
   * balancer's admin socket without `socat` on its host.
   */
  openStream(to: { socket: string } | { host: string; port: number }): Promise<ClientChannel> {
    const where = describeHost(this.host);
    const what = 'socket' in to ? to.socket : `${to.host}:${to.port}`;
    return new Promise((resolve, reject) => {
      const done = (error: Error | undefined, channel: ClientChannel) => (error
        ? reject(new SshError('unreachable', `${where} could not open ${what}: ${error.message}`))
        : resolve(channel));
      if ('socket' in to) this.client.openssh_forwardOutStreamLocal(to.socket, done);
      else this.client.forwardOut('127.0.0.1', 0, to.host, to.port, done);
    });
  }

  close(): void {
    this.client.end();
  }
}
