import { serverStat, servingServers } from './haproxy.js';
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
 * Takes a server out of rotation (`state drain`: no new session goes to it, open ones go on)
 * and waits until its open sessions have ended, or `drainTimeoutMs` has passed, whichever
 * comes first: what the runbook's "disable it in HAProxy, wait, restart" does by hand.
 */
export async function drainServer(api: HaproxyRuntimeApi, backend: string, server: string, drainTimeoutMs: number, options: Polling = {}): Promise<DrainOutcome> {
  await api.setState(backend, server, 'drain');
  const started = Date.now();
  for (;;) {
    const { sessions } = serverStat(await api.stats(), backend, server);
    const waitedMs = Date.now() - started;
    if (sessions === 0 || waitedMs >= drainTimeoutMs) return { sessionsLeft: sessions, waitedMs };
    options.onProgress?.({ draining: server, sessions });
    await sleep(Math.min(options.pollMs ?? POLL_MS, drainTimeoutMs - waitedMs));
  }
}

/**
 * Puts a server back in rotation and waits until HAProxy's own checks see it up (a server
 * readied while its checks still fail takes no request yet), or `waitMs` has passed: the next
 * batch then leaves the capacity it counted on. Answers whether it is up.
 */
export async function readyServer(api: HaproxyRuntimeApi, backend: string, server: string, waitMs: number, options: Polling = {}): Promise<{ up: boolean; waitedMs: number }> {
  await api.setState(backend, server, 'ready');
  const started = Date.now();
  for (;;) {
    const up = servingServers(await api.stats(), backend).includes(server);
    const waitedMs = Date.now() - started;
    if (up || waitedMs >= waitMs) return { up, waitedMs };
    options.onProgress?.({ readying: server });
    await sleep(Math.min(options.pollMs ?? POLL_MS, waitMs - waitedMs));
  }
}

/**
 * Waits until a server outside `draining` takes requests in `backend` (one just readied may
 * still be passing HAProxy's checks), for at most `waitMs`. Answers those that do.
 */
export async function othersServing(api: HaproxyRuntimeApi, backend: string, draining: string[], waitMs: number, options: Polling = {}): Promise<string[]> {
  const started = Date.now();
  for (;;) {
    const others = servingServers(await api.stats(), backend).filter((s) => !draining.includes(s));
    const waitedMs = Date.now() - started;
    if (others.length || waitedMs >= waitMs) return others;
    options.onProgress?.({ waitingForAnotherServer: backend });
    await sleep(Math.min(options.pollMs ?? POLL_MS, waitMs - waitedMs));
  }
}
