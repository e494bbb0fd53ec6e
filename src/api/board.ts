import type { SlipwayConfig } from '../config/schema.js';
import { expandTargets } from '../config/plan.js';
import type { Release } from '../domain/ledger.js';
import { parsePinnedReference } from '../domain/pinned-reference.js';
import type { Run, RunStatus } from '../domain/run.js';
import type { WaitingFor } from '../domain/windows.js';
import { describeEnvironment, type EnvironmentDetails } from './environments.js';
import type { Runs } from './runs.js';

/**
 * What the console's board shows (`GET /v1/board`): every service and environment, its
 * current release, each target's state and version (from the ledger and the run going on, not
 * from the hosts), the run going on, the queue, the windows and where promotion stands.
 */
export interface BoardEnvironment {
  service: string;
  environment: string;
  current: (Release & { tag: string | null }) | null;
  schemaRevision?: string | undefined;
  targets: { name: string; status: string; version: string | null }[];
  active: { id: string; kind: Run['kind'] | 'rotation'; status: RunStatus | 'running'; phase: Run['phase']; sha: string | null; healthy: number; total: number; awaitingOperator?: boolean | undefined } | null;
  queue: { id: string; kind: Run['kind']; sha: string | null; waitingFor?: WaitingFor | undefined }[];
  windows?: EnvironmentDetails['windows'];
  promotion?: EnvironmentDetails['promotion'];
}

const tagOf = (reference: string | undefined) => (reference ? parsePinnedReference(reference)?.tag ?? null : null);

export async function board(config: SlipwayConfig, runs: Runs): Promise<{ environments: BoardEnvironment[] }> {
  const now = Date.now();
  const environments = await Promise.all(Object.entries(config.services).flatMap(([service, svc]) => Object.entries(svc.environments).map(async ([name, env]): Promise<BoardEnvironment> => {
    const details = await describeEnvironment(runs, service, name, env, now);
    const active = details.active?.startsWith('rotation-') ? undefined : details.active ? await runs.get(details.active) : undefined;
    const queued = await Promise.all(details.queue.filter((id) => !id.startsWith('rotation-')).map((id) => runs.get(id)));
    const current = details.current ? { ...details.current, tag: tagOf(Object.values(details.current.images)[0]) } : null;
    const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 7) : null);
    return {
      service, environment: name, current, schemaRevision: details.schemaRevision,
      targets: expandTargets(env).map((t) => {
        const going = active?.targets.find((r) => r.id === t.id);
        return going && going.status !== 'pending'
          ? { name: t.name, status: going.status, version: short(going.version) ?? short(current?.sha) }
          : { name: t.name, status: current ? 'current' : 'undeployed', version: short(current?.sha) ?? tagOf(Object.values(current?.images ?? {})[0]) };
      }),
      active: active ? {
        id: active.id, kind: active.kind, status: active.status, phase: active.phase, sha: active.version.sha,
        healthy: active.targets.filter((t) => t.status === 'healthy').length, total: active.targets.length, awaitingOperator: active.awaitingOperator,
      } : details.active ? { id: details.active, kind: details.active.startsWith('rotation-') ? 'rotation' : 'deploy', status: 'running', phase: 'preflight', sha: null, healthy: 0, total: 0 } : null,
      queue: queued.filter((r) => !!r).map((r) => ({ id: r.id, kind: r.kind, sha: r.version.sha, ...(r.waitingFor ? { waitingFor: r.waitingFor } : {}) })),
      ...(details.windows ? { windows: details.windows } : {}),
      ...(details.promotion ? { promotion: details.promotion } : {}),
    };
  })));
  return { environments };
}
