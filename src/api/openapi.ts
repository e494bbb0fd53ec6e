import { z } from 'zod';
import { stepRecordSchema } from '../step-logs/store.js';
import { deployRequestSchema, overrideRequestSchema, promotionRequestSchema, rollbackRequestSchema, rotationRequestSchema } from './schemas.js';

/**
 * `GET /openapi.json`: the API, every route. Request schemas come from the zod
 * schemas that validate them; answers are described here, closed (no property the API does
 * not send), and every answer of the test suite is validated against them
 * (test/support/contract.ts).
 */

/** A closed object: the properties listed, `required` among them, and nothing else. */
const object = (required: string[], properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required, properties });
const string = { type: 'string' };
const dateTime = { type: 'string', format: 'date-time' };
const strings = { type: 'array', items: string };
const nullable = (schema: object) => ({ oneOf: [schema, { type: 'null' }] });
const links = object(['self', 'ui'], { self: { type: 'string', description: 'This resource in the API' }, ui: { type: 'string', format: 'uri', description: 'Its page in the Temporal UI' } });

const problem = object(['type', 'title', 'status', 'detail'], {
  type: string, title: string, status: { type: 'integer' }, detail: string,
  errors: { type: 'array', items: object(['field', 'message'], { field: string, message: string }) },
  condition: { type: 'string', description: 'A refused promotion: which condition failed (sha, never-current, rolled-back, soak); with soak, Retry-After says how long is left' },
});

const images = { type: 'object', additionalProperties: string, description: 'Image name to repository:tag@digest' };
const revision = { type: 'string', description: 'A database schema revision, as runtime.migrate.revision prints it' };
const version = object(['sha', 'images'], { sha: { type: ['string', 'null'] }, images, revision: { ...revision, description: 'The schema revision this release\'s migrations go to, when known' } });
const hookName = { enum: ['beforeDeploy', 'afterDeploy', 'afterRollback'] };
const waitingFor = object(['kind', 'until', 'reason'], {
  kind: { enum: ['window', 'freeze'] }, until: { ...dateTime, description: 'When it starts by itself' }, reason: string,
});
const runOverride = object(['kind', 'reason', 'by', 'at', 'overrode'], {
  kind: { enum: ['window', 'promotion'] }, reason: string, by: { type: 'string', description: 'The admin token\'s name' }, at: dateTime,
  overrode: { type: 'string', description: 'The rule it let the run past, as it was said' },
});
const promotedFrom = object(['environment', 'runId'], { environment: string, runId: { type: 'string', description: 'The run that made the release current there' } });
const runError = object(['type', 'step', 'message'], { type: string, step: string, target: string, message: string });
const runTarget = object(['id', 'name', 'status'], {
  id: string, name: string, status: { enum: ['pending', 'updating', 'healthy', 'failed', 'rolled_back'] },
  batch: { type: 'integer', minimum: 1, description: 'The batch it is updated in; 1 is the canary' }, version: string, error: string,
  step: { type: 'string', description: 'GET of one run, while updating: the step running on it now (from the step log)' },
});
const run = object(['id', 'kind', 'service', 'environment', 'version', 'previous', 'status', 'phase', 'targets', 'createdAt', 'updatedAt', 'links'], {
  id: { type: 'string', description: 'The Temporal workflow id' },
  kind: { enum: ['deploy', 'rollback'] },
  service: string,
  environment: string,
  version,
  previous: nullable(version),
  schemaRevision: { ...revision, description: 'The schema\'s revision as this run leaves it, when known (after a rollback without downgrade, still the newer one)' },
  status: { enum: ['queued', 'running', 'awaiting_approval', 'paused', 'awaiting_operator', 'succeeded', 'failed', 'rolled_back', 'aborted'] },
  phase: { enum: ['preflight', 'canary', 'bake', 'fleet', 'rollback', 'done'] },
  targets: { type: 'array', items: runTarget },
  error: runError,
  leftToFix: {
    type: 'array', description: 'With status failed: targets the rollback could not bring back',
    items: object(['target', 'version', 'error', 'type'], { target: string, version: string, error: string, type: string }),
  },
  awaitingOperator: { type: 'boolean', description: 'With status failed: the run still holds its environment, waiting for retry or abort' },
  hooks: {
    type: 'array', description: 'The hooks run so far, in order, one entry per hook and target (a failed afterRollback is reported here and changes no status)',
    items: object(['hook', 'target', 'command', 'status'], { hook: hookName, target: string, command: { type: 'string', description: 'Its step label: the hook and its command\'s first line' }, status: { enum: ['running', 'succeeded', 'failed'] }, error: string }),
  },
  waitingFor: { ...waitingFor, description: 'With status queued: held by the environment\'s deploy windows or a freeze, and when it starts by itself' },
  overrides: { type: 'array', items: runOverride, description: 'Rules an admin let it past' },
  promotedFrom: { ...promotedFrom, description: 'A promotion: the environment whose current release it deploys' },
  requestedBy: { type: 'string', description: 'The API token\'s name that asked for it' },
  queuePosition: { type: 'integer', minimum: 1, description: 'With status queued: its place in the environment\'s queue, 1 being next to run' },
  reason: { type: 'string', description: 'Why, as the request said' },
  githubDeploymentId: { type: 'integer', description: 'The GitHub Deployment it reports to' },
  createdAt: dateTime,
  updatedAt: dateTime,
  finishedAt: dateTime,
  links,
});

const rotation = object(['id', 'kind', 'service', 'environment', 'status', 'steps', 'createdAt', 'updatedAt', 'links'], {
  id: { type: 'string', description: 'The Temporal workflow id' },
  kind: { enum: ['env-secret', 'ssh-key', 'registry-token', 'recipe'] },
  service: string,
  environment: string,
  status: { enum: ['queued', 'running', 'succeeded', 'compensating', 'compensated', 'failed'] },
  variables: { ...strings, description: 'env-secret and recipe: the names of the values made, never a value' },
  recipe: { type: 'string', description: 'recipe: its name under services.<service>.rotations' },
  registry: { type: 'string', description: 'registry-token: the registry whose token is rotated' },
  steps: {
    type: 'array',
    items: object(['name', 'status'], { name: string, target: string, status: { enum: ['pending', 'running', 'succeeded', 'failed', 'compensating', 'compensated'] }, error: string }),
  },
  error: runError,
  leftToFix: { ...strings, description: 'With status failed: what a compensation could not undo, or a recipe\'s finally did not do' },
  waitingFor: { ...waitingFor, description: 'With status queued: held by the environment\'s deploy windows or a freeze, and when it starts by itself' },
  overrides: { type: 'array', items: runOverride, description: 'Rules an admin let it past' },
  promotedFrom: { ...promotedFrom, description: 'A promotion: the environment whose current release it deploys' },
  queuePosition: { type: 'integer', minimum: 1, description: 'With status queued: its place in the environment\'s queue, 1 being next to run' },
  createdAt: dateTime,
  updatedAt: dateTime,
  finishedAt: dateTime,
  links,
});

const healthCheck = {
  oneOf: [
    object(['http'], { http: object(['url', 'status'], { url: string, status: { type: 'integer' }, bodyContains: string }) }),
    object(['command'], { command: string }),
  ],
};
const dryRunPlan = object(['dryRun', 'kind', 'service', 'environment', 'commit', 'checks', 'images', 'batches', 'targets', 'gates', 'bakeMs', 'approval', 'queuedBehind'], {
  dryRun: { const: true },
  kind: { enum: ['deploy', 'rollback'] },
  service: string,
  environment: string,
  commit: object(['sha', 'ref'], { sha: { type: ['string', 'null'] }, ref: string }),
  checks: object(['state', 'summary'], { state: { enum: ['success', 'pending', 'failure', 'not required', 'unknown'] }, summary: string }),
  images: { type: 'array', items: object(['name', 'repository', 'tag', 'pinned'], { name: string, repository: string, tag: string, pinned: { type: 'string', description: 'repository:tag@digest, or "missing"' } }) },
  batches: { type: 'array', items: strings, description: 'Target names, batch by batch; the first is the canary' },
  targets: {
    type: 'array',
    items: object(['name', 'batch', 'commands', 'health'], { name: string, batch: { type: 'integer', minimum: 1 }, commands: { ...strings, description: 'What its shell would get, in order, rendered' }, health: { type: 'array', items: healthCheck } }),
  },
  gates: { type: 'array', items: object(['name', 'on', 'check', 'expect'], { name: string, on: string, check: string, expect: string }) },
  bakeMs: { type: 'integer', minimum: 0 },
  approval: { type: 'boolean' },
  queuedBehind: nullable(object(['active', 'queue'], { active: { type: ['string', 'null'] }, queue: strings })),
  schema: object(['from', 'to', 'command'], {
    from: revision, to: revision,
    command: { type: ['string', 'null'], description: 'The downgrade it runs on the first target before any target changes; null without runtime.migrate.downgrade (the schema stays at from)' },
  }),
  hooks: {
    type: 'array', description: 'The hooks it would run, in order: beforeDeploy before any target changes, afterDeploy once all are healthy, afterRollback only if it rolls back',
    items: object(['hook', 'on', 'command'], { hook: hookName, on: { type: 'string', description: 'The target it runs on' }, command: { type: 'string', description: 'What the target\'s shell would get' } }),
  },
});

const targetSteps = object(['run', 'target', 'steps', 'keptFor'], {
  run: string,
  target: runTarget,
  steps: { type: 'array', items: z.toJSONSchema(stepRecordSchema), description: 'Each attempt of each step, oldest first; a retried step shows every attempt' },
  keptFor: { type: 'string', description: 'How long step logs are kept after a run\'s last step (stepLogs.keep)' },
});

const schedule = object(['id', 'kind', 'service', 'environment', 'every', 'links'], {
  id: string, kind: string, service: string, environment: string, every: { type: 'string', description: 'A duration: 90d, 12h, …' }, nextRunAt: dateTime, links,
});
const release = object(['sha', 'images', 'runId', 'deployedAt'], { sha: { type: ['string', 'null'] }, images, revision: { ...revision, description: 'The schema revision its migrations go to, when known' }, runId: string, deployedAt: dateTime, deployedBy: { type: 'string', description: 'Who asked for the run that made it current (the token\'s name)' } });
const historyEntry = object(['runId', 'kind', 'status', 'sha', 'finishedAt'], {
  runId: string, kind: { enum: ['deploy', 'rollback', 'rotation'] }, status: string, sha: { type: ['string', 'null'] }, finishedAt: dateTime, error: string,
  leftToFix: { ...strings, description: 'What the run or rotation left for an operator to do by hand' },
  overrides: { type: 'array', items: runOverride, description: 'Rules an admin let the run past, with the reason and who' },
  promotedFrom,
  requestedBy: { type: 'string', description: 'Who asked for the run (the token\'s name)' },
});
const environmentView = object(['current', 'knownGood', 'history', 'active', 'queue'], {
  current: nullable(release),
  knownGood: { type: 'array', items: release, description: 'Newest first: what a rollback may return to' },
  retired: {
    type: 'array', description: 'Versions that left knownGood, and why',
    items: object(['sha', 'images', 'runId', 'deployedAt', 'reason', 'retiredAt'], { ...release.properties, reason: string, retiredAt: dateTime }),
  },
  history: { type: 'array', items: historyEntry, description: 'Runs and rotations that ended, newest first' },
  schemaRevision: { ...revision, description: 'The database schema\'s revision as the last run left it, when known' },
  active: { type: ['string', 'null'], description: 'The run or rotation holding the environment' },
  queue: { ...strings, description: 'Runs and rotations waiting for it, in order' },
  windows: object(['open', 'window', 'freeze'], {
    open: { type: 'boolean', description: 'Whether a run asked for now would start (as far as windows and freezes go)' },
    window: nullable(object(['opens', 'closes'], { opens: dateTime, closes: dateTime })),
    freeze: nullable(object(['from', 'to', 'reason'], { from: string, to: string, reason: string })),
  }),
  promotion: object(['from', 'soakMs', 'candidate'], {
    from: string, soakMs: { type: 'integer', minimum: 0 },
    candidate: nullable(object(['sha', 'runId', 'deployedAt', 'soaked'], {
      sha: { type: ['string', 'null'] }, runId: string, deployedAt: dateTime, soaked: { type: 'boolean' },
      leftMs: { type: 'integer', minimum: 0, description: 'How long until it has soaked' },
    })),
  }),
});
const boardEnvironment = object(['service', 'environment', 'current', 'targets', 'active', 'queue'], {
  service: string, environment: string,
  current: nullable(object(['sha', 'images', 'runId', 'deployedAt', 'tag'], { ...release.properties, tag: { type: ['string', 'null'], description: 'The tag its first image was pinned from' } })),
  schemaRevision: revision,
  targets: { type: 'array', items: object(['name', 'status', 'version'], { name: string, status: { type: 'string', description: 'The run\'s target status while a run goes on, else current (undeployed before a first deploy)' }, version: { type: ['string', 'null'] } }) },
  active: nullable(object(['id', 'kind', 'status', 'phase', 'sha', 'healthy', 'total'], {
    id: string, kind: { enum: ['deploy', 'rollback', 'rotation'] }, status: string, phase: string, sha: { type: ['string', 'null'] },
    healthy: { type: 'integer', minimum: 0 }, total: { type: 'integer', minimum: 0 }, awaitingOperator: { type: 'boolean' },
  })),
  queue: { type: 'array', items: object(['id', 'kind', 'sha'], { id: string, kind: { enum: ['deploy', 'rollback'] }, sha: { type: ['string', 'null'] }, waitingFor }) },
  windows: environmentView.properties.windows,
  promotion: environmentView.properties.promotion,
});
const board = object(['environments'], { environments: { type: 'array', items: boardEnvironment } });
const services = object(['items'], { items: { type: 'array', items: object(['name', 'environments'], { name: string, environments: strings }) } });
const runList = object(['items'], { items: { type: 'array', items: { $ref: '#/components/schemas/Run' } }, next: { type: 'string', description: 'Pass as next for the following page' } });
const status = (value: string, extra: Record<string, unknown> = {}) => object(['status', ...Object.keys(extra)], { status: { const: value }, ...extra });

const idParameter = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];
const environmentParameters = ['service', 'environment'].map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
const idempotencyKey = { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 }, description: 'A repeat with the same key (same token, same body) returns the same run for at least 24 hours' };
const payloads = object(['payloads'], { payloads: { type: 'array', items: { type: 'object', properties: { metadata: { type: 'object', additionalProperties: { type: 'string' } }, data: { type: 'string' } } } } });

const errors = (...codes: number[]) => Object.fromEntries(codes.map((code) => [String(code), { $ref: '#/components/responses/Problem' }]));
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });

export function openApiDocument(serverUrl?: string) {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  // Every /v1 route: a token first (401, 403), then the body (400, and 413 past 64 KiB).
  const refusals = (...codes: number[]) => errors(...[400, 401, 403, 413, ...codes].sort());
  return {
    openapi: '3.1.0',
    info: { title: 'Slipway', version: '0.1.0', description: 'Deployments as durable Temporal workflows.' },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Problem: problem,
        Run: run,
        RunTarget: runTarget,
        TargetSteps: targetSteps,
        DeployRequest: z.toJSONSchema(deployRequestSchema, { io: 'input', unrepresentable: 'any' }),
        RollbackRequest: z.toJSONSchema(rollbackRequestSchema, { io: 'input', unrepresentable: 'any' }),
        PromotionRequest: z.toJSONSchema(promotionRequestSchema, { io: 'input', unrepresentable: 'any' }),
        OverrideRequest: z.toJSONSchema(overrideRequestSchema, { io: 'input', unrepresentable: 'any' }),
        DryRunPlan: dryRunPlan,
        Rotation: rotation,
        RotationRequest: z.toJSONSchema(rotationRequestSchema, { io: 'input', unrepresentable: 'any' }),
        Schedule: schedule,
        Environment: environmentView,
        Board: board,
      },
      responses: { Problem: { description: 'An error (RFC 9457)', content: { 'application/problem+json': { schema: ref('Problem') } } } },
    },
    paths: {
      '/v1/deployments': {
        post: {
          summary: 'Start a deploy', operationId: 'createDeployment',
          description: 'Without admin, rollout overrides may only make the run safer than the environment\'s policy (403 naming the field otherwise).',
          parameters: [idempotencyKey],
          requestBody: { required: true, ...json(ref('DeployRequest')) },
          responses: { 200: { description: 'With dryRun: the plan; nothing was touched', ...json(ref('DryRunPlan')) }, 202: { description: 'The run', ...json(ref('Run')) }, ...refusals(404, 409) },
        },
        get: {
          summary: 'List runs', operationId: 'listDeployments',
          parameters: ['service', 'environment', 'status', 'next'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } }))
            .concat([{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } as never }]),
          responses: { 200: { description: 'Runs, newest first', ...json(runList) }, ...refusals() },
        },
      },
      '/v1/deployments/{id}': {
        get: { summary: 'A run', operationId: 'getDeployment', parameters: idParameter, responses: { 200: { description: 'The run', ...json(ref('Run')) }, ...refusals(404) } },
      },
      '/v1/deployments/{id}/targets/{target}': {
        get: {
          summary: 'A target\'s steps: label, start, duration, exit code and the last 64 lines of output, redacted; answers while the run goes on', operationId: 'getDeploymentTarget',
          parameters: [...idParameter, { name: 'target', in: 'path', required: true, schema: { type: 'string' }, description: 'The target\'s id or name' }],
          responses: { 200: { description: 'The steps', ...json(ref('TargetSteps')) }, ...refusals(404) },
        },
      },
      '/v1/deployments/{id}/override': {
        post: {
          summary: 'Admin: start a run that waits for its deploy window or the end of a freeze now; the reason and the token\'s name go into the ledger\'s history', operationId: 'overrideDeploymentWindow',
          parameters: idParameter, requestBody: { required: true, ...json(ref('OverrideRequest')) },
          responses: { 202: { description: 'The run, no longer waiting', ...json(ref('Run')) }, ...refusals(404, 409) },
        },
      },
      '/v1/deployments/{id}/{action}': {
        post: {
          summary: 'An operator action: approve, pause, resume, abort (any state that is not final, a rollback included), retry, rollback', operationId: 'actOnDeployment',
          parameters: [...idParameter, { name: 'action', in: 'path', required: true, schema: { enum: ['approve', 'pause', 'resume', 'abort', 'retry', 'rollback'] } }],
          responses: { 202: { description: 'The run', ...json(ref('Run')) }, ...refusals(404, 409) },
        },
      },
      '/v1/rollbacks': {
        post: {
          summary: 'Roll back to a known-good version (by default the newest other than the current one)', operationId: 'createRollback', parameters: [idempotencyKey],
          requestBody: { required: true, ...json(ref('RollbackRequest')) },
          responses: { 200: { description: 'With dryRun: the plan; nothing was touched', ...json(ref('DryRunPlan')) }, 202: { description: 'The run', ...json(ref('Run')) }, ...refusals(404, 409) },
        },
      },
      '/v1/promotions': {
        post: {
          summary: 'Deploy to `to` the release current in `from`: its SHA and its very digests, as a deploy run naming its source', operationId: 'createPromotion', parameters: [idempotencyKey],
          description: 'Refused (409, with condition, and Retry-After for the soak) when `to` has promotion and the release has not been current and healthy in its from for the soak; admin may pass override.',
          requestBody: { required: true, ...json(ref('PromotionRequest')) },
          responses: { 200: { description: 'With dryRun: the plan; nothing was touched', ...json(ref('DryRunPlan')) }, 202: { description: 'The run', ...json(ref('Run')) }, ...refusals(404, 409) },
        },
      },
      '/v1/services': {
        get: { summary: 'Services and their environments', operationId: 'listServices', responses: { 200: { description: 'Services', ...json(services) }, ...refusals() } },
      },
      '/v1/services/{service}/environments/{environment}': {
        get: { summary: 'The release ledger, the active run and the queue', operationId: 'getEnvironment', parameters: environmentParameters, responses: { 200: { description: 'The environment', ...json(ref('Environment')) }, ...refusals(404) } },
      },
      '/v1/services/{service}/environments/{environment}/release': {
        post: {
          summary: 'Admin: end the run or rotation holding the environment (terminated), so the queue goes on', operationId: 'releaseEnvironment', parameters: environmentParameters,
          requestBody: { required: false, ...json(object([], { reason: { type: 'string', maxLength: 500 } })) },
          responses: { 202: { description: 'What was released', ...json(object(['released'], { released: string })) }, ...refusals(404, 409) },
        },
      },
      '/v1/rotations': {
        post: {
          summary: 'Start a rotation, or put it on a schedule (with schedule.every)', operationId: 'createRotation', parameters: [idempotencyKey],
          requestBody: { required: true, ...json(ref('RotationRequest')) },
          responses: { 201: { description: 'The schedule', ...json(ref('Schedule')) }, 202: { description: 'The rotation', ...json(ref('Rotation')) }, ...refusals(404, 409) },
        },
      },
      '/v1/rotations/{id}': {
        get: { summary: 'A rotation', operationId: 'getRotation', parameters: idParameter, responses: { 200: { description: 'The rotation', ...json(ref('Rotation')) }, ...refusals(404) } },
      },
      '/v1/rotations/{id}/{action}': {
        post: {
          summary: 'retry: run the compensations that failed again. abort (admin): give up on a failed rotation; it ends keeping leftToFix, and the queue goes on', operationId: 'actOnRotation',
          parameters: [...idParameter, { name: 'action', in: 'path', required: true, schema: { enum: ['retry', 'abort'] } }],
          responses: { 202: { description: 'The rotation', ...json(ref('Rotation')) }, ...refusals(404, 409) },
        },
      },
      '/v1/schedules': {
        get: { summary: 'Scheduled rotations', operationId: 'listSchedules', responses: { 200: { description: 'Schedules', ...json(object(['items'], { items: { type: 'array', items: ref('Schedule') } })) }, ...refusals() } },
      },
      '/v1/schedules/{id}': {
        delete: { summary: 'Remove a schedule', operationId: 'deleteSchedule', parameters: idParameter, responses: { 204: { description: 'Removed' }, ...refusals(404) } },
      },
      '/v1/whoami': {
        get: { summary: 'The caller: its token\'s name and scopes (what the console may offer it)', operationId: 'whoAmI', responses: { 200: { description: 'The caller', ...json(object(['name', 'scopes'], { name: string, scopes: strings })) }, ...refusals() } },
      },
      '/v1/board': {
        get: { summary: 'Every service and environment: current release, targets, the run going on, the queue, windows, promotion (the console\'s board)', operationId: 'getBoard', responses: { 200: { description: 'The board', ...json(ref('Board')) }, ...refusals() } },
      },
      '/v1/board/events': {
        get: {
          summary: 'The board as a server-sent event stream: an event `board` (data: the Board, JSON) whenever it changes, watched by the API every second', operationId: 'streamBoard',
          responses: { 200: { description: 'text/event-stream of `board` events (and `problem` events when Temporal does not answer)', content: { 'text/event-stream': { schema: { type: 'string', description: 'event: board\ndata: {Board}\n\n …' } } } }, ...refusals() },
        },
      },
      '/v1/deployments/{id}/events': {
        get: {
          summary: 'A run as a server-sent event stream: an event `run` (data: {run, actions, githubUrl?}) whenever it changes; the stream ends once the run has', operationId: 'streamDeployment', parameters: idParameter,
          description: '`actions` says, for the caller\'s token, each operator action\'s refusal (null: it may press it): scope first, then the run\'s state.',
          responses: { 200: { description: 'text/event-stream of `run` events', content: { 'text/event-stream': { schema: { type: 'string', description: 'event: run\ndata: {"run": Run, "actions": {...}}\n\n …' } } } }, ...refusals(404) },
        },
      },
      '/ui': { get: { summary: 'The operator console (docs/console.md): it signs in with an API token, kept in the tab\'s session storage', operationId: 'console', security: [], responses: { 200: { description: 'Its page', content: { 'text/html': { schema: string } } } } } },
      '/ui/vendor/{file}': {
        get: {
          summary: 'The console\'s libraries (Preact, its hooks, htm), served from the installed packages', operationId: 'consoleVendor', security: [], parameters: [{ name: 'file', in: 'path', required: true, schema: { enum: ['preact.js', 'hooks.js', 'htm.js'] } }],
          responses: { 200: { description: 'An ES module', content: { 'text/javascript': { schema: string } } }, 404: { $ref: '#/components/responses/Problem' } },
        },
      },
      '/codec/decode': {
        post: { summary: 'The Temporal UI\'s codec server: decrypt payloads (scope decode or admin)', operationId: 'decodePayloads', requestBody: { required: true, ...json(payloads) }, responses: { 200: { description: 'Payloads', ...json(payloads) }, ...refusals(404) } },
      },
      '/codec/encode': {
        post: { summary: 'Encrypt payloads (scope decode or admin)', operationId: 'encodePayloads', requestBody: { required: true, ...json(payloads) }, responses: { 200: { description: 'Payloads', ...json(payloads) }, ...refusals(404) } },
      },
      '/healthz': { get: { summary: 'Liveness', operationId: 'liveness', security: [], responses: { 200: { description: 'Alive', ...json(status('ok')) } } } },
      '/readyz': {
        get: { summary: 'Readiness, including the Temporal connection', operationId: 'readiness', security: [], responses: { 200: { description: 'Ready', ...json(status('ready', { temporal: { const: 'connected' } })) }, ...errors(503) } },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', operationId: 'metrics', security: [], responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: string } } } } } },
      '/openapi.json': { get: { summary: 'This document', operationId: 'openApi', security: [], responses: { 200: { description: 'OpenAPI 3.1', ...json({ type: 'object', required: ['openapi', 'info', 'paths'] }) } } } },
    },
  };
}
