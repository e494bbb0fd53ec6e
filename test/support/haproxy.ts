import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from '../../src/temporal/dev-server.js';
import { freePort } from '../../src/sandbox/fleet.js';
import { ensureDebianPackage } from './packages.js';
import { spawnManaged, stopManaged } from './processes.js';

export interface TestHaproxy {
  /** The runtime API on TCP, `127.0.0.1:<port>`. */
  runtimeApi: string;
  /** The same API on a unix socket (what `via` reaches through SSH). */
  socket: string;
  /** Where the frontend listens for the load's requests. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Debian's HAProxy on loopback, in front of `servers` (name → `address:port`) in one backend
 * `backend`, health-checking them at `check`, its runtime API at level admin on a TCP port and a
 * unix socket. Undefined when HAProxy is not installed and we are not root to install it.
 */
export async function startHaproxy(backend: string, servers: Record<string, string>, check = '/health'): Promise<TestHaproxy | undefined> {
  const binary = ensureDebianPackage('haproxy', '/usr/sbin/haproxy');
  if (!binary) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'slipway-haproxy-'));
  const [apiPort, frontendPort] = [await freePort('127.0.0.1'), await freePort('127.0.0.1')];
  const socket = join(dir, 'admin.sock');
  writeFileSync(join(dir, 'haproxy.cfg'), `global
  stats socket ipv4@127.0.0.1:${apiPort} level admin
  stats socket ${socket} mode 600 level admin
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:${frontendPort}
  default_backend ${backend}
backend ${backend}
  option httpchk GET ${check}
${Object.entries(servers).map(([name, address]) => `  server ${name} ${address} check inter 200ms fall 2 rise 1`).join('\n')}
`);
  const child = spawnManaged(binary, ['-W', '-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  await waitForPort('127.0.0.1', apiPort, 10_000);
  return { runtimeApi: `127.0.0.1:${apiPort}`, socket, url: `http://127.0.0.1:${frontendPort}`, stop: () => stopManaged(child) };
}
