import { z } from 'zod';
import { stepRecordSchema } from '../step-logs/store.js';
import { deployRequestSchema, rollbackRequestSchema, rotationRequestSchema } from './schemas.js';

/** `GET /openapi.json`: the API as SPEC §5 describes it. Request schemas come from the zod schemas that validate them. */
const problem = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } } },
  },
};

const runTarget = {
  type: 'object', required: ['id', 'name', 'status'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, status: { enum: ['pending', 'updating', 'healthy', 'failed', 'rolled_back'] }, batch: { type: 'integer', description: 'The batch it is updated in; 1 is the canary' }, version: { type: 'string' }, error: { type: 'string' } },
};
const version = { type: 'object', properties: { sha: { type: ['string', 'null'] }, images: { type: 'object', additionalProperties: { type: 'string' } } } };
const run = {
  type: 'object',
  required: ['id', 'kind', 'service', 'environment', 'version', 'status', 'phase', 'targets', 'createdAt', 'updatedAt', 'links'],
  properties: {
    id: { type: 'string', description: 'The Temporal workflow id' },
    kind: { enum: ['deploy', 'rollback'] },
    service: { type: 'string' },
    environment: { type: 'string' },
    version,
    previous: { oneOf: [version, { type: 'null' }] },
    status: { enum: ['queued', 'running', 'awaiting_approval', 'paused', 'awaiting_operator', 'succeeded', 'failed', 'rolled_back', 'aborted'] },
    phase: { enum: ['preflight', 'canary', 'bake', 'fleet', 'rollback', 'done'] },
    targets: { type: 'array', items: runTarget },
    error: { type: 'object', properties: { type: { type: 'string' }, step: { type: 'string' }, target: { type: 'string' }, message: { type: 'string' } } },
    leftToFix: {
      type: 'array', description: 'With status failed: targets the rollback could not bring back',
      items: { type: 'object', required: ['target', 'version', 'error', 'type'], properties: { target: { type: 'string' }, version: { type: 'string' }, error: { type: 'string' }, type: { type: 'string' } } },
    },
    awaitingOperator: { type: 'boolean', description: 'With status failed: the run still holds its environment, waiting for retry or abort' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    links: { type: 'object', properties: { self: { type: 'string' }, ui: { type: 'string', format: 'uri' } } },
  },
};

const rotation = {
  type: 'object',
  required: ['id', 'kind', 'service', 'environment', 'status', 'steps', 'links'],
  properties: {
    id: { type: 'string', description: 'The Temporal workflow id' },
    kind: { enum: ['env-secret', 'ssh-key', 'registry-token', 'recipe'] },
    service: { type: 'string' },
    environment: { type: 'string' },
    status: { enum: ['queued', 'running', 'succeeded', 'compensating', 'compensated', 'failed'] },
    variables: { type: 'array', items: { type: 'string' }, description: 'env-secret and recipe: the names of the values made, never a value' },
    recipe: { type: 'string', description: 'recipe: its name under services.<service>.rotations' },
    registry: { type: 'string', description: 'registry-token: the registry whose token is rotated' },
    steps: {
      type: 'array',
      items: {
        type: 'object', required: ['name', 'status'],
        properties: { name: { type: 'string' }, target: { type: 'string' }, status: { enum: ['pending', 'running', 'succeeded', 'failed', 'compensating', 'compensated'] }, error: { type: 'string' } },
      },
    },
    error: { type: 'object', properties: { type: { type: 'string' }, step: { type: 'string' }, target: { type: 'string' }, message: { type: 'string' } } },
    leftToFix: { type: 'array', items: { type: 'string' }, description: 'With status failed: what a compensation could not undo, or a recipe\'s finally did not do' },
    links: { type: 'object', properties: { self: { type: 'string' }, ui: { type: 'string', format: 'uri' } } },
  },
};
const dryRunPlan = {
  type: 'object',
  required: ['dryRun', 'kind', 'service', 'environment', 'commit', 'checks', 'images', 'batches', 'targets', 'gates', 'queuedBehind'],
  properties: {
    dryRun: { const: true },
    kind: { enum: ['deploy', 'rollback'] },
    service: { type: 'string' },
    environment: { type: 'string' },
    commit: { type: 'object', properties: { sha: { type: ['string', 'null'] }, ref: { type: 'string' } } },
    checks: { type: 'object', properties: { state: { enum: ['success', 'pending', 'failure', 'not required', 'unknown'] }, summary: { type: 'string' } } },
    images: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, repository: { type: 'string' }, tag: { type: 'string' }, pinned: { type: 'string', description: 'repository:tag@digest, or "missing"' } } } },
    batches: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
    targets: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, batch: { type: 'integer' }, commands: { type: 'array', items: { type: 'string' } }, health: { type: 'array', items: {} } } },
    },
    gates: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, on: { type: 'string' }, check: { type: 'string' }, expect: { type: 'string' } } } },
    bakeMs: { type: 'integer' },
    approval: { type: 'boolean' },
    queuedBehind: { oneOf: [{ type: 'null' }, { type: 'object', properties: { active: { type: ['string', 'null'] }, queue: { type: 'array', items: { type: 'string' } } } }] },
  },
};
const targetSteps = {
  type: 'object', required: ['run', 'target', 'steps', 'keptFor'],
  properties: {
    run: { type: 'string' },
    target: runTarget,
    steps: { type: 'array', items: z.toJSONSchema(stepRecordSchema), description: 'Each attempt of each step, oldest first; a retried step shows every attempt' },
    keptFor: { type: 'string', description: 'How long step logs are kept after a run\'s last step (stepLogs.keep)' },
  },
};
const schedule = {
  type: 'object',
  properties: { id: { type: 'string' }, kind: { type: 'string' }, service: { type: 'string' }, environment: { type: 'string' }, every: { type: 'string' }, nextRunAt: { type: 'string', format: 'date-time' } },
};
const release = { type: 'object', properties: { sha: { type: ['string', 'null'] }, images: { type: 'object', additionalProperties: { type: 'string' } }, runId: { type: 'string' }, deployedAt: { type: 'string', format: 'date-time' } } };
const environmentView = {
  type: 'object',
  properties: {
    current: { oneOf: [release, { type: 'null' }] },
    knownGood: { type: 'array', items: release },
    retired: { type: 'array', description: 'Versions that left knownGood, and why', items: { allOf: [release, { type: 'object', properties: { reason: { type: 'string' }, retiredAt: { type: 'string', format: 'date-time' } } }] } },
    history: { type: 'array', items: { type: 'object' } },
    active: { type: ['string', 'null'] },
    queue: { type: 'array', items: { type: 'string' } },
  },
};
const idParameter = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];
const environmentParameters = ['service', 'environment'].map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
const idempotencyKey = { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 }, description: 'A repeat with the same key (same token, same body) returns the same run for at least 24 hours' };
const payloads = { type: 'object', properties: { payloads: { type: 'array', items: { type: 'object', properties: { metadata: { type: 'object', additionalProperties: { type: 'string' } }, data: { type: 'string' } } } } } };

const errors = (...codes: number[]) => Object.fromEntries(codes.map((code) => [String(code), { $ref: '#/components/responses/Problem' }]));
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });

export function openApiDocument(serverUrl?: string) {
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
        DeployRequest: z.toJSONSchema(deployRequestSchema, { io: 'input', unrepresentable: 'any' }),
        Rotation: rotation,
        DryRunPlan: dryRunPlan,
        RotationRequest: z.toJSONSchema(rotationRequestSchema, { io: 'input', unrepresentable: 'any' }),
        Schedule: schedule,
      },
      responses: { Problem: { description: 'An error (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } } },
    },
    paths: {
      '/v1/deployments': {
        post: {
          summary: 'Start a deploy', operationId: 'createDeployment',
          description: 'Without admin, rollout overrides may only make the run safer than the environment\'s policy (403 naming the field otherwise).',
          parameters: [idempotencyKey],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/DeployRequest' }) },
          responses: { 200: { description: 'With dryRun: the plan; nothing was touched', ...json({ $ref: '#/components/schemas/DryRunPlan' }) }, 202: { description: 'The run', ...json({ $ref: '#/components/schemas/Run' }) }, ...errors(400, 401, 403, 404, 409) },
        },
        get: {
          summary: 'List runs', operationId: 'listDeployments',
          parameters: ['service', 'environment', 'status', 'next'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } }))
            .concat([{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } as never }]),
          responses: { 200: { description: 'Runs, newest first', ...json({ type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Run' } }, next: { type: 'string' } } }) }, ...errors(400, 401, 403) },
        },
      },
      '/v1/deployments/{id}': {
        get: {
          summary: 'A run', operationId: 'getDeployment',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'The run', ...json({ $ref: '#/components/schemas/Run' }) }, ...errors(401, 403, 404) },
        },
      },
      '/v1/deployments/{id}/targets/{target}': {
        get: {
          summary: 'A target\'s steps: label, start, duration, exit code and the last 64 lines of output, redacted; answers while the run goes on', operationId: 'getDeploymentTarget',
          parameters: [...idParameter, { name: 'target', in: 'path', required: true, schema: { type: 'string' }, description: 'The target\'s id or name' }],
          responses: { 200: { description: 'The steps', ...json(targetSteps) }, ...errors(401, 403, 404) },
        },
      },
      '/v1/deployments/{id}/{action}': {
        post: {
          summary: 'An operator action: approve, pause, resume, abort (any state that is not final, a rollback included), retry, rollback', operationId: 'actOnDeployment',
          parameters: [...idParameter, { name: 'action', in: 'path', required: true, schema: { enum: ['approve', 'pause', 'resume', 'abort', 'retry', 'rollback'] } }],
          responses: { 202: { description: 'The run', ...json({ $ref: '#/components/schemas/Run' }) }, ...errors(401, 403, 404, 409) },
        },
      },
      '/v1/rollbacks': {
        post: {
          summary: 'Roll back to a known-good version (by default the newest other than the current one)', operationId: 'createRollback', parameters: [idempotencyKey],
          requestBody: { required: true, ...json(z.toJSONSchema(rollbackRequestSchema, { io: 'input', unrepresentable: 'any' })) },
          responses: { 200: { description: 'With dryRun: the plan; nothing was touched', ...json({ $ref: '#/components/schemas/DryRunPlan' }) }, 202: { description: 'The run', ...json({ $ref: '#/components/schemas/Run' }) }, ...errors(400, 401, 403, 404, 409) },
        },
      },
      '/v1/services/{service}/environments/{environment}': {
        get: { summary: 'The release ledger, the active run and the queue', operationId: 'getEnvironment', parameters: environmentParameters, responses: { 200: { description: 'The environment', ...json(environmentView) }, ...errors(401, 403, 404) } },
      },
      '/v1/services/{service}/environments/{environment}/release': {
        post: {
          summary: 'Admin: end the run or rotation holding the environment (terminated), so the queue goes on', operationId: 'releaseEnvironment', parameters: environmentParameters,
          requestBody: { required: false, ...json({ type: 'object', properties: { reason: { type: 'string', maxLength: 500 } } }) },
          responses: { 202: { description: 'What was released', ...json({ type: 'object', properties: { released: { type: 'string' } } }) }, ...errors(400, 401, 403, 404, 409) },
        },
      },
      '/v1/services': {
        get: {
          summary: 'Services and their environments', operationId: 'listServices',
          responses: { 200: { description: 'Services', ...json({ type: 'object', properties: { items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, environments: { type: 'array', items: { type: 'string' } } } } } } }) }, ...errors(401, 403) },
        },
      },
      '/v1/rotations': {
        post: {
          summary: 'Start a rotation, or put it on a schedule (with schedule.every)', operationId: 'createRotation', parameters: [idempotencyKey],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/RotationRequest' }) },
          responses: {
            202: { description: 'The rotation', ...json({ $ref: '#/components/schemas/Rotation' }) },
            201: { description: 'The schedule', ...json({ $ref: '#/components/schemas/Schedule' }) },
            ...errors(400, 401, 403, 404, 409),
          },
        },
      },
      '/v1/rotations/{id}': {
        get: { summary: 'A rotation', operationId: 'getRotation', parameters: idParameter, responses: { 200: { description: 'The rotation', ...json({ $ref: '#/components/schemas/Rotation' }) }, ...errors(401, 403, 404) } },
      },
      '/v1/rotations/{id}/retry': {
        post: { summary: 'Run the compensations that failed again', operationId: 'retryRotation', parameters: idParameter, responses: { 202: { description: 'The rotation', ...json({ $ref: '#/components/schemas/Rotation' }) }, ...errors(401, 403, 404, 409) } },
      },
      '/v1/rotations/{id}/abort': {
        post: { summary: 'Admin: give up on a failed rotation; it ends keeping leftToFix, and the queue goes on', operationId: 'abortRotation', parameters: idParameter, responses: { 202: { description: 'The rotation', ...json({ $ref: '#/components/schemas/Rotation' }) }, ...errors(401, 403, 404, 409) } },
      },
      '/codec/decode': {
        post: { summary: 'The Temporal UI\'s codec server: decrypt payloads (scope decode or admin)', operationId: 'decodePayloads', requestBody: { required: true, ...json(payloads) }, responses: { 200: { description: 'Payloads', ...json(payloads) }, ...errors(400, 401, 403, 404, 413) } },
      },
      '/codec/encode': {
        post: { summary: 'Encrypt payloads (scope decode or admin)', operationId: 'encodePayloads', requestBody: { required: true, ...json(payloads) }, responses: { 200: { description: 'Payloads', ...json(payloads) }, ...errors(400, 401, 403, 404, 413) } },
      },
      '/v1/schedules': {
        get: { summary: 'Scheduled rotations', operationId: 'listSchedules', responses: { 200: { description: 'Schedules', ...json({ type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Schedule' } } } }) }, ...errors(401, 403) } },
      },
      '/v1/schedules/{id}': {
        delete: { summary: 'Remove a schedule', operationId: 'deleteSchedule', parameters: idParameter, responses: { 204: { description: 'Removed' }, ...errors(401, 403, 404) } },
      },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { 200: { description: 'Alive' } } } },
      '/readyz': { get: { summary: 'Readiness, including the Temporal connection', security: [], responses: { 200: { description: 'Ready' }, 503: { $ref: '#/components/responses/Problem' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': {} } } } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { 200: { description: 'OpenAPI 3.1' } } } },
    },
  };
}
