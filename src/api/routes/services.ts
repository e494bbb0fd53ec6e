import { Router, type Request } from 'express';
import { z } from 'zod';
import { own, type SlipwayConfig } from '../../config/schema.js';
import { requireScope } from '../auth.js';
import { invalidBody, notFound } from '../problem.js';
import type { Runs } from '../runs.js';
import { describeEnvironment } from '../environments.js';

/** The service and environment a request names, or 404 naming what is unknown. */
export function findEnvironment(config: SlipwayConfig, service: string, environment: string) {
  const svc = own(config.services, service);
  if (!svc) throw notFound(`unknown service "${service}"`);
  const env = own(svc.environments, environment);
  if (!env) throw notFound(`service "${service}" has no environment "${environment}"`);
  return { service: svc, environment: env };
}

/**
 * The opening of every route that acts on an environment: the body validated (400), the
 * service and environment found (404), then the caller's `<verb>:<service>/<environment>` scope (403).
 */
export function environmentRequest<S extends z.ZodType<{ service: string; environment: string }>>(
  req: Request, config: SlipwayConfig, schema: S, verb: 'deploy' | 'rotate',
): { body: z.output<S> } & ReturnType<typeof findEnvironment> {
  const parsed = schema.safeParse(req.body ?? {});
  if (!parsed.success) throw invalidBody(parsed.error.issues);
  const body = parsed.data as z.output<S>;
  const found = findEnvironment(config, body.service, body.environment);
  requireScope(req.principal, `${verb}:${body.service}/${body.environment}`);
  return { body, ...found };
}

const releaseBody = z.strictObject({ reason: z.string().max(500).optional() });

export function serviceRoutes(config: SlipwayConfig, runs: Runs): Router {
  const router = Router();
  router.post('/:service/environments/:environment/release', async (req, res) => {
    requireScope(req.principal, 'admin');
    findEnvironment(config, req.params.service, req.params.environment);
    const parsed = releaseBody.safeParse(req.body ?? {});
    if (!parsed.success) throw invalidBody(parsed.error.issues);
    res.status(202).json(await runs.release(req.params.service, req.params.environment, req.principal!.name, parsed.data.reason));
  });
  router.get('/:service/environments/:environment', async (req, res) => {
    requireScope(req.principal, 'read');
    const { environment } = findEnvironment(config, req.params.service, req.params.environment);
    res.json(await describeEnvironment(runs, req.params.service, req.params.environment, environment));
  });
  router.get('/', (req, res) => {
    requireScope(req.principal, 'read');
    res.json({ items: Object.entries(config.services).map(([name, s]) => ({ name, environments: Object.keys(s.environments) })) });
  });
  return router;
}
