import { serverStat, servingServers, type ServerStat } from './haproxy.js';
import type { HaproxyRuntimeApi } from './runtime-api.js';

export interface DrainOutcome {
  /** Sessions still open when the wait ended: more than 0 only when `drainTimeout` ran out. */
  sessionsLeft: number;
  waitedMs: number;
}

interface Polling {
  pollMs?: number;
  onProgress?: (detail: Record<string, unknown>) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `show stat` is one short local command for HAProxy: read often, so that no batch waits longer than it must. */
const POLL_MS = 100;

/**
 * Reads `show stat` every `pollMs` until `read` answers something `done` accepts, or `waitMs`
 * has passed: answers the last reading and how long it took.
 */
async function pollStats<T>(api: HaproxyRuntimeApi, waitMs: number, read: (stats: ServerStat[]) => T, done: (value: T) => boolean, progress: Record<string, unknown>, options: Polling): Promise<{ value: T; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const value = read(await api.stats());
    const waitedMs = Date.now() - started;
    if (done(value) || waitedMs >= waitMs) return { value, waitedMs };
    options.onProgress?.(progress);
    await sleep(Math.min(options.pollMs ?? POLL_MS, waitMs - waitedMs));
  }
}

/**
 * Takes a server out of rotation (`state drain`: no new session goes to it, open ones go on)
 * and waits until its open sessions have ended, or `drainTimeoutMs` has passed, whichever
 * comes first: what the runbook's "disable it in HAProxy, wait, restart" does by hand.
 */
export async function drainServer(api: HaproxyRuntimeApi, backend: string, server: string, drainTimeoutMs: number, options: Polling = {}): Promise<DrainOutcome> {
  await api.setState(backend, server, 'drain');
  const { value: sessionsLeft, waitedMs } = await pollStats(api, drainTimeoutMs, (stats) => serverStat(stats, backend, server).sessions, (sessions) => sessions === 0, { draining: server }, options);
  return { sessionsLeft, waitedMs };
}

/**
 * Puts a server back in rotation and waits until HAProxy's own checks see it up (a server
 * readied while its checks still fail takes no request yet), or `waitMs` has passed: the next
 * batch then leaves the capacity it counted on. Answers whether it is up.
 */
export async function readyServer(api: HaproxyRuntimeApi, backend: string, server: string, waitMs: number, options: Polling = {}): Promise<{ up: boolean; waitedMs: number }> {
  await api.setState(backend, server, 'ready');
  const { value: up, waitedMs } = await pollStats(api, waitMs, (stats) => servingServers(stats, backend).includes(server), (serving) => serving, { readying: server }, options);
  return { up, waitedMs };
}

/**
 * Waits until a server outside `draining` takes requests in `backend` (one just readied may
 * still be passing HAProxy's checks), for at most `waitMs`. Answers those that do.
 */
export async function othersServing(api: HaproxyRuntimeApi, backend: string, draining: string[], waitMs: number, options: Polling = {}): Promise<string[]> {
  const read = (stats: ServerStat[]) => servingServers(stats, backend).filter((s) => !draining.includes(s));
  return (await pollStats(api, waitMs, read, (others) => others.length > 0, { waitingForAnotherServer: backend }, options)).value;
}
