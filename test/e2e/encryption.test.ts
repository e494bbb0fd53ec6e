import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sharedFixture } from '../support/fixtures.js';
import { startHarness, TOKENS, type Harness } from '../support/harness.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { historiesWithChildren, startSealedStack, type SealedStack } from '../support/sealed.js';

/** Payload encryption: no plaintext in any history; the UI's codec server decrypts for authorised users. */
describe('payload encryption', function () {
  this.timeout(120_000);
  let h: Harness;
  let api: string;
  let stack: SealedStack;
  let hook: Receiver;
  const reason = `reason-${randomBytes(6).toString('hex')}`;

  before(async () => {
    h = await sharedFixture('harness', startHarness, (x) => x.stop());
    // A hook, so that the run starts its notifier too: every child the run starts is scanned.
    hook = await startReceiver({ token: null });
    stack = await startSealedStack(h, 'sealed', undefined, { notifications: [{ url: `${hook.url}/hook`, format: 'json', events: ['started', 'succeeded'] }] });
    api = stack.api;
  });
  after(async () => {
    await stack.stop();
    await hook.stop();
  });

  const post = (path: string, body: unknown, token: string | undefined = TOKENS.decoder, headers: Record<string, string> = {}) => fetch(`${api}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body: JSON.stringify(body),
  });

  it('keeps every payload of a run encrypted in history, readable through the API and the codec server', async () => {
    const sha = 'beef0001'.padEnd(40, '7');
    h.github.addCommit(sha);
    await h.registry.push('acme/shop-backend', 'sha-beef000');
    await h.registry.push('acme/shop-frontend', 'sha-beef000');
    const response = await post('/v1/deployments', { service: 'shop', environment: 'sealed', sha, reason }, TOKENS.ci);
    const started = await response.json() as { id: string };
    assert.equal(response.status, 202, JSON.stringify(started));
    let run: { status: string; reason: string } | undefined;
    for (let i = 0; i < 300; i++) {
      run = await (await fetch(`${api}/v1/deployments/${started.id}`, { headers: { authorization: `Bearer ${TOKENS.reader}` } })).json() as typeof run;
      if (['succeeded', 'failed', 'rolled_back'].includes(run!.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(run!.status, 'succeeded');
    assert.equal(run!.reason, reason, 'the API decrypts');

    // The raw histories, as the server stores them: the environment's, and the run's with every
    // child it started (the after-healthy prune, the notifier; a batch's, past 500 targets: test/e2e/rollout/engine.test.ts).
    for (let i = 0; hook.calls.length < 2; i++) {
      if (i > 300) assert.fail(`the run's notifications never arrived (${hook.calls.length})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const histories = [...await historiesWithChildren(h, 'slipway-env/shop/sealed')];
    const scanned = histories.map((x) => x.type);
    for (const kind of ['environment', 'deploy', 'afterHealthy', 'notifier']) assert.ok(scanned.includes(kind), `a ${kind} workflow was scanned: ${scanned.join(', ')}`);
    let sealedPayload: { metadata: Record<string, string>; data: string } | undefined;
    for (const { workflowId, text: raw, history } of histories) {
      assert.ok(!raw.includes(reason), `${workflowId}: no plaintext reason`);
      assert.ok(!raw.includes('/srv/shop'), `${workflowId}: no plaintext plan (the hosts' directory)`);
      if (workflowId === started.id) assert.ok(raw.includes(`"${sha}"`), 'the scan sees payload bytes: search attributes (not secret) stay readable');
      const input = (history as { events: Array<{ workflowExecutionStartedEventAttributes: { input: { payloads: Array<{ metadata: Record<string, Uint8Array>; data: Uint8Array }> } } }> })
        .events[0]!.workflowExecutionStartedEventAttributes.input.payloads[0]!;
      assert.equal(Buffer.from(input.metadata.encoding!).toString(), 'binary/encrypted', `${workflowId}: its input is sealed`);
      if (workflowId === started.id) {
        sealedPayload = {
          metadata: Object.fromEntries(Object.entries(input.metadata).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
          data: Buffer.from(input.data).toString('base64'),
        };
      }
    }

    const decoded = await post('/codec/decode', { payloads: [sealedPayload] });
    assert.equal(decoded.status, 200);
    const plain = Buffer.from(((await decoded.json()) as { payloads: { data: string }[] }).payloads[0]!.data, 'base64').toString();
    assert.ok(plain.includes(reason), 'the codec server decrypts for an authorised user');
    assert.equal((await post('/codec/decode', { payloads: [sealedPayload] }, '')).status, 401);
    assert.equal((await post('/codec/decode', { payloads: [sealedPayload] }, TOKENS.reader)).status, 403, 'read is not enough to decrypt');
    assert.equal((await post('/codec/decode', { payloads: [sealedPayload] }, TOKENS.ops)).status, 200, 'an admin may');
  });

  it('answers the Temporal UI\'s CORS preflight for its origin only', async () => {
    const preflight = await fetch(`${api}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'http://ui.example:8233', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://ui.example:8233');
    assert.match(preflight.headers.get('access-control-allow-headers')!, /authorization/);
    const other = await fetch(`${api}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    // A configured key: the UI's origin, even over loopback, is no substitute for a token.
    assert.equal((await post('/codec/decode', { payloads: [] }, '', { origin: 'http://ui.example:8233' })).status, 401);
  });

  it('encodes payloads for the UI too, and refuses garbage with a problem', async () => {
    const payload = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{"a":1}').toString('base64') };
    const encoded = await (await post('/codec/encode', { payloads: [payload] })).json() as { payloads: { metadata: Record<string, string> }[] };
    assert.equal(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString(), 'binary/encrypted');
    const bad = await post('/codec/decode', { payloads: [{ metadata: { encoding: Buffer.from('binary/encrypted').toString('base64'), 'encryption-key-id': Buffer.from('k1').toString('base64') }, data: 'AAAA' }] });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type')!, /problem\+json/);
  });

  it('reads no body before the token is checked', async () => {
    const huge = { payloads: [{ data: 'A'.repeat(5 * 1024 * 1024) }] };
    assert.equal((await post('/codec/decode', huge, '')).status, 401, 'a large body from nobody is refused unread');
    assert.equal((await post('/codec/decode', huge, TOKENS.reader)).status, 403);
    assert.equal((await post('/codec/decode', huge)).status, 413, 'past what the route needs, for a token that may decode');
    const garbage = await fetch(`${api}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payloads": [' });
    assert.equal(garbage.status, 401);
  });
});
