import { Router } from 'express';
import type { SlipwayConfig } from '../../config/schema.js';
import { buildDeployPlan } from '../../config/plan.js';
import { requireScope } from '../auth.js';
import { environmentRequest } from './services.js';
import type { Metrics } from '../metrics.js';
import { HttpProblem, invalidBody, notFound } from '../problem.js';
import type { Runs } from '../runs.js';
import { deployRequestSchema, listQuerySchema } from '../schemas.js';
import type { OperatorAction } from '../../workflows/deploy.js';

const OPERATOR_ACTIONS: OperatorAction[] = ['approve', 'pause', 'resume', 'abort', 'retry', 'rollback'];

export function deploymentRoutes(config: SlipwayConfig, runs: Runs, metrics: Metrics): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const { body, service, environment } = environmentRequest(req, config, deployRequestSchema, 'deploy');
    const key = req.get('Idempotency-Key');
    if (key !== undefined && !/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw new HttpProblem(400, 'Invalid request', 'Idempotency-Key must be 1 to 255 visible ASCII characters', [{ field: 'Idempotency-Key', message: 'invalid' }]);
    }
    const plan = buildDeployPlan(body.service, service, body.environment, environment, body);
    const { run, created } = await runs.enqueue('deploy', plan, body, key ? { idempotency: { key, principal: req.principal!.name } } : {});
    if (created) metrics.runsStarted.inc({ kind: 'deploy', service: body.service, environment: body.environment });
    res.status(202).location(run.links.self).json(run);
  });

  router.get('/', async (req, res) => {
    requireScope(req.principal, 'read');
    const parsed = listQuerySchema.safeParse(req.query);
    if (!parsed.success) throw invalidBody(parsed.error.issues, 'query');
    res.json(await runs.list(parsed.data));
  });

  router.post('/:id/:action', async (req, res) => {
    const action = req.params.action as OperatorAction;
    if (!OPERATOR_ACTIONS.includes(action)) throw notFound(`no action "${req.params.action}"; actions: ${OPERATOR_ACTIONS.join(', ')}`);
    const run = await runs.get(req.params.id);
    if (!run) throw notFound(`no deployment ${req.params.id}`);
    requireScope(req.principal, `deploy:${run.service}/${run.environment}`);
    res.status(202).json(await runs.act(run.id, action));
  });

  router.get('/:id', async (req, res) => {
    requireScope(req.principal, 'read');
    const run = await runs.get(req.params.id);
    if (!run) throw notFound(`no deployment ${req.params.id}`);
    res.json(run);
  });

  return router;
}
