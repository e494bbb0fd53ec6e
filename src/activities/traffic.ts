import { FailureType, TransientFailureType } from '../domain/failures.js';
import type { StepLogRef } from '../domain/run.js';
import type { HostRef, TrafficTarget } from '../domain/plan.js';
import { describeTrafficTarget, type DrainStep } from '../domain/traffic.js';
import type { HostRunner } from '../ssh/runner.js';
import type { StepLogWriter } from '../step-logs/store.js';
import { drainServer, othersServing, readyServer } from '../traffic/drain.js';
import { HaproxyAnswerError, serverStat, servingServers } from '../traffic/haproxy.js';
import { HaproxyRuntimeApi, RuntimeApiUnreachable } from '../traffic/runtime-api.js';
import { heartbeat } from './context.js';
import { permanentFailure, transientFailure } from './failure.js';

type HaproxyTarget = Extract<TrafficTarget, { kind: 'haproxy' }>;

export interface TrafficDeps {
  runner: HostRunner;
}

/**
 * The load balancer in front of the targets (docs/configuration.md, `traffic`): HAProxy's
 * runtime API, reached directly or through SSH to `via`, or the operator's own drain and ready
 * commands over SSH. HAProxy's refusals are permanent failures naming what it lacks; not
 * answering is transient, retried as any other.
 */
export function trafficActivities({ runner }: TrafficDeps) {
  async function withApi<T>(lb: { runtimeApi: string; via?: HostRef | undefined }, use: (api: HaproxyRuntimeApi) => Promise<T>): Promise<T> {
    try {
      if (!lb.via) return await use(new HaproxyRuntimeApi(lb.runtimeApi));
      return await runner.withSession(lb.via, (session) => use(new HaproxyRuntimeApi(lb.runtimeApi, (to) => session.openStream(to), `${lb.runtimeApi} on ${lb.via!.address}`)));
    } catch (error) {
      if (error instanceof HaproxyAnswerError) throw permanentFailure(FailureType.LoadBalancerRefused, error.message);
      if (error instanceof RuntimeApiUnreachable) throw transientFailure(TransientFailureType.LoadBalancerUnreachable, error.message);
      throw error;
    }
  }

  async function onHost(at: Extract<TrafficTarget, { kind: 'command' }>, which: 'drain' | 'ready', step?: StepLogWriter): Promise<void> {
    const script = at[which];
    await runner.withSession(at.on, (session, signal) => runner.run(session, { label: `${which}: ${script}`, argv: [], script }, signal, undefined, step));
  }

  async function drainHaproxy(lb: HaproxyTarget, { drainTimeoutMs, together, onlyTarget }: DrainStep, step?: StepLogWriter): Promise<void> {
    await withApi(lb, async (api) => {
      const serving = servingServers(await api.stats(), lb.backend);
      // A batch drains together: what serves once all of it is drained is what is left. A
      // server readied a moment ago may still be passing HAProxy's checks: it is waited for.
      if (!onlyTarget && serving.includes(lb.server) && !(await othersServing(api, lb.backend, together, drainTimeoutMs, { onProgress: heartbeat })).length) {
        throw new HaproxyAnswerError('refused', `${lb.server} is the last server of HAProxy's backend ${lb.backend} taking requests${together.length > 1 ? ` once ${together.join(', ')} are drained together` : ''}: draining it would leave none`);
      }
      const { sessionsLeft, waitedMs } = await drainServer(api, lb.backend, lb.server, drainTimeoutMs, { onProgress: heartbeat });
      step?.note(sessionsLeft
        ? `slipway: ${sessionsLeft} session${sessionsLeft === 1 ? '' : 's'} still open after drainTimeout (${(waitedMs / 1000).toFixed(1)} s): going on`
        : `slipway: no session open after ${(waitedMs / 1000).toFixed(1)} s`);
    });
  }

  return {
    /**
     * Preflight: every server the run may drain is in its backend. Run before any target
     * changes, so that a typo in `backend` or `server` fails the run with nothing touched.
     */
    async checkTraffic(at: TrafficTarget[]): Promise<void> {
      const balancers = new Map<string, HaproxyTarget[]>();
      for (const lb of at) {
        if (lb.kind !== 'haproxy') continue;
        const key = JSON.stringify([lb.runtimeApi, lb.via]);
        balancers.set(key, [...(balancers.get(key) ?? []), lb]);
      }
      for (const servers of balancers.values()) {
        await withApi(servers[0]!, async (api) => {
          const stats = await api.stats();
          for (const lb of servers) serverStat(stats, lb.backend, lb.server);
        });
      }
    },

    /**
     * Takes the target out of rotation and, for HAProxy, waits until its open sessions end or
     * `drainTimeoutMs` passes. Refused when that would leave its backend with no server taking
     * requests, unless it is the environment's only target (there is no one else to send them to).
     */
    async drainTarget(drain: DrainStep, log?: StepLogRef): Promise<void> {
      const { at } = drain;
      await runner.logged(log, `drain (${describeTrafficTarget(at)})`, (step) => (at.kind === 'haproxy' ? drainHaproxy(at, drain, step) : onHost(at, 'drain', step)));
    },

    /**
     * Puts the target back in rotation: only ever once it is healthy. With HAProxy, waits up to
     * `waitMs` for its checks to see the server up, so that the next batch drains only once
     * this one takes requests again.
     */
    async readyTarget(at: TrafficTarget, waitMs: number, log?: StepLogRef): Promise<void> {
      await runner.logged(log, `ready (${describeTrafficTarget(at)})`, (step) => (at.kind === 'haproxy'
        ? withApi(at, async (api) => {
          const { up, waitedMs } = await readyServer(api, at.backend, at.server, waitMs, { onProgress: heartbeat });
          step?.note(up ? `slipway: taking requests after ${(waitedMs / 1000).toFixed(1)} s` : `slipway: readied, but HAProxy's checks did not see it up within ${(waitedMs / 1000).toFixed(1)} s`);
        })
        : onHost(at, 'ready', step)));
    },
  };
}
