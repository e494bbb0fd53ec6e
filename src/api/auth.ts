import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { SlipwayConfig } from '../config/schema.js';
import { HttpProblem } from './problem.js';

/**
 * Bearer tokens, stored in config as the SHA-256 of the token and compared in constant time.
 * Scopes: `read`, `deploy:<service>/<environment>`, `rotate:<service>/<environment>` (either
 * part may be `*`), `admin`.
 */
export interface Principal {
  name: string;
  scopes: string[];
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export function authenticate(tokens: SlipwayConfig['api']['tokens']): RequestHandler {
  const known = tokens.map((t) => ({ ...t, digest: Buffer.from(t.sha256.toLowerCase(), 'hex') }));
  return (req, _res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match) return next(new HttpProblem(401, 'Unauthenticated', 'send Authorization: Bearer <token>'));
    const digest = createHash('sha256').update(match[1]!).digest();
    // Every token is compared, so timing says nothing about which one came close.
    let principal: Principal | undefined;
    for (const token of known) {
      if (timingSafeEqual(token.digest, digest) && !principal) principal = { name: token.name, scopes: token.scopes };
    }
    if (!principal) return next(new HttpProblem(401, 'Unauthenticated', 'the bearer token is not valid'));
    req.principal = principal;
    next();
  };
}

export function hasScope(principal: Principal | undefined, needed: string): boolean {
  if (!principal) return false;
  if (principal.scopes.includes('admin')) return true;
  const [action, resource] = needed.split(':') as [string, string | undefined];
  return principal.scopes.some((scope) => {
    if (!resource) return scope === action;
    const [a, r] = scope.split(':') as [string, string | undefined];
    if (a !== action || !r) return false;
    const [service, environment] = r.split('/');
    const [wantService, wantEnvironment] = resource.split('/');
    return (service === '*' || service === wantService) && (environment === '*' || environment === wantEnvironment);
  });
}

export function requireScope(principal: Principal | undefined, needed: string): void {
  if (!hasScope(principal, needed)) throw new HttpProblem(403, 'Forbidden', `this token lacks the scope ${needed}`);
}
