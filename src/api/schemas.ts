import { z } from 'zod';
import { rolloutOverrideSchema } from '../config/schema.js';

/** Request bodies of the API (SPEC §5). SHAs and tags are validated before they get near a shell. */
export const SHA = /^[0-9a-fA-F]{7,40}$/;
/** The OCI tag grammar. */
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export const deployRequestSchema = z.strictObject({
  service: z.string().min(1),
  environment: z.string().min(1),
  sha: z.string().regex(SHA, 'expected a commit SHA of 7 to 40 hex digits').optional(),
  tag: z.string().regex(TAG, 'expected an image tag (letters, digits, "_", "." and "-", at most 128)').optional(),
  rollout: rolloutOverrideSchema.optional(),
  reason: z.string().max(500).optional(),
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

export const rollbackRequestSchema = z.strictObject({
  service: z.string().min(1),
  environment: z.string().min(1),
  sha: z.string().regex(SHA, 'expected a commit SHA of 7 to 40 hex digits').optional(),
  reason: z.string().max(500).optional(),
});
