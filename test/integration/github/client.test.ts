import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { GithubClient, GithubError } from '../../../src/github/client.js';
import { sharedFixture } from '../../support/fixtures.js';
import { GITHUB_TOKEN, startTestGithub, type TestGithub } from '../../support/github.js';

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

describe('GitHub client (through Prism validating against GitHub\'s description)', () => {
  let github: TestGithub;
  let client: GithubClient;
  before(async () => {
    github = await sharedFixture('github', startTestGithub, (g) => g.stop());
    client = new GithubClient({ apiUrl: github.apiUrl, token: GITHUB_TOKEN, app: undefined });
  });
  beforeEach(() => { github.requests.length = 0; github.override.clear(); });

  it('resolves a short SHA to the full commit', async () => {
    github.addCommit(SHA);
    assert.equal(await client.resolveCommit('acme/shop', SHA.slice(0, 7)), SHA);
  });

  it('reports a commit GitHub does not know as not-found', async () => {
    await assert.rejects(client.resolveCommit('acme/shop', 'deadbee'), (e: GithubError) => e.kind === 'not-found' && /deadbee/.test(e.message));
  });

  it('judges checks: green, pending and red, naming the culprits', async () => {
    github.addCommit(SHA, { checkRuns: [{ name: 'test', status: 'completed', conclusion: 'success' }], statuses: [{ context: 'ci/lint', state: 'success' }] });
    assert.equal((await client.checks('acme/shop', SHA)).state, 'success');
    github.addCommit(SHA, { checkRuns: [{ name: 'test', status: 'in_progress', conclusion: null }] });
    assert.deepEqual(await client.checks('acme/shop', SHA), { state: 'pending', summary: 'waiting for: test (in_progress)' });
    github.addCommit(SHA, { checkRuns: [{ name: 'test', status: 'completed', conclusion: 'failure' }], statuses: [{ context: 'ci/lint', state: 'error' }] });
    assert.deepEqual(await client.checks('acme/shop', SHA), { state: 'failure', summary: 'red: test (failure), ci/lint (error)' });
  });

  it('creates a deployment once per run, even when GitHub\'s answer to the first try was lost', async () => {
    github.addCommit(SHA);
    const runId = `deploy-shop-staging-${Date.now()}`;
    github.loseAnswer.set('POST /repos/acme/shop/deployments', 502);
    await assert.rejects(client.createDeployment('acme/shop', SHA, 'staging', 'slipway deploy', runId), /502/);
    const retried = await client.createDeployment('acme/shop', SHA, 'staging', 'slipway deploy', runId);
    const mine = github.deployments.filter((d) => (d.payload as { slipwayRunId?: string }).slipwayRunId === runId);
    assert.deepEqual(mine.map((d) => d.id), [retried], 'the retry found the deployment the first try made');
    const other = await client.createDeployment('acme/shop', SHA, 'staging', 'slipway deploy', `${runId}-next`);
    assert.notEqual(other, retried, 'another run gets a deployment of its own');
  });

  it('creates a deployment and its statuses', async () => {
    github.addCommit(SHA);
    const id = await client.createDeployment('acme/shop', SHA, 'production', 'slipway deploy', 'deploy-shop-production-1');
    await client.setDeploymentStatus('acme/shop', id, 'in_progress', 'rolling out');
    await client.setDeploymentStatus('acme/shop', id, 'success', 'done', 'http://127.0.0.1:8233/x');
    const deployment = github.deployments.find((d) => d.id === id)!;
    assert.equal(deployment.sha, SHA);
    assert.deepEqual(deployment.statuses.map((s) => s.state), ['in_progress', 'success']);
  });

  it('has Prism reject a request that breaks GitHub\'s description', async () => {
    const res = await fetch(`${github.apiUrl}/repos/acme/shop/deployments`, {
      method: 'POST', headers: { authorization: `token ${GITHUB_TOKEN}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ environment: 42 }),
    });
    assert.equal(res.status, 422);
    assert.match(await res.text(), /prism/i);
    assert.ok(!github.requests.includes('POST /repos/acme/shop/deployments'), 'the fake never saw it');
  });

  it('authenticates as a GitHub App installation', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    github.app = { id: '4242', publicKey };
    github.addCommit(SHA);
    const app = new GithubClient({ apiUrl: github.apiUrl, token: undefined, app: { id: 4242, installationId: 99, privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString() } });
    assert.equal(await app.resolveCommit('acme/shop', SHA), SHA);
    assert.ok(github.requests.includes('POST /app/installations/99/access_tokens'));
  });

  it('sets an Actions secret sealed to the repository\'s public key', async () => {
    await client.setActionsSecret('acme/shop', 'DEPLOY_KEY', 'new-secret-value-42');
    assert.equal(github.secrets.get('acme/shop/DEPLOY_KEY'), 'new-secret-value-42', 'the fake opened the sealed box with the repository key');
    assert.ok(github.requests.includes('PUT /repos/acme/shop/actions/secrets/DEPLOY_KEY'), 'Prism let the request through');
  });

  it('classifies bad credentials and server errors', async () => {
    const wrong = new GithubClient({ apiUrl: github.apiUrl, token: 'ghp_wrongwrongwrongwrongwrongwrongwrong12', app: undefined });
    await assert.rejects(wrong.resolveCommit('acme/shop', SHA), (e: GithubError) => e.kind === 'auth' && !e.message.includes('ghp_'));
    github.override.set('GET /repos/acme/shop/commits/' + SHA, 503);
    await assert.rejects(client.resolveCommit('acme/shop', SHA), (e: GithubError) => e.kind === 'unavailable');
  });
});
