import { serverStat } from './haproxy.js';
import type { HaproxyRuntimeApi } from './runtime-api.js';

export interface DrainOutcome {
  /** Sessions still open when the wait ended: more than 0 only when `drainTimeout` ran out. */
  sessionsLeft: number;
  waitedMs: number;
}

/**
 * Takes a server out of rotation (`state drain`: no new session goes to it, open ones go on)
 * and waits until its open sessions have ended, or `drainTimeoutMs` has passed, whichever
 * comes first: what the runbook's "disable it in HAProxy, wait, restart" does by hand.
 */
export async function drainServer(
  api: HaproxyRuntimeApi, backend: string, server: string, drainTimeoutMs: number,
  options: { pollMs?: number; onProgress?: (sessions: number) => void } = {},
): Promise<DrainOutcome> {
  await api.setState(backend, server, 'drain');
  const started = Date.now();
  for (;;) {
    const { sessions } = serverStat(await api.stats(), backend, server);
    const waitedMs = Date.now() - started;
    if (sessions === 0 || waitedMs >= drainTimeoutMs) return { sessionsLeft: sessions, waitedMs };
    options.onProgress?.(sessions);
    await new Promise((r) => setTimeout(r, Math.min(options.pollMs ?? 250, drainTimeoutMs - waitedMs)));
  }
}
