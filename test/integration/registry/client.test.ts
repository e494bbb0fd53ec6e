import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { RegistryClient, RegistryError } from '../../../src/registry/client.js';
import { freePort } from '../../../src/sandbox/fleet.js';
import { sharedFixture } from '../../support/fixtures.js';
import { REGISTRY_PASSWORD, REGISTRY_USER, startTestRegistry, type TestRegistry } from '../../support/registry.js';

const testRegistry = () => sharedFixture('registry', startTestRegistry, (r) => r.stop());

describe('registry client (docker-registry behind a token server)', () => {
  let registry: TestRegistry;
  before(async () => { registry = await testRegistry(); });

  const client = (auth: { username?: string; token?: string } = { username: REGISTRY_USER, token: REGISTRY_PASSWORD }) =>
    new RegistryClient((host) => (host === registry.host ? { ...auth, insecure: true } : undefined));

  it('resolves a tag to the digest the registry holds, through the Bearer challenge', async () => {
    const digest = await registry.push('acme/shop-backend', 'sha-abc1234');
    const before = registry.tokenRequests;
    assert.equal(await client().resolveDigest(`${registry.host}/acme/shop-backend`, 'sha-abc1234'), digest);
    assert.ok(registry.tokenRequests > before, 'a token was fetched from the realm');
  });

  it('reports a tag that is not pushed (yet) as missing, not as an error', async () => {
    assert.equal(await client().resolveDigest(`${registry.host}/acme/shop-backend`, 'sha-0000000'), undefined);
  });

  it('pulls public repositories anonymously', async () => {
    const digest = await registry.push('public/tool', 'v1');
    assert.equal(await client({}).resolveDigest(`${registry.host}/public/tool`, 'v1'), digest);
  });

  it('fails with an auth error for wrong credentials, without echoing them', async () => {
    await assert.rejects(client({ username: REGISTRY_USER, token: 'wrong-password-123' }).resolveDigest(`${registry.host}/acme/shop-backend`, 'sha-abc1234'),
      (error: RegistryError) => {
        assert.equal(error.kind, 'auth');
        assert.match(error.message, /refused the credentials of ci/);
        assert.ok(!error.message.includes('wrong-password-123'));
        return true;
      });
  });

  it('denies anonymous access to a private repository as an auth error', async () => {
    await assert.rejects(client({}).resolveDigest(`${registry.host}/acme/shop-backend`, 'sha-abc1234'), (e: RegistryError) => e.kind === 'auth');
  });

  it('lists tags', async () => {
    await registry.push('acme/tags', 'a');
    await registry.push('acme/tags', 'b');
    assert.deepEqual((await client().listTags(`${registry.host}/acme/tags`)).sort(), ['a', 'b']);
  });
});

describe('registry client against a fake (pagination, throttling)', () => {
  let server: Server;
  let host: string;
  let requests: string[] = [];
  let throttle = 0;
  before(async () => {
    const port = await freePort('127.0.0.1');
    host = `127.0.0.1:${port}`;
    server = createServer((req, res) => {
      requests.push(req.url!);
      if (throttle > 0) { throttle--; res.writeHead(429).end(); return; }
      const url = new URL(req.url!, `http://${host}`);
      const last = url.searchParams.get('last');
      const pages: Record<string, [string[], string | undefined]> = {
        '': [['t1', 't2'], '/v2/acme/app/tags/list?n=2&last=t2'],
        t2: [['t3', 't4'], `http://${host}/v2/acme/app/tags/list?n=2&last=t4`],
        t4: [['t5'], undefined],
      };
      const [tags, next] = pages[last ?? '']!;
      res.writeHead(200, { 'content-type': 'application/json', ...(next ? { link: `<${next}>; rel="next"` } : {}) });
      res.end(JSON.stringify({ name: 'acme/app', tags }));
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  });
  after(() => server.close());
  beforeEach(() => { requests = []; throttle = 0; });

  const client = () => new RegistryClient(() => ({ insecure: true }));

  it('follows Link headers, relative and absolute, to the last page', async () => {
    assert.deepEqual(await client().listTags(`${host}/acme/app`, 2), ['t1', 't2', 't3', 't4', 't5']);
    assert.equal(requests.length, 3);
  });

  it('reports 429 as unavailable (retryable)', async () => {
    throttle = 1;
    await assert.rejects(client().listTags(`${host}/acme/app`), (e: RegistryError) => e.kind === 'unavailable' && /429/.test(e.message));
  });
});
