import { z } from 'zod';
import { rolloutOverrideSchema } from '../config/schema.js';
import { githubSecretName, variableName } from '../config/names.js';

/** Request bodies of the API. SHAs and tags are validated before they get near a shell. */
export const SHA = /^[0-9a-fA-F]{7,40}$/;
/** The OCI tag grammar. */
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export const deployRequestSchema = z.strictObject({
  /** Answer the plan (200) and touch nothing. */
  dryRun: z.boolean().optional(),
  service: z.string().min(1),
  environment: z.string().min(1),
  sha: z.string().regex(SHA, 'expected a commit SHA of 7 to 40 hex digits').optional(),
  tag: z.string().regex(TAG, 'expected an image tag (letters, digits, "_", "." and "-", at most 128)').optional(),
  rollout: rolloutOverrideSchema.optional(),
  reason: z.string().max(500).optional(),
  /** admin: deploy although the environment's promotion condition is not met; the reason goes into the ledger's history. */
  override: z.strictObject({ reason: z.string().min(1).max(500) }).optional(),
}).superRefine((body, ctx) => {
  if (!body.sha === !body.tag) ctx.addIssue({ code: 'custom', path: body.sha ? ['tag'] : ['sha'], message: 'give exactly one of sha or tag' });
});
export type DeployRequest = z.output<typeof deployRequestSchema>;

export const listQuerySchema = z.strictObject({
  service: z.string().optional(),
  environment: z.string().optional(),
  status: z.enum(['queued', 'running', 'awaiting_approval', 'paused', 'awaiting_operator', 'succeeded', 'failed', 'rolled_back', 'aborted']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  next: z.string().optional(),
});

/** `POST /v1/promotions`: what is current in `from`, to `to`, with the same digests. */
export const promotionRequestSchema = z.strictObject({
  dryRun: z.boolean().optional(),
  service: z.string().min(1),
  from: z.string().min(1),
  to: z.string().min(1),
  reason: z.string().max(500).optional(),
  override: z.strictObject({ reason: z.string().min(1).max(500) }).optional(),
}).refine((body) => body.from !== body.to, { path: ['to'], message: 'expected another environment than from' });

/** `POST /v1/deployments/:id/override`: an admin starts a run that waits for its window now. */
export const overrideRequestSchema = z.strictObject({ reason: z.string().min(1).max(500) });

export const rollbackRequestSchema = z.strictObject({
  /** Answer the plan (200) and touch nothing. */
  dryRun: z.boolean().optional(),
  service: z.string().min(1),
  environment: z.string().min(1),
  sha: z.string().regex(SHA, 'expected a commit SHA of 7 to 40 hex digits').optional(),
  reason: z.string().max(500).optional(),
});

const schedule = z.strictObject({ every: z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a period like 90d, 12h or 30m') }).optional();

/** A new value for one variable: generated on the worker, or supplied (never echoed back). */
const secretSource = z.union([
  z.strictObject({ generate: z.strictObject({ bytes: z.number().int().min(16, 'at least 16 bytes').max(512), encoding: z.enum(['hex', 'base64url']) }) }),
  z.strictObject({ value: z.string().min(1).max(4096).refine((v) => !/[\r\n\0]/.test(v), 'a value cannot contain a line break or NUL byte') }),
], { error: 'expected { generate: { bytes, encoding } } or { value }' });

const rotationBase = { service: z.string().min(1), environment: z.string().min(1), schedule };
export const rotationRequestSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('env-secret'), ...rotationBase,
    variables: z.record(variableName, secretSource)
      .refine((v) => Object.keys(v).length > 0, 'expected at least one variable'),
    githubSecrets: z.record(variableName, githubSecretName).optional(),
  }).superRefine((body, ctx) => {
    for (const variable of Object.keys(body.githubSecrets ?? {})) {
      if (!Object.hasOwn(body.variables, variable)) ctx.addIssue({ code: 'custom', path: ['githubSecrets', variable], message: `names ${variable}, which is not among the variables rotated` });
    }
  }),
  z.strictObject({ kind: z.literal('ssh-key'), ...rotationBase, githubSecret: githubSecretName.optional() }),
  z.strictObject({
    kind: z.literal('registry-token'), ...rotationBase,
    registry: z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, 'expected a registry host'), username: z.string().min(1), token: z.string().min(1), githubSecret: githubSecretName.optional(),
  }),
  /** A recipe of the service's config (`services.<service>.rotations.<recipe>`). */
  z.strictObject({ kind: z.literal('recipe'), ...rotationBase, recipe: z.string().min(1) }),
], { error: 'expected kind env-secret, ssh-key, registry-token or recipe' });
export type RotationRequest = z.output<typeof rotationRequestSchema>;
