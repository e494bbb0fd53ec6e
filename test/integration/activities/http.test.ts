import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import { httpActivities } from '../../../src/activities/http.js';
import type { HttpStepCall } from '../../../src/domain/recipe.js';
import { freePort } from '../../../src/sandbox/fleet.js';

/** A webhook receiver as Gitea's API would be: it records each call and answers what the test says. */
describe('recipe HTTP steps against a real receiver', () => {
  let server: Server;
  let base: string;
  const calls: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const answers: number[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        calls.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        // Took the call, then the connection dropped before any answer.
        if (req.url === '/hang-up') return void req.socket.destroy();
        res.writeHead(answers.shift() ?? 204).end('{"message":"echo of what was sent would go here"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => { server.closeAllConnections(); server.close(); });
  beforeEach(() => { calls.length = 0; answers.length = 0; });

  const { callHttp } = httpActivities({ env: { GITEA_TOKEN: 'gitea-token-1234' } });
  const values = { new: { WEBHOOK_SECRET: 'new-webhook-secret-77' }, old: { WEBHOOK_SECRET: 'old-webhook-secret-66' } };
  const step = (changes: Partial<HttpStepCall> = {}): HttpStepCall => ({
    method: 'PATCH', url: `${base}/api/v1/repos/acme/app/hooks/3`, headers: { Authorization: 'token ${env:GITEA_TOKEN}' },
    body: { config: { secret: '{new:WEBHOOK_SECRET}', was: '{old:WEBHOOK_SECRET}' }, active: true }, expect: [200, 204], retryFor: 60_000, idempotent: true, ...changes,
  });
  const failure = async (call: Promise<unknown>) => {
    const error = await call.then(() => assert.fail('expected the step to fail'), (e: unknown) => e);
    assert.ok(error instanceof ApplicationFailure, String(error));
    for (const secret of ['gitea-token-1234', 'new-webhook-secret-77', 'old-webhook-secret-66']) assert.ok(!error.message.includes(secret), `no secret in: ${error.message}`);
    return error;
  };

  it('never expands what a value holds: ${env:…} is read from the config\'s text before the values go in, and values are percent-encoded in a URL', async () => {
    // A provisioned value that looks like a reference to the worker's environment.
    const hostile = { new: { KEY_ID: 'k1+/=?&#', TOKEN: '${env:GITEA_TOKEN}' }, old: {} };
    await callHttp(step({ url: `${base}/keys/{new:KEY_ID}?next={new:KEY_ID}`, headers: { 'X-Token': '{new:TOKEN}', Authorization: 'token ${env:GITEA_TOKEN}' }, body: undefined }), hostile);
    assert.equal(calls[0]!.url, `/keys/${encodeURIComponent('k1+/=?&#')}?next=${encodeURIComponent('k1+/=?&#')}`);
    assert.equal(calls[0]!.headers['x-token'], '${env:GITEA_TOKEN}', 'the value as it was, not the worker\'s secret');
    assert.equal(calls[0]!.headers.authorization, 'token gitea-token-1234');
  });

  it('sends each generated value exactly in a header and in the URL, or refuses the step naming the header, never the value (fast-check)', async () => {
    const value = fc.array(fc.oneof(fc.constantFrom(' ', '\t', '\r\n', '\n', 'X-Injected: 1', 'é', '€', '\u0001', '.', '..', '/', '%', '${env:GITEA_TOKEN}'), fc.string({ maxLength: 6 })), { maxLength: 4 })
      .map((parts) => parts.join('').replaceAll('\0', ''));
    await fc.assert(fc.asyncProperty(value, async (v) => {
      calls.length = 0;
      const generated = { new: { KEY: `secret-${v}-77` }, old: {} };
      const sent = step({ url: `${base}/keys/{new:KEY}`, headers: { 'X-Key': '{new:KEY}' }, body: undefined });
      const fits = /^[\t\x20-\x7e\x80-\xff]*$/.test(v);
      if (!fits) {
        const error = await failure(callHttp(sent, generated));
        assert.equal(error.type, 'InvalidInput');
        assert.equal(error.nonRetryable, true);
        assert.match(error.message, /header X-Key cannot be sent as it is/);
        assert.ok(!error.message.includes(generated.new.KEY), 'the value is not in the error');
        assert.equal(calls.length, 0, 'nothing was sent');
        return;
      }
      await callHttp(sent, generated);
      assert.equal(calls[0]!.headers['x-key'], generated.new.KEY);
      assert.equal(decodeURIComponent(calls[0]!.url.slice('/keys/'.length)), generated.new.KEY);
    }), { numRuns: 300 });
  });

  it('sends the filled body as JSON, with the worker\'s credential from its environment', async () => {
    assert.deepEqual(await callHttp(step(), values), { status: 204 });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.method, 'PATCH');
    assert.equal(calls[0]!.url, '/api/v1/repos/acme/app/hooks/3');
    assert.equal(calls[0]!.headers.authorization, 'token gitea-token-1234');
    assert.equal(calls[0]!.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(calls[0]!.body), { config: { secret: 'new-webhook-secret-77', was: 'old-webhook-secret-66' }, active: true });
  });

  it('retries a 5xx (a retryable failure) until retryFor has passed, then fails for good', async () => {
    answers.push(500);
    const retried = await failure(callHttp(step(), values));
    assert.equal(retried.nonRetryable, false);
    assert.equal(retried.type, 'HttpStepTransient');
    assert.match(retried.message, /PATCH http:\/\/127\.0\.0\.1:\d+\/api\/v1\/repos\/acme\/app\/hooks\/3: answered 500/);
    answers.push(503);
    const given = await failure(callHttp(step({ retryFor: 0 }), values));
    assert.equal(given.nonRetryable, true);
    assert.equal(given.type, 'HttpStepFailed');
    assert.match(given.message, /answered 503 \(gave up after 0 s\)/);
  });

  it('fails at once on a status outside expect, and treats no answer as retryable', async () => {
    answers.push(404);
    const refused = await failure(callHttp(step(), values));
    assert.deepEqual([refused.type, refused.nonRetryable], ['HttpStepFailed', true]);
    assert.match(refused.message, /answered 404, expected 200 or 204/);
    const nobody = await failure(callHttp(step({ url: `http://127.0.0.1:${await freePort('127.0.0.1')}/hook` }), values));
    assert.deepEqual([nobody.type, nobody.nonRetryable], ['HttpStepTransient', false]);
    assert.match(nobody.message, /no answer \(ECONNREFUSED\)/);
  });

  it('makes a call that is not idempotent once: no answer is final, only a refused connection is retried', async () => {
    const once = await failure(callHttp(step({ method: 'POST', url: `${base}/hang-up`, idempotent: false }), values));
    assert.deepEqual([once.type, once.nonRetryable], ['HttpStepFailed', true]);
    assert.match(once.message, /no answer \(\w+\); not retried, as the step is not idempotent/);
    assert.equal(calls.length, 1, 'the other system got it once');
    const refused = await failure(callHttp(step({ method: 'POST', url: `http://127.0.0.1:${await freePort('127.0.0.1')}/hook`, idempotent: false }), values));
    assert.deepEqual([refused.type, refused.nonRetryable], ['HttpStepTransient', false], 'a refused connection reached nobody: retried');
  });

  it('names a credential missing from the worker\'s environment without sending anything', async () => {
    const { callHttp: withoutToken } = httpActivities({ env: {} });
    const missing = await failure(withoutToken(step(), values));
    assert.match(missing.message, /environment variable GITEA_TOKEN is not set on this worker/);
    assert.equal(calls.length, 0);
  });
});
