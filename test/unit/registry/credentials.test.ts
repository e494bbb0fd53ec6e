import assert from 'node:assert/strict';
import { RegistryClient, RegistryError, type RegistryAuth } from '../../../src/registry/client.js';

/**
 * Where the registry client sends credentials: a `WWW-Authenticate` challenge and a `Link`
 * header are the registry's answers, and must not steer a token to anyone else. A registry
 * that answers what a test says, and notes every request with its Authorization header.
 */
function fakeRegistry(realm: string, link?: string) {
  const calls: { url: string; authorization?: string | undefined }[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const authorization = (init?.headers as Record<string, string> | undefined)?.authorization;
    calls.push({ url, authorization });
    if (new URL(url).pathname.startsWith('/v2/')) {
      if (!authorization?.startsWith('Bearer ')) return new Response(null, { status: 401, headers: { 'www-authenticate': `Bearer realm="${realm}",service="registry"` } });
      if (url.includes('/tags/list')) return Response.json({ name: 'acme/app', tags: ['t1'] }, { headers: link ? { link: `<${link}>; rel="next"` } : {} });
      return new Response(null, { status: 200, headers: { 'docker-content-digest': `sha256:${'a'.repeat(64)}` } });
    }
    return Response.json({ token: 'registry-token' });
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const credentials: RegistryAuth = { username: 'ci', token: 'ghp_secretsecretsecret' };
const basicSent = (calls: { authorization?: string | undefined }[]) => calls.some((c) => c.authorization?.startsWith('Basic '));

describe('registry credentials', () => {
  it('never sends them over plain HTTP to a registry that is not marked insecure', async () => {
    const { calls, fetchImpl } = fakeRegistry('http://registry.example/token');
    const client = new RegistryClient(() => credentials, fetchImpl);
    await assert.rejects(client.resolveDigest('registry.example/acme/app', 'v1'), (e: RegistryError) => e.kind === 'invalid' && /only over HTTPS/.test(e.message));
    assert.equal(basicSent(calls), false);
  });

  it('never sends them in plain HTTP to another host, even for an insecure registry', async () => {
    const { calls, fetchImpl } = fakeRegistry('http://collector.example/token');
    const client = new RegistryClient(() => ({ ...credentials, insecure: true }), fetchImpl);
    await assert.rejects(client.resolveDigest('registry.example:5000/acme/app', 'v1'), /collector\.example/);
    assert.equal(basicSent(calls), false);
  });

  it('sends them to an HTTPS realm, or in plain HTTP to the insecure registry\'s own host', async () => {
    const https = fakeRegistry('https://auth.example/token');
    assert.match((await new RegistryClient(() => credentials, https.fetchImpl).resolveDigest('registry.example/acme/app', 'v1'))!, /^sha256:/);
    assert.equal(basicSent(https.calls), true);
    const lab = fakeRegistry('http://registry.example:5001/token');
    assert.match((await new RegistryClient(() => ({ ...credentials, insecure: true }), lab.fetchImpl).resolveDigest('registry.example:5000/acme/app', 'v1'))!, /^sha256:/);
    assert.equal(basicSent(lab.calls), true);
  });

  it('does not follow a tag page to another origin with its token', async () => {
    const { calls, fetchImpl } = fakeRegistry('https://registry.example/token', 'https://collector.example/v2/acme/app/tags/list?last=t1');
    const client = new RegistryClient(() => credentials, fetchImpl);
    await assert.rejects(client.listTags('registry.example/acme/app'), /another host \(https:\/\/collector\.example\)/);
    assert.ok(!calls.some((c) => c.url.startsWith('https://collector.example')));
  });
});
