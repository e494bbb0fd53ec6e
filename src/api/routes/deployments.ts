import { Router } from 'express';
import { dryRun, type DryRunDeps } from '../dry-run.js';
import type { SlipwayConfig } from '../../config/schema.js';
import { buildDeployPlan } from '../../config/plan.js';
import { requireScope } from '../auth.js';
import { environmentRequest } from './services.js';
import type { Metrics } from '../metrics.js';
import { idempotencyOf } from '../idempotency.js';
import { enforceRolloutPolicy } from '../policy.js';
import { HttpProblem, invalidBody, notFound } from '../problem.js';
import type { Runs } from '../runs.js';
import { deployRequestSchema, listQuerySchema, overrideRequestSchema } from '../schemas.js';
import { promotionGate } from '../promotion.js';
import { OPERATOR_ACTIONS, type OperatorAction } from '../../domain/operator-actions.js';
import type { DeployPlan } from '../../domain/plan.js';
import { unfillableTemplates, whyMissing } from '../../domain/plan-check.js';
import { formatDuration } from '../../domain/duration.js';
import type { StepLogStore } from '../../step-logs/store.js';

/** `400` before anything runs when a template of the plan has no value for this run. */
export function refuseUnfillableTemplates(plan: DeployPlan): void {
  const unfillable = unfillableTemplates(plan);
  if (!unfillable.length) return;
  const errors = unfillable.map((u) => ({
    field: `services.${plan.service}.${u.field}`,
    message: `template "${u.template}" uses ${u.variables.map((v) => `{${v}}`).join(', ')}${u.target ? ` (target ${u.target})` : ''}, which has no value: ${whyMissing(u.variables[0]!, u.field)}`,
  }));
  throw new HttpProblem(400, 'Invalid request', `this deploy cannot fill the service's templates: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, errors);
}

export function deploymentRoutes(config: SlipwayConfig, runs: Runs, metrics: Metrics, planning: DryRunDeps, stepLogs: StepLogStore): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const { body, service, environment } = environmentRequest(req, config, deployRequestSchema, 'deploy');
    enforceRolloutPolicy(body.rollout, environment, req.principal);
    if (body.tag !== undefined && environment.requireChecks) {
      // The checks are of a commit; a git ref named like the image tag need not be the commit
      // the image was built from.
      throw new HttpProblem(400, 'Invalid request', `${body.service}/${body.environment} requires green checks on the commit it deploys: deploy it by sha`,
        [{ field: 'tag', message: 'requireChecks: deploy by sha, the commit the images were built from' }]);
    }
    const plan = buildDeployPlan(body.service, service, body.environment, environment, body);
    refuseUnfillableTemplates(plan);
    const overrides = await promotionGate(runs, body.service, body.environment, environment, body.sha, req.principal, body.override);
    if (body.dryRun) return void res.json(await dryRun('deploy', plan, planning));
    const idempotency = idempotencyOf(req, 'deploy', body);
    const { run, created } = await runs.enqueue('deploy', plan, { idempotency, overrides, requestedBy: req.principal?.name });
    if (created) metrics.runsStarted.inc({ kind: 'deploy', service: body.service, environment: body.environment });
    res.status(202).location(run.links.self).json(run);
  });

  router.get('/', async (req, res) => {
    requireScope(req.principal, 'read');
    const parsed = listQuerySchema.safeParse(req.query);
    if (!parsed.success) throw invalidBody(parsed.error.issues, 'query');
    res.json(await runs.list(parsed.data));
  });

  // An admin starts a run waiting for its window (or a freeze's end) now.
  router.post('/:id/override', async (req, res) => {
    requireScope(req.principal, 'admin');
    const parsed = overrideRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw invalidBody(parsed.error.issues);
    const run = await runs.get(req.params.id);
    if (!run) throw notFound(`no deployment ${req.params.id}`);
    res.status(202).json(await runs.overrideWindow(run, parsed.data.reason, req.principal!.name));
  });

  router.post('/:id/:action', async (req, res) => {
    const action = req.params.action as OperatorAction;
    if (!(OPERATOR_ACTIONS as readonly string[]).includes(action)) throw notFound(`no action "${req.params.action}"; actions: ${OPERATOR_ACTIONS.join(', ')}`);
    const run = await runs.get(req.params.id);
    if (!run) throw notFound(`no deployment ${req.params.id}`);
    requireScope(req.principal, `deploy:${run.service}/${run.environment}`);
    res.status(202).json(await runs.act(run, action, req.principal!.name));
  });

  // A target's steps, from the step logs the worker writes as they run (named by id or name).
  router.get('/:id/targets/:target', async (req, res) => {
    requireScope(req.principal, 'read');
    const run = await runs.get(req.params.id);
    if (!run) throw notFound(`no deployment ${req.params.id}`);
    const target = run.targets.find((t) => t.id === req.params.target) ?? run.targets.find((t) => t.name === req.params.target);
    if (!target) throw notFound(`${run.id} has no target "${req.params.target}"; its targets: ${run.targets.map((t) => t.name).join(', ')}`);
    res.json({ run: run.id, target, steps: stepLogs.read(run.id, target.id), keptFor: formatDuration(stepLogs.keepMs) });
  });

  router.get('/:id', async (req, res) => {
    requireScope(req.principal, 'read');
    const run = await runs.get(req.params.id);
    if (!run) throw notFound(`no deployment ${req.params.id}`);
    // What each host is doing now, for a live view (`slipway … --wait`).
    for (const target of run.targets) {
      if (target.status === 'updating') target.step = stepLogs.runningStep(run.id, target.id);
    }
    res.json(run);
  });

  return router;
}
