import { Router } from 'express';
import { buildDeployPlan } from '../../config/plan.js';
import type { SlipwayConfig } from '../../config/schema.js';
import { requireScope } from '../auth.js';
import { dryRun, type DryRunDeps } from '../dry-run.js';
import { idempotencyOf } from '../idempotency.js';
import type { Metrics } from '../metrics.js';
import { HttpProblem, invalidBody } from '../problem.js';
import { promotionGate } from '../promotion.js';
import type { Runs } from '../runs.js';
import { promotionRequestSchema } from '../schemas.js';
import { refuseUnfillableTemplates } from './deployments.js';
import { findEnvironment } from './services.js';

/**
 * `POST /v1/promotions` (docs/windows.md, "Promotion"): deploys to `to` the release current in
 * `from`, its SHA and its very digests, as an ordinary deploy run that names its source.
 */
export function promotionRoutes(config: SlipwayConfig, runs: Runs, metrics: Metrics, planning: DryRunDeps): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const parsed = promotionRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw invalidBody(parsed.error.issues);
    const body = parsed.data;
    findEnvironment(config, body.service, body.from);
    const { service, environment } = findEnvironment(config, body.service, body.to);
    requireScope(req.principal, `deploy:${body.service}/${body.to}`);
    const { current } = await runs.environment(body.service, body.from);
    if (!current) throw new HttpProblem(409, 'Conflict', `nothing is current in ${body.service}/${body.from} to promote`, undefined, { condition: 'never-current' });
    if (!current.sha) throw new HttpProblem(409, 'Conflict', `the release current in ${body.service}/${body.from} was deployed by tag: a promotion deploys a commit, so deploy that one by sha`, undefined, { condition: 'sha' });
    const plan = buildDeployPlan(body.service, service, body.to, environment, { sha: current.sha, reason: body.reason ?? `promoted from ${body.from}` });
    refuseUnfillableTemplates(plan);
    const overrides = await promotionGate(runs, body.service, body.to, environment, current.sha, req.principal, body.override);
    const promotion = { from: body.from, runId: current.runId, images: current.images };
    if (body.dryRun) return void res.json(await dryRun('deploy', plan, planning, { promotion }));
    const { run, created } = await runs.enqueue('deploy', plan, { idempotency: idempotencyOf(req, 'promotion', body), overrides, promotion, requestedBy: req.principal?.name });
    if (created) metrics.runsStarted.inc({ kind: 'deploy', service: body.service, environment: body.to });
    res.status(202).location(run.links.self).json(run);
  });
  return router;
}
