import { FailureType, TransientFailureType } from '../domain/failures.js';
import type { HostRef } from '../domain/plan.js';
import type { HostRunner } from '../ssh/runner.js';
import { drainServer, type DrainOutcome } from '../traffic/drain.js';
import { HaproxyAnswerError, serverStat, servingServers } from '../traffic/haproxy.js';
import { HaproxyRuntimeApi, RuntimeApiUnreachable } from '../traffic/runtime-api.js';
import { heartbeat } from './context.js';
import { permanentFailure, transientFailure } from './failure.js';

/** One target's server behind HAProxy, rendered for that target. */
export interface HaproxyServer {
  /** `host:port`, or a unix socket path (on `via`'s host when given). */
  runtimeApi: string;
  /** The balancer's host, when its runtime API is reached through SSH. */
  via?: HostRef | undefined;
  backend: string;
  server: string;
}

export interface TrafficDeps {
  runner: HostRunner;
}

/**
 * The load balancer in front of the targets (docs/configuration.md, `traffic`): HAProxy's
 * runtime API, reached directly or through SSH to `via`. Its refusals are permanent failures
 * naming what it lacks; not answering is transient, retried as any other.
 */
export function trafficActivities({ runner }: TrafficDeps) {
  async function withApi<T>(lb: HaproxyServer, use: (api: HaproxyRuntimeApi) => Promise<T>): Promise<T> {
    try {
      if (!lb.via) return await use(new HaproxyRuntimeApi(lb.runtimeApi));
      return await runner.withSession(lb.via, (session) => use(new HaproxyRuntimeApi(lb.runtimeApi, (to) => session.openStream(to), `${lb.runtimeApi} on ${lb.via!.address}`)));
    } catch (error) {
      if (error instanceof HaproxyAnswerError) throw permanentFailure(FailureType.LoadBalancerRefused, error.message);
      if (error instanceof RuntimeApiUnreachable) throw transientFailure(TransientFailureType.LoadBalancerUnreachable, error.message);
      throw error;
    }
  }

  return {
    /**
     * Preflight: every server the run may drain is in its backend. Run before any target
     * changes, so that a typo in `backend` or `server` fails the run with nothing touched.
     */
    async checkHaproxyServers(servers: HaproxyServer[]): Promise<void> {
      for (const lb of servers) await withApi(lb, async (api) => { serverStat(await api.stats(), lb.backend, lb.server); });
    },

    /**
     * Takes the server out of rotation and waits until its open sessions end, or
     * `drainTimeoutMs`. Refused when it is the last server taking requests in its backend,
     * unless it is the environment's only target (then there is no one else to send them to).
     */
    async drainHaproxyServer(lb: HaproxyServer, drainTimeoutMs: number, onlyTarget: boolean): Promise<DrainOutcome> {
      return withApi(lb, async (api) => {
        const serving = servingServers(await api.stats(), lb.backend);
        if (!onlyTarget && serving.length === 1 && serving[0] === lb.server) {
          throw new HaproxyAnswerError('refused', `${lb.server} is the last server of HAProxy's backend ${lb.backend} taking requests: draining it would leave none`);
        }
        return drainServer(api, lb.backend, lb.server, drainTimeoutMs, { onProgress: (sessions) => heartbeat({ draining: lb.server, sessions }) });
      });
    },

    /** Puts the server back in rotation (a target is readied only once it is healthy). */
    async readyHaproxyServer(lb: HaproxyServer): Promise<void> {
      await withApi(lb, (api) => api.setState(lb.backend, lb.server, 'ready'));
    },
  };
}
