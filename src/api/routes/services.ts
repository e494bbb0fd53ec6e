import { Router } from 'express';
import type { SlipwayConfig } from '../../config/schema.js';
import { requireScope } from '../auth.js';
import { notFound } from '../problem.js';
import type { Runs } from '../runs.js';

/** The service and environment a request names, or 404 naming what is unknown. */
export function findEnvironment(config: SlipwayConfig, service: string, environment: string) {
  const svc = config.services[service];
  if (!svc) throw notFound(`unknown service "${service}"`);
  const env = svc.environments[environment];
  if (!env) throw notFound(`service "${service}" has no environment "${environment}"`);
  return { service: svc, environment: env };
}

export function serviceRoutes(config: SlipwayConfig, runs: Runs): Router {
  const router = Router();
  router.get('/:service/environments/:environment', async (req, res) => {
    requireScope(req.principal, 'read');
    findEnvironment(config, req.params.service, req.params.environment);
    res.json(await runs.environment(req.params.service, req.params.environment));
  });
  router.get('/', (req, res) => {
    requireScope(req.principal, 'read');
    res.json({ items: Object.entries(config.services).map(([name, s]) => ({ name, environments: Object.keys(s.environments) })) });
  });
  return router;
}
