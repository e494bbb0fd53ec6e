import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Payload } from '@temporalio/common';
import type { AesGcmCodec } from '../../codec/aes-gcm.js';
import { authenticate, requireScope } from '../auth.js';
import type { SlipwayConfig } from '../../config/schema.js';
import { HttpProblem, invalidBody } from '../problem.js';

/**
 * The Temporal UI's codec server (`/codec/decode`, `/codec/encode`): payloads in the
 * proto3 JSON shape the UI sends, bytes as base64. Behind the API's bearer tokens (scope
 * `decode`, or `admin`), with CORS for the UI's origin, so only authorised users see decrypted payloads.
 */
const payloadsBody = z.object({
  payloads: z.array(z.object({
    metadata: z.record(z.string(), z.string()).optional(),
    data: z.string().optional(),
  })).max(1_000),
});

const toPayload = (p: z.infer<typeof payloadsBody>['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const fromPayload = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

function cors(origins: string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.get('origin');
    if (origin && origins.includes(origin)) {
      res.set({
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-allow-headers': 'authorization, content-type, x-namespace',
        'access-control-allow-methods': 'POST, OPTIONS',
        vary: 'origin',
      });
    }
    if (req.method === 'OPTIONS') return void res.status(204).end();
    next();
  };
}

/**
 * `npm start`'s own Temporal UI, which has no login and so no token to pass: its requests
 * (from its origin, over loopback) may decode. Only `npm start` opens this, and only for the
 * key it made itself; a configured key always needs a token.
 */
function localUiOrToken(config: SlipwayConfig, localUiOrigins: string[]): RequestHandler {
  const withToken = authenticate(config.api.tokens);
  return (req, res, next) => {
    const origin = req.get('origin');
    const loopback = /^(127\.|::1$|::ffff:127\.)/.test(req.socket.remoteAddress ?? '');
    if (origin && localUiOrigins.includes(origin) && loopback && !req.headers.authorization) {
      req.principal = { name: 'local Temporal UI', scopes: ['decode'] };
      return next();
    }
    withToken(req, res, next);
  };
}

export function codecRoutes(config: SlipwayConfig, codec: AesGcmCodec | undefined, localUiOrigins: string[] = []): Router {
  const router = Router();
  router.use(cors(config.encryption?.corsOrigins ?? []));
  router.use(localUiOrToken(config, localUiOrigins));
  // Decoding turns every rotation's secrets back into plaintext: its own scope, checked before
  // a byte of the (large) body is read.
  router.use((req, _res, next) => { requireScope(req.principal, 'decode'); next(); });
  router.use(express.json({ limit: '4mb', type: () => true }));
  for (const direction of ['decode', 'encode'] as const) {
    router.post(`/${direction}`, async (req, res) => {
      if (!codec) throw new HttpProblem(404, 'Not found', 'payload encryption is not configured (the encryption section of the config)');
      const parsed = payloadsBody.safeParse(req.body ?? {});
      if (!parsed.success) throw invalidBody(parsed.error.issues);
      const payloads = parsed.data.payloads.map(toPayload);
      try {
        const out = direction === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
        res.json({ payloads: out.map(fromPayload) });
      } catch (error) {
        throw new HttpProblem(400, 'Invalid request', `cannot ${direction} the payloads: ${(error as Error).message}`);
      }
    });
  }
  return router;
}
