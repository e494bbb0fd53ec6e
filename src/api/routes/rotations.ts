import { Router } from 'express';
import { buildRotationPlan, repositoriesIn } from '../../config/plan.js';
import { own, type SlipwayConfig } from '../../config/schema.js';
import { parseDuration } from '../../domain/duration.js';
import { requireScope } from '../auth.js';
import type { Metrics } from '../metrics.js';
import { HttpProblem, notFound } from '../problem.js';
import type { Rotations } from '../rotations.js';
import { rotationRequestSchema } from '../schemas.js';
import { idempotencyOf } from '../idempotency.js';
import { enforceRotatable } from '../policy.js';
import type { ScheduledRotationInput } from '../../workflows/contract.js';
import { environmentRequest } from './services.js';

/** The shortest period a schedule may have: a rotation restarts every host. */
const MIN_SCHEDULE_MS = 60 * 60_000;

/** `POST /v1/rotations` (once, or on a Schedule), `GET /v1/rotations/:id`, and retry after a failed compensation. */
export function rotationRoutes(config: SlipwayConfig, rotations: Rotations, metrics: Metrics): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const { body, service } = environmentRequest(req, config, rotationRequestSchema, 'rotate');
    if (!config.encryption) {
      // Rotated values ride in workflow history: never without the payload codec.
      throw new HttpProblem(409, 'Conflict', 'rotations need payload encryption: configure encryption.keys (npm start creates a local key)');
    }
    const recipe = body.kind === 'recipe' ? own(service.rotations, body.recipe) : undefined;
    if (body.kind === 'recipe') {
      if (!recipe) {
        const known = Object.keys(service.rotations);
        throw new HttpProblem(400, 'Invalid request', `service "${body.service}" has no recipe "${body.recipe}"`,
          [{ field: 'recipe', message: known.length ? `expected one of ${known.join(', ')}` : `services.${body.service}.rotations declares no recipe` }]);
      }
      // It restarts other services too: the caller must be allowed to rotate each of them.
      for (const w of recipe.write) requireScope(req.principal, `rotate:${w.service}/${w.environment}`);
    }
    if (body.kind === 'env-secret') enforceRotatable(body.service, service, body);
    if ((body.kind === 'ssh-key' || body.kind === 'registry-token') && !config.credentialStore) {
      throw new HttpProblem(409, 'Conflict', `${body.kind} rotations need credentialStore: a directory, shared by every worker, where Slipway keeps the credentials it rotated`);
    }
    const secretNames = body.kind === 'env-secret' ? Object.keys(body.githubSecrets ?? {}) : body.kind === 'recipe' ? [] : body.githubSecret ? [body.githubSecret] : [];
    if (secretNames.length && !service.repo) {
      const field = body.kind === 'env-secret' ? 'githubSecrets' : 'githubSecret';
      throw new HttpProblem(400, 'Invalid request', `${field} needs a repo for service "${body.service}"`, [{ field, message: 'the service has no repo' }]);
    }
    if (body.kind === 'registry-token') {
      if (!repositoriesIn(service, body.registry).length) {
        throw new HttpProblem(400, 'Invalid request', `service "${body.service}" has no image in ${body.registry}`, [{ field: 'registry', message: 'not a registry of the service\'s images' }]);
      }
      const configured = own(config.registries, body.registry);
      if (!configured?.username || !configured.token) {
        // A failed rotation logs the hosts back in with the old token: Slipway must have one.
        throw new HttpProblem(409, 'Conflict', `registries."${body.registry}" needs a username and a token in the config: Slipway rotates a registry credential it already holds`);
      }
    }
    if (body.schedule) {
      if (body.kind === 'registry-token') {
        throw new HttpProblem(400, 'Invalid request', 'a registry token is supplied: a schedule would log in with the same one at every run', [{ field: 'schedule', message: 'not for registry-token' }]);
      }
      if (body.kind === 'env-secret') {
        const supplied = Object.entries(body.variables).filter(([, source]) => 'value' in source).map(([name]) => name);
        if (supplied.length) {
          throw new HttpProblem(400, 'Invalid request', 'a scheduled rotation generates its values: a supplied value would be the same at every run',
            supplied.map((name) => ({ field: `variables.${name}`, message: 'use generate in a schedule' })));
        }
      }
      if (parseDuration(body.schedule.every)! < MIN_SCHEDULE_MS) {
        throw new HttpProblem(400, 'Invalid request', 'a schedule runs at most once an hour', [{ field: 'schedule.every', message: 'at least 1h' }]);
      }
      const request: ScheduledRotationInput['request'] = body.kind === 'env-secret'
        ? { kind: body.kind, variables: Object.fromEntries(Object.entries(body.variables).flatMap(([name, source]) => ('generate' in source ? [[name, source]] : []))), githubSecrets: body.githubSecrets }
        : body.kind === 'recipe' ? { kind: body.kind, recipe: body.recipe } : { kind: body.kind, githubSecret: body.githubSecret };
      const schedule = await rotations.schedule({ service: body.service, environment: body.environment, request }, body.schedule.every);
      res.status(201).location(schedule.links.self).json(schedule);
      return;
    }
    const { rotation, created } = await rotations.start(buildRotationPlan(config, body.service, body.environment, body), idempotencyOf(req, 'rotation', body));
    if (created) metrics.runsStarted.inc({ kind: 'rotation', service: body.service, environment: body.environment });
    res.status(202).location(rotation.links.self).json(rotation);
  });

  router.get('/:id', async (req, res) => {
    requireScope(req.principal, 'read');
    const rotation = await rotations.get(req.params.id);
    if (!rotation) throw notFound(`no rotation ${req.params.id}`);
    res.json(rotation);
  });

  router.post('/:id/:action', async (req, res) => {
    const action = req.params.action;
    if (action !== 'retry' && action !== 'abort') throw notFound(`no action "${action}"; actions: retry, abort`);
    const rotation = await rotations.get(req.params.id);
    if (!rotation) throw notFound(`no rotation ${req.params.id}`);
    // Giving up leaves hosts for someone to fix by hand: an admin's call.
    requireScope(req.principal, action === 'abort' ? 'admin' : `rotate:${rotation.service}/${rotation.environment}`);
    // Still in its environment's queue, it has no workflow to ask yet.
    if (rotation.status === 'queued') throw new HttpProblem(409, 'Conflict', `cannot ${action}: the rotation is queued; ${action} applies to a rotation whose compensation failed`);
    res.status(202).json(await rotations.act(rotation.id, action));
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
