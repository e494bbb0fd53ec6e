import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { HttpProblem } from './problem.js';

/** What the environment's workflow remembers of an `Idempotency-Key` (for at least 24 hours). */
export interface Idempotency {
  /** The key as the caller sent it, for messages. */
  sent: string;
  /** The key scoped to the caller and the kind of request, hashed: what the workflow keeps. */
  key: string;
  requestHash: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The request's `Idempotency-Key`, if any. A repeat with the same key, from the same token, for
 * the same kind of request returns the run the first one started; with another body it is `409`.
 */
export function idempotencyOf(req: Request, kind: 'deploy' | 'rollback' | 'promotion' | 'rotation', body: unknown): Idempotency | undefined {
  const sent = req.get('Idempotency-Key');
  if (sent === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(sent)) {
    throw new HttpProblem(400, 'Invalid request', 'Idempotency-Key must be 1 to 255 visible ASCII characters', [{ field: 'Idempotency-Key', message: 'invalid' }]);
  }
  return { sent, key: sha256(`${kind}\n${req.principal!.name}\n${sent}`), requestHash: sha256(JSON.stringify(body)) };
}

/** A repeated key whose first request differed from this one. */
export function idempotencyConflict(idempotency: Idempotency): HttpProblem {
  return new HttpProblem(409, 'Conflict', `Idempotency-Key "${idempotency.sent}" was already used for a different request`);
}
