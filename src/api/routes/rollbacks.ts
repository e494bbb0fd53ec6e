import { Router } from 'express';
import { dryRun, type DryRunDeps } from '../dry-run.js';
import { buildDeployPlan } from '../../config/plan.js';
import type { SlipwayConfig } from '../../config/schema.js';
import type { Metrics } from '../metrics.js';
import type { Runs } from '../runs.js';
import { rollbackRequestSchema } from '../schemas.js';
import { idempotencyOf } from '../idempotency.js';
import { environmentRequest } from './services.js';

/** `POST /v1/rollbacks`: back to a named known-good SHA, or by default the one before current. */
export function rollbackRoutes(config: SlipwayConfig, runs: Runs, metrics: Metrics, planning: DryRunDeps): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const { body, service, environment } = environmentRequest(req, config, rollbackRequestSchema, 'deploy');
    // The version is chosen from the ledger when the run gets the environment's lock.
    const plan = buildDeployPlan(body.service, service, body.environment, environment, body.sha ? { sha: body.sha, reason: body.reason } : { tag: 'previous', reason: body.reason });
    if (body.dryRun) return void res.json(await dryRun('rollback', plan, planning, { rollbackTo: body.sha }));
    const { run, created } = await runs.enqueue('rollback', plan, { rollbackTo: body.sha, idempotency: idempotencyOf(req, 'rollback', body), requestedBy: req.principal?.name });
    if (created) metrics.runsStarted.inc({ kind: 'rollback', service: body.service, environment: body.environment });
    res.status(202).location(run.links.self).json(run);
  });
  return router;
}
