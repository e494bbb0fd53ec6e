import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';

export interface DevServerOptions {
  cli: string;
  /** SQLite file that keeps history across restarts. */
  dbFile: string;
  ip?: string;
  port: number;
  uiPort?: number | undefined;
  /** Where the UI's codec server is (Slipway's `/codec`), so that the UI shows payloads decrypted. */
  uiCodecEndpoint?: string | undefined;
  headless?: boolean;
  namespace?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect(port, host);
      socket.once('connect', () => { socket.destroy(); resolve(); });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing answered on ${host}:${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/**
 * The dev server keeps everything in one SQLite file behind one connection, and Go hands that
 * connection to a random one of the requests waiting for it. These settings keep a request (a
 * POST's signal-with-start) from waiting behind background work (docs/benchmarks.md, "One SQLite
 * connection").
 */
const DYNAMIC_CONFIG: Record<string, boolean | number> = {
  // The CLI makes the server read its cluster metadata again on every search-attribute read, so
  // that attributes added while it runs show at once: under load that was nearly half of its
  // queries. Slipway's are registered at start (below); one added by hand shows within a minute.
  'system.forceSearchAttributesCacheRefreshOnRead': false,
  // Each queue's tasks (dispatching steps, starting children and signals; writing the rows the
  // UI lists) are run by 512 workers at once by default: on one connection they only queue, and
  // a request waited behind them. Four each keep up with a 1,000-target rollout.
  'history.transferProcessorSchedulerWorkerCount': 4,
  'history.visibilityProcessorSchedulerWorkerCount': 4,
};

/** `temporal server start-dev` with Slipway's search attributes registered up front. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  mkdirSync(dirname(options.dbFile), { recursive: true });
  const ip = options.ip ?? '127.0.0.1';
  // SQLite in WAL mode, synced at checkpoints: each commit no longer waits on fsync, which
  // under load was most of a POST's time (docs/benchmarks.md). A crash of the machine may lose
  // the last commits; the dev server is for one machine's sandbox and tests.
  const args = ['server', 'start-dev', '--db-filename', options.dbFile, '--ip', ip, '--port', String(options.port), '--log-level', 'error',
    '--namespace', options.namespace ?? 'default',
    ...Object.values(SEARCH_ATTRIBUTES).flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]), '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal',
    ...Object.entries(DYNAMIC_CONFIG).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`])];
  if (options.headless) args.push('--headless');
  else {
    if (options.uiPort) args.push('--ui-port', String(options.uiPort));
    if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  }
  // Its own process group: Ctrl-C reaches Slipway's worker, which drains its steps while the
  // server is still there, and only then stops the server (below, or when this process exits).
  const child = spawn(options.cli, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`temporal server exited (${code}): ${stderr}`))));
  await Promise.race([waitForPort(ip, options.port, 60_000), exited]);
  exited.catch(() => undefined);
  return {
    address: `${ip}:${options.port}`,
    uiUrl: options.headless ? undefined : `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${options.uiPort ?? options.port + 1000}`,
    process: child,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.removeAllListeners('exit');
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
