import { checkAnswer } from '../../support/contract.js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { Client } from '@temporalio/client';
import { createApi } from '../../../src/api/app.js';
import { dataConverterFor } from '../../../src/codec/data-converter.js';
import { parseConfig } from '../../../src/config/load.js';
import { generateEd25519KeyPair } from '../../../src/ssh/keygen.js';
import { testTemporal } from '../../support/temporal.js';

const RUNS = Number(process.env.SLIPWAY_PROPERTY_RUNS ?? 10_000);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Tokens whose scopes let a request get as far as it can without starting a run (`other` is no service). */
const TOKENS = { reader: 'reader-1f2e', deployer: 'deployer-9a8b', rotator: 'rotator-3c4d', decoder: 'decoder-5e6f' };
const CONFIG = `
ssh:
  privateKey: \${env:KEY}
  knownHosts: /nonexistent/known_hosts
encryption:
  keys: [ { id: k1, key: "${randomBytes(32).toString('base64')}" } ]
api:
  tokens:
    - { name: reader, sha256: "${sha256(TOKENS.reader)}", scopes: ["read"] }
    - { name: deployer, sha256: "${sha256(TOKENS.deployer)}", scopes: ["deploy:other/*", "read"] }
    - { name: rotator, sha256: "${sha256(TOKENS.rotator)}", scopes: ["rotate:other/*"] }
    - { name: decoder, sha256: "${sha256(TOKENS.decoder)}", scopes: ["decode"] }
services:
  shop:
    images: { backend: ghcr.io/acme/shop-backend }
    runtime: { kind: compose, dir: /opt/shop, imageVars: { BACKEND_IMAGE: backend } }
    environments:
      production:
        targets: [ { name: web-1, address: 203.0.113.10 } ]
`;

/**
 * Bad input of every shape against the real API on a real Temporal server: no request gets a
 * 5xx, and every refusal is a problem+json that says what was wrong.
 */
describe('the API under generated requests (fast-check)', function () {
  this.timeout(600_000);
  let server: Server;
  let base: string;
  const serverErrors: unknown[] = [];

  before(async () => {
    const temporal = await testTemporal();
    const config = parseConfig(CONFIG, { env: { KEY: generateEd25519KeyPair('t').private } });
    const client = new Client({ connection: temporal.connection, namespace: temporal.namespace, dataConverter: dataConverterFor(config.encryption) });
    const app = createApi({ config, client, taskQueue: `property-${Date.now()}`, namespace: temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://ui', logError: (e) => serverErrors.push(e) });
    server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => { server?.closeAllConnections(); server?.close(); });

  const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('shop', 'production', 'other', '', '../', '%00', 'abc1234', 'a'.repeat(41)));
  const anything = fc.jsonValue({ maxDepth: 4 });
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, anything, text);
  const hex = fc.stringMatching(/^[0-9a-f]{7,40}$/);
  const rollout = fc.record({ canary: maybe(fc.nat(5)), batchSize: maybe(fc.constantFrom(1, '50%', '101%', 0)), bake: maybe(fc.constantFrom('1s', '25h', '-1s', 'x')), autoRollback: maybe(fc.boolean()), approval: maybe(fc.boolean()) }, { requiredKeys: [] });
  const where = { service: maybe(fc.constantFrom('shop', 'other')), environment: maybe(fc.constantFrom('production', 'staging')) };
  const deployBody = fc.record({ ...where, sha: maybe(hex), tag: maybe(fc.constantFrom('v1', 'latest', 'sha-abc')), rollout: fc.oneof(rollout, anything), reason: maybe(text), extra: anything }, { requiredKeys: [] });
  const rollbackBody = fc.record({ ...where, sha: maybe(hex), reason: maybe(text) }, { requiredKeys: [] });
  const secretSource = fc.oneof(fc.record({ generate: fc.record({ bytes: maybe(fc.integer({ min: -1, max: 600 })), encoding: maybe(fc.constantFrom('hex', 'base64url')) }, { requiredKeys: [] }) }), fc.record({ value: maybe(text) }), anything);
  const rotationBody = fc.record({
    kind: maybe(fc.constantFrom('env-secret', 'ssh-key', 'registry-token', 'recipe')), ...where,
    variables: fc.oneof(fc.dictionary(fc.oneof(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/), text), secretSource, { maxKeys: 3 }), anything),
    githubSecrets: maybe(fc.dictionary(text, text, { maxKeys: 2 })), githubSecret: maybe(text), registry: maybe(text), username: maybe(text), token: maybe(text),
    schedule: maybe(fc.record({ every: maybe(fc.constantFrom('90d', '1m', '0s', 'x')) })),
  }, { requiredKeys: [] });
  const codecBody = fc.oneof(
    fc.record({ payloads: fc.array(fc.record({ metadata: fc.dictionary(text, fc.oneof(text, fc.base64String())), data: maybe(fc.base64String()) }, { requiredKeys: [] }), { maxLength: 3 }) }),
    anything,
  );
  /** A body as JSON, as text that may not be JSON, or none. */
  const body = (shaped: fc.Arbitrary<unknown>) => fc.oneof(
    { weight: 6, arbitrary: shaped.map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  const id = fc.oneof(text, fc.constantFrom('deploy-shop-production-x', 'rotation-x')).map(encodeURIComponent);
  const segment = fc.oneof(fc.constantFrom('shop', 'production'), text).map(encodeURIComponent);

  const request = fc.oneof(
    body(deployBody).map((b) => ({ method: 'POST', path: '/v1/deployments', body: b })),
    body(rollbackBody).map((b) => ({ method: 'POST', path: '/v1/rollbacks', body: b })),
    body(rotationBody).map((b) => ({ method: 'POST', path: '/v1/rotations', body: b })),
    fc.dictionary(fc.constantFrom('service', 'environment', 'status', 'limit', 'next', 'x'), text, { maxKeys: 3 })
      .map((q) => ({ method: 'GET', path: `/v1/deployments?${new URLSearchParams(q)}`, body: undefined })),
    fc.tuple(fc.constantFrom('deployments', 'rotations'), id).map(([kind, i]) => ({ method: 'GET', path: `/v1/${kind}/${i}`, body: undefined })),
    fc.tuple(fc.constantFrom('deployments', 'rotations'), id, fc.oneof(fc.constantFrom('approve', 'abort', 'retry', 'rollback'), text.map(encodeURIComponent)))
      .map(([kind, i, action]) => ({ method: 'POST', path: `/v1/${kind}/${i}/${action}`, body: undefined })),
    fc.tuple(segment, segment).map(([s, e]) => ({ method: 'GET', path: `/v1/services/${s}/environments/${e}`, body: undefined })),
    fc.tuple(segment, segment, body(fc.record({ reason: maybe(text) }, { requiredKeys: [] }))).map(([s, e, b]) => ({ method: 'POST', path: `/v1/services/${s}/environments/${e}/release`, body: b })),
    fc.tuple(fc.constantFrom('decode', 'encode'), body(codecBody)).map(([direction, b]) => ({ method: 'POST', path: `/codec/${direction}`, body: b })),
  );
  const token = fc.oneof(fc.constantFrom(...Object.values(TOKENS)), text, fc.constant(undefined));
  const headers = fc.record({
    'content-type': fc.oneof(fc.constant('application/json'), fc.constant('text/plain'), text),
    'idempotency-key': fc.oneof(fc.constant(undefined), text),
  }, { requiredKeys: [] });

  it(`answers ${RUNS} generated requests without a 5xx, each refusal a problem+json`, async () => {
    const seen = new Map<number, number>();
    await fc.assert(fc.asyncProperty(request, token, headers, async (req, bearer, extra) => {
      const sent: Record<string, string> = {};
      for (const [name, value] of Object.entries(extra)) if (value !== undefined && /^[\t\x20-\x7e]*$/.test(value)) sent[name] = value;
      if (bearer !== undefined && /^[\x21-\x7e]*$/.test(bearer)) sent.authorization = `Bearer ${bearer}`;
      const res = await fetch(`${base}${req.path}`, { method: req.method, headers: sent, body: req.body });
      const answer = await res.text();
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      let parsed: unknown = answer;
      try { parsed = JSON.parse(answer); } catch { /* not JSON */ }
      checkAnswer({ method: req.method, path: req.path, status: res.status, contentType: res.headers.get('content-type'), body: parsed });
      assert.ok(res.status < 500, `${req.method} ${req.path} ${req.body ?? ''} -> ${res.status} ${answer}\n${serverErrors.map(String).join('\n')}`);
      if (res.status >= 400) {
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
        const problem = JSON.parse(answer) as { status: number; detail: string };
        assert.equal(problem.status, res.status);
        assert.ok(problem.detail.length > 0);
      }
    }), { numRuns: RUNS });
    // The generators reach past validation: refusals of every kind, and answers that are not refusals.
    for (const status of [200, 400, 401, 403, 404]) assert.ok((seen.get(status) ?? 0) > 0, `some requests answered ${status}: ${JSON.stringify([...seen])}`);
    assert.deepEqual(serverErrors, []);
  });
});
