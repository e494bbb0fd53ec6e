import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client } from '@temporalio/client';
import { createApi } from '../../src/api/app.js';
import { dataConverterFor } from '../../src/codec/data-converter.js';
import { parseConfig } from '../../src/config/load.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { sharedFixture } from '../support/fixtures.js';
import { GITHUB_TOKEN } from '../support/github.js';
import { startHarness, TOKENS, type Harness } from '../support/harness.js';
import { REGISTRY_PASSWORD } from '../support/registry.js';

/** Every string and byte string in a history, bytes read as text (JSON.stringify would base64 them). */
function allText(node: unknown, out: string[] = []): string[] {
  if (node instanceof Uint8Array) out.push(Buffer.from(node).toString('latin1'));
  else if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const item of node) allText(item, out);
  else if (node && typeof node === 'object') for (const value of Object.values(node)) allText(value, out);
  return out;
}

/** Payload encryption: no plaintext in any history; the UI's codec server decrypts for authorised users. */
describe('payload encryption', function () {
  this.timeout(120_000);
  let h: Harness;
  let api: string;
  let server: Server;
  let stopWorker: () => Promise<void>;
  const reason = `reason-${randomBytes(6).toString('hex')}`;

  before(async () => {
    h = await sharedFixture('harness', startHarness, (x) => x.stop());
    const configText = `${h.configText}\nencryption:\n  keys: [ { id: k1, key: "${randomBytes(32).toString('base64')}" } ]\n  corsOrigins: ["http://ui.example:8233"]\n`;
    const config = parseConfig(configText, { env: { TEST_GITHUB_TOKEN: GITHUB_TOKEN, TEST_REGISTRY_PASSWORD: REGISTRY_PASSWORD } });
    const taskQueue = `sealed-${Date.now().toString(36)}`;
    const worker = await createWorker({ connection: h.temporal.nativeConnection, namespace: h.temporal.namespace, config, taskQueue, workflowBundle: h.temporal.workflowBundle, shutdownGraceTime: '1s' });
    const running = worker.run();
    stopWorker = async () => { worker.shutdown(); await running; };
    const client = new Client({ connection: h.temporal.connection, namespace: h.temporal.namespace, dataConverter: dataConverterFor(config.encryption) });
    const app = createApi({ config, client, taskQueue, namespace: h.temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://ui.example:8233', logError: () => undefined });
    server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => { server.closeAllConnections(); server.close(); await stopWorker(); });

  const post = (path: string, body: unknown, token: string | undefined = TOKENS.reader, headers: Record<string, string> = {}) => fetch(`${api}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body: JSON.stringify(body),
  });

  it('keeps every payload of a run encrypted in history, readable through the API and the codec server', async () => {
    const sha = 'beef0001'.padEnd(40, '7');
    h.github.addCommit(sha);
    await h.registry.push('acme/shop-backend', 'sha-beef000');
    await h.registry.push('acme/shop-frontend', 'sha-beef000');
    const response = await post('/v1/deployments', { service: 'web', environment: 'sealed', sha, reason }, TOKENS.ci);
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

    // The raw history, as the server stores it, for the run, a target's child and the environment workflow.
    let sealedPayload: { metadata: Record<string, string>; data: string } | undefined;
    for (const workflowId of [started.id, `${started.id}/web-3`, 'slipway-env/web/sealed']) {
      const { history } = await h.temporal.connection.workflowService.getWorkflowExecutionHistory({ namespace: h.temporal.namespace, execution: { workflowId } });
      const raw = allText(history).join('\n');
      assert.ok(!raw.includes(reason), `${workflowId}: no plaintext reason`);
      if (workflowId === started.id) assert.ok(raw.includes(`"${sha}"`), 'the scan sees payload bytes: search attributes (not secret) stay readable');
      const input = history!.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      assert.equal(Buffer.from(input.metadata!.encoding!).toString(), 'binary/encrypted');
      if (workflowId === started.id) {
        sealedPayload = {
          metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
          data: Buffer.from(input.data!).toString('base64'),
        };
      }
    }

    const decoded = await post('/codec/decode', { payloads: [sealedPayload] });
    assert.equal(decoded.status, 200);
    const plain = Buffer.from(((await decoded.json()) as { payloads: { data: string }[] }).payloads[0]!.data, 'base64').toString();
    assert.ok(plain.includes(reason), 'the codec server decrypts for an authorised user');
    assert.equal((await post('/codec/decode', { payloads: [sealedPayload] }, '')).status, 401);
  });

  it('answers the Temporal UI\'s CORS preflight for its origin only', async () => {
    const preflight = await fetch(`${api}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'http://ui.example:8233', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://ui.example:8233');
    assert.match(preflight.headers.get('access-control-allow-headers')!, /authorization/);
    const other = await fetch(`${api}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('encodes payloads for the UI too, and refuses garbage with a problem', async () => {
    const payload = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{"a":1}').toString('base64') };
    const encoded = await (await post('/codec/encode', { payloads: [payload] })).json() as { payloads: { metadata: Record<string, string> }[] };
    assert.equal(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString(), 'binary/encrypted');
    const bad = await post('/codec/decode', { payloads: [{ metadata: { encoding: Buffer.from('binary/encrypted').toString('base64'), 'encryption-key-id': Buffer.from('k1').toString('base64') }, data: 'AAAA' }] });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type')!, /problem\+json/);
  });
});
