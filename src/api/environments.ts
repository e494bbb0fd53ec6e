import type { EnvironmentConfig } from '../config/schema.js';
import { promotionVerdict } from '../domain/promotion.js';
import { windowsNow } from '../domain/windows.js';
import type { EnvironmentView } from '../workflows/contract.js';
import type { Runs } from './runs.js';

/** `GET /v1/services/:service/environments/:environment`: the ledger, the lock and the queue, with its windows now and where promotion stands. */
export type EnvironmentDetails = EnvironmentView & {
  windows?: ReturnType<typeof windowsNow> | undefined;
  promotion?: {
    from: string;
    soakMs: number;
    candidate: { sha: string | null; runId: string; deployedAt: string; soaked: boolean; leftMs?: number | undefined } | null;
  } | undefined;
};

export async function describeEnvironment(runs: Runs, service: string, name: string, environment: EnvironmentConfig, now = Date.now()): Promise<EnvironmentDetails> {
  const view: EnvironmentDetails = await runs.environment(service, name);
  // When a run may start here, and whether the release current where it is promoted from may come.
  if (environment.windows) view.windows = windowsNow(environment.windows, now);
  const { promotion } = environment;
  if (promotion) {
    const source = await runs.environment(service, promotion.from);
    const { current } = source;
    const verdict = current?.sha ? promotionVerdict(source, promotion.from, current.sha, promotion.soak, now) : undefined;
    view.promotion = {
      from: promotion.from, soakMs: promotion.soak,
      candidate: current ? { sha: current.sha, runId: current.runId, deployedAt: current.deployedAt, soaked: !!verdict?.ok, ...(verdict && !verdict.ok && verdict.leftMs !== undefined ? { leftMs: verdict.leftMs } : {}) } : null,
    };
  }
  return view;
}
