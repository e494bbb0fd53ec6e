import { Router } from 'express';
import { buildEnvSecretPlan } from '../../config/plan.js';
import type { SlipwayConfig } from '../../config/schema.js';
import { parseDuration } from '../../domain/duration.js';
import { requireScope } from '../auth.js';
import type { Metrics } from '../metrics.js';
import { HttpProblem, invalidBody, notFound } from '../problem.js';
import type { Rotations } from '../rotations.js';
import { rotationRequestSchema } from '../schemas.js';
import { findEnvironment } from './services.js';

/** The shortest period a schedule may have: a rotation restarts every host. */
const MIN_SCHEDULE_MS = 60 * 60_000;

/** `POST /v1/rotations` (once, or on a Schedule), `GET /v1/rotations/:id`, and retry after a failed compensation. */
export function rotationRoutes(config: SlipwayConfig, rotations: Rotations, metrics: Metrics): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const parsed = rotationRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw invalidBody(parsed.error.issues);
    const body = parsed.data;
    const { service, environment } = findEnvironment(config, body.service, body.environment);
    requireScope(req.principal, `rotate:${body.service}/${body.environment}`);
    if (body.kind !== 'env-secret') {
      throw new HttpProblem(501, 'Not implemented', `${body.kind} rotations are not available yet; env-secret is`);
    }
    if (!config.encryption) {
      // Rotated values ride in workflow history: never without the payload codec.
      throw new HttpProblem(409, 'Conflict', 'rotations need payload encryption: configure encryption.keys (npm start creates a local key)');
    }
    if (Object.keys(body.githubSecrets ?? {}).length && !service.repo) {
      throw new HttpProblem(400, 'Invalid request', `githubSecrets needs a repo for service "${body.service}"`, [{ field: 'githubSecrets', message: 'the service has no repo' }]);
    }
    if (body.schedule) {
      const supplied = Object.entries(body.variables).filter(([, source]) => 'value' in source).map(([name]) => name);
      if (supplied.length) {
        throw new HttpProblem(400, 'Invalid request', 'a scheduled rotation generates its values: a supplied value would be the same at every run',
          supplied.map((name) => ({ field: `variables.${name}`, message: 'use generate in a schedule' })));
      }
      if (parseDuration(body.schedule.every)! < MIN_SCHEDULE_MS) {
        throw new HttpProblem(400, 'Invalid request', 'a schedule runs at most once an hour', [{ field: 'schedule.every', message: 'at least 1h' }]);
      }
      const variables = Object.fromEntries(Object.entries(body.variables).flatMap(([name, source]) => ('generate' in source ? [[name, source]] : [])));
      const schedule = await rotations.schedule({ service: body.service, environment: body.environment, request: { kind: body.kind, variables, githubSecrets: body.githubSecrets } }, body.schedule.every);
      res.status(201).location(schedule.links.self).json(schedule);
      return;
    }
    const rotation = await rotations.start(buildEnvSecretPlan(body.service, service, body.environment, environment, body));
    metrics.runsStarted.inc({ kind: 'rotation', service: body.service, environment: body.environment });
    res.status(202).location(rotation.links.self).json(rotation);
  });

  router.get('/:id', async (req, res) => {
    requireScope(req.principal, 'read');
    const rotation = await rotations.get(req.params.id);
    if (!rotation) throw notFound(`no rotation ${req.params.id}`);
    res.json(rotation);
  });

  router.post('/:id/retry', async (req, res) => {
    const rotation = await rotations.get(req.params.id);
    if (!rotation) throw notFound(`no rotation ${req.params.id}`);
    requireScope(req.principal, `rotate:${rotation.service}/${rotation.environment}`);
    res.status(202).json(await rotations.retry(rotation.id));
  });
  return router;
}

/** `GET /v1/schedules` and `DELETE /v1/schedules/:id`: rotations on a Temporal Schedule. */
export function scheduleRoutes(rotations: Rotations): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    requireScope(req.principal, 'read');
    res.json({ items: await rotations.listSchedules() });
  });
  router.delete('/:id', async (req, res) => {
    const schedule = (await rotations.listSchedules()).find((s) => s.id === req.params.id);
    if (!schedule) throw notFound(`no schedule ${req.params.id}`);
    requireScope(req.principal, `rotate:${schedule.service}/${schedule.environment}`);
    if (!await rotations.deleteSchedule(schedule.id)) throw notFound(`no schedule ${req.params.id}`);
    res.status(204).end();
  });
  return router;
}
