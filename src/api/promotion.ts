import type { EnvironmentConfig } from '../config/schema.js';
import { formatDuration } from '../domain/duration.js';
import { promotionVerdict } from '../domain/promotion.js';
import type { RunOverride } from '../domain/run.js';
import { hasScope, type Principal } from './auth.js';
import { HttpProblem } from './problem.js';
import type { Runs } from './runs.js';

/**
 * The promotion gate of a deploy to `environment` (docs/windows.md, "Promotion"): `409`
 * naming the condition that failed (and, for the soak, the time left, also as `Retry-After`),
 * unless an admin overrides it; then the answer is the override, for the run and the ledger.
 */
export async function promotionGate(
  runs: Runs, service: string, environmentName: string, environment: EnvironmentConfig, sha: string | undefined,
  principal: Principal | undefined, override: { reason: string } | undefined,
): Promise<RunOverride[]> {
  const { promotion } = environment;
  if (!promotion) return [];
  const refusal = await (async (): Promise<HttpProblem | undefined> => {
    if (!sha) return new HttpProblem(409, 'Conflict', `${service}/${environmentName} takes only releases promoted from ${promotion.from}: deploy by sha, or promote`, [{ field: 'tag', message: 'deploy by sha' }], { condition: 'sha' });
    const verdict = promotionVerdict(await runs.environment(service, promotion.from), promotion.from, sha, promotion.soak, Date.now());
    if (verdict.ok) return undefined;
    const retryAfterSeconds = verdict.leftMs === undefined ? undefined : Math.ceil(verdict.leftMs / 1000);
    return new HttpProblem(409, 'Conflict', `${service}/${environmentName} takes only what was current and healthy in ${promotion.from} for ${formatDuration(promotion.soak)}: ${verdict.message}`, undefined, { condition: verdict.condition, retryAfterSeconds });
  })();
  if (!refusal) return [];
  if (!override) throw refusal;
  if (!hasScope(principal, 'admin')) throw new HttpProblem(403, 'Forbidden', 'override needs the admin scope', [{ field: 'override', message: 'admin only' }]);
  return [{ kind: 'promotion', reason: override.reason, by: principal!.name, at: new Date().toISOString(), overrode: refusal.detail }];
}
