import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from '../../src/temporal/dev-server.js';
import { freePort } from '../../src/sandbox/fleet.js';
import { HaproxyRuntimeApi } from '../../src/traffic/runtime-api.js';
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
 * `backend`, health-checking them at `check` every `checkTiming`, its runtime API at level admin
 * on a TCP port and a unix socket. Undefined when HAProxy is not installed and we are not root
 * to install it.
 */
export async function startHaproxy(backend: string, servers: Record<string, string>, check = '/health', checkTiming = 'inter 200ms fall 2 rise 1'): Promise<TestHaproxy | undefined> {
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
${Object.entries(servers).map(([name, address]) => `  server ${name} ${address} check ${checkTiming}`).join('\n')}
`);
  const child = spawnManaged(binary, ['-W', '-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  await waitForPort('127.0.0.1', apiPort, 10_000);
  return { runtimeApi: `127.0.0.1:${apiPort}`, socket, url: `http://127.0.0.1:${frontendPort}`, stop: () => stopManaged(child) };
}

/** What a test saw of a balancer's servers while it watched: every status each one showed. */
export interface BalancerWatch {
  stop(): Promise<Map<string, Set<string>>>;
}

/** Reads `show stat` every 100 ms until stopped. */
export function watchBalancer(lb: TestHaproxy, backend: string): BalancerWatch {
  const api = new HaproxyRuntimeApi(lb.runtimeApi);
  const seen = new Map<string, Set<string>>();
  let watching = true;
  const loop = (async () => {
    while (watching) {
      for (const stat of await api.stats()) {
        if (stat.backend !== backend) continue;
        seen.set(stat.server, (seen.get(stat.server) ?? new Set()).add(stat.status));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      watching = false;
      await loop;
      return seen;
    },
  };
}

/** Each server's status now. */
export async function serverStatuses(lb: TestHaproxy, backend: string): Promise<Record<string, string>> {
  const stats = await new HaproxyRuntimeApi(lb.runtimeApi).stats();
  return Object.fromEntries(stats.filter((s) => s.backend === backend).map((s) => [s.server, s.status]));
}

/** Waits until every server of `backend` is UP and takes requests (HAProxy's checks passed). */
export async function untilAllServing(lb: TestHaproxy, backend: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await serverStatuses(lb, backend);
    if (Object.values(statuses).every((status) => status === 'UP')) return;
    if (Date.now() > deadline) throw new Error(`HAProxy's ${backend} is not all UP after ${timeoutMs} ms: ${JSON.stringify(statuses)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
