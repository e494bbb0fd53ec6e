import type { ErrorRequestHandler, Response } from 'express';
import type { z } from 'zod';
import { formatPath } from '../config/load.js';
import { redact } from '../redact.js';

/** RFC 9457 problem details: every error the API answers. */
export interface FieldError {
  field: string;
  message: string;
}

/** What a refusal says beyond its detail: which rule failed (`condition`), and when asking again may succeed (`Retry-After`). */
export interface ProblemExtras {
  condition?: string | undefined;
  retryAfterSeconds?: number | undefined;
}

export class HttpProblem extends Error {
  constructor(readonly status: number, readonly title: string, readonly detail: string, readonly errors?: FieldError[], readonly extras?: ProblemExtras) {
    super(detail);
  }
}

const TYPES: Record<number, string> = {
  400: 'invalid-request', 401: 'unauthenticated', 403: 'forbidden', 404: 'not-found', 409: 'conflict',
  413: 'payload-too-large', 415: 'unsupported-media-type', 422: 'unprocessable', 500: 'internal', 503: 'unavailable',
};

export function sendProblem(res: Response, problem: HttpProblem): void {
  if (problem.extras?.retryAfterSeconds !== undefined) res.set('Retry-After', String(problem.extras.retryAfterSeconds));
  res.status(problem.status).type('application/problem+json').json({
    type: `https://slipway.dev/problems/${TYPES[problem.status] ?? 'error'}`,
    title: problem.title,
    status: problem.status,
    detail: redact(problem.detail),
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...(problem.extras?.condition ? { condition: problem.extras.condition } : {}),
  });
}

export function invalidBody(issues: z.core.$ZodIssue[], what = 'request body'): HttpProblem {
  const errors = issues.map((issue) => ({ field: formatPath(issue.path) || '(body)', message: issue.message }));
  return new HttpProblem(400, 'Invalid request', `the ${what} has ${errors.length} invalid field${errors.length === 1 ? '' : 's'}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, errors);
}

export const notFound = (what: string) => new HttpProblem(404, 'Not found', what);

export function problemHandler(log: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    if (error instanceof HttpProblem) return sendProblem(res, error);
    const status = (error as { status?: number; type?: string }).status;
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') return sendProblem(res, new HttpProblem(413, 'Payload too large', 'the request body is larger than the API accepts'));
    if (type === 'entity.parse.failed') return sendProblem(res, new HttpProblem(400, 'Invalid request', 'the request body is not valid JSON', [{ field: '(body)', message: 'not valid JSON' }]));
    if (status && status >= 400 && status < 500) return sendProblem(res, new HttpProblem(status, 'Bad request', (error as Error).message));
    log(error);
    sendProblem(res, new HttpProblem(500, 'Internal error', 'the request failed inside Slipway; see its logs'));
  };
}
