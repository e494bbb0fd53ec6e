import { appRoutes, documentedRoutes } from '../../support/contract.js';
import { createApi } from '../../../src/api/app.js';
import assert from 'node:assert/strict';
import { sharedFixture } from '../../support/fixtures.js';
import { startHarness, TOKENS, type Harness } from '../../support/harness.js';

/** The HTTP contract: auth, scopes, problem+json, validation, listing, ops routes. */
describe('HTTP API', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });

  const deploy = (body: unknown, token?: string, headers?: Record<string, string>) => h.request('POST', '/v1/deployments', body, token, headers);
  function assertProblem(res: { status: number; body: any; headers: Headers }, status: number) { // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.match(res.headers.get('content-type')!, /^application\/problem\+json/);
    assert.equal(res.body.status, status);
    assert.equal(typeof res.body.title, 'string');
    assert.equal(typeof res.body.type, 'string');
    assert.equal(typeof res.body.detail, 'string');
  }

  it('answers 401 without a token or with an unknown one', async () => {
    assertProblem(await deploy({ service: 'shop', environment: 'staging', sha: 'abc1234' }, ''), 401);
    assertProblem(await deploy({ service: 'shop', environment: 'staging', sha: 'abc1234' }, 'not-a-token'), 401);
    assertProblem(await h.request('GET', '/v1/services', undefined, 'ci-token-5b0c1'), 401);
  });

  it('answers 403 without the scope', async () => {
    const res = await deploy({ service: 'shop', environment: 'staging', sha: 'abc1234' }, TOKENS.reader);
    assertProblem(res, 403);
    assert.match(res.body.detail, /deploy:shop\/staging/);
    assertProblem(await deploy({ service: 'badcreds', environment: 'production', sha: 'abc1234' }, TOKENS.ci), 403);
  });

  it('answers 404 for an unknown service, environment or run', async () => {
    const service = await deploy({ service: 'nope', environment: 'production', sha: 'abc1234' });
    assertProblem(service, 404);
    assert.match(service.body.detail, /unknown service "nope"/);
    const environment = await deploy({ service: 'shop', environment: 'moon', sha: 'abc1234' });
    assertProblem(environment, 404);
    assert.match(environment.body.detail, /service "shop" has no environment "moon"/);
    assertProblem(await h.request('GET', '/v1/deployments/deploy-nope', undefined, TOKENS.reader), 404);
    assertProblem(await h.request('GET', '/v1/nothing-here', undefined, TOKENS.reader), 404);
  });

  it('answers 400 listing every invalid field, including SHAs and tags with shell metacharacters', async () => {
    const res = await deploy({ service: 'shop', environment: 'staging', sha: 'abc1234; rm -rf /', rollout: { bake: 'forever', canary: 0 }, extra: 1 });
    assertProblem(res, 400);
    assert.deepEqual(res.body.errors.map((e: { field: string }) => e.field).sort(), ['(body)', 'rollout.bake', 'rollout.canary', 'sha']);
    assert.match(res.body.errors.find((e: { field: string }) => e.field === 'sha').message, /7 to 40 hex/);
    const tag = await deploy({ service: 'shop', environment: 'staging', tag: '$(reboot)' });
    assertProblem(tag, 400);
    assert.deepEqual(tag.body.errors.map((e: { field: string }) => e.field), ['tag']);
    const neither = await deploy({ service: 'shop', environment: 'staging' });
    assert.match(neither.body.errors[0].message, /exactly one of sha or tag/);
    assertProblem(await deploy({ service: 'shop', environment: 'staging', sha: 'abc1234', tag: 'v1' }), 400);
  });

  it('answers 400 for malformed JSON and 413 for an oversized body', async () => {
    assertProblem(await deploy('{"service": '), 400);
    assertProblem(await deploy({ service: 'shop', environment: 'staging', sha: 'abc1234', reason: 'x'.repeat(100_000) }), 413);
  });

  it('lists services and runs, filtered and paginated', async () => {
    const services = await h.request('GET', '/v1/services', undefined, TOKENS.reader);
    assert.equal(services.status, 200);
    assert.deepEqual(services.body.items.find((s: { name: string }) => s.name === 'shop').environments, ['production', 'staging', 'graceful', 'sealed', 'migrating', 'keymismatch', 'unreachable', 'rerun']);

    const sha = 'abcdef0'.padEnd(40, '1');
    h.github.addCommit(sha);
    await h.registry.push('acme/shop-backend', 'sha-abcdef0');
    await h.registry.push('acme/shop-frontend', 'sha-abcdef0');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await deploy({ service: 'shop', environment: 'staging', sha, reason: `list-${i}` })).body.id);
    for (const id of ids) await h.waitForRun(id);

    // The list reads Temporal's visibility store, which takes in a run's last status a moment after the run answers it.
    let page1 = await h.request('GET', '/v1/deployments?service=shop&environment=staging&status=succeeded&limit=2', undefined, TOKENS.reader);
    for (let i = 0; page1.body.items?.length < 2 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      page1 = await h.request('GET', '/v1/deployments?service=shop&environment=staging&status=succeeded&limit=2', undefined, TOKENS.reader);
    }
    assert.equal(page1.status, 200);
    assert.equal(page1.body.items.length, 2);
    assert.ok(page1.body.next, 'a next page token');
    const page2 = await h.request('GET', `/v1/deployments?service=shop&environment=staging&status=succeeded&limit=2&next=${page1.body.next}`, undefined, TOKENS.reader);
    const seen = [...page1.body.items, ...page2.body.items].map((r: { id: string }) => r.id);
    for (const id of ids) assert.ok(seen.includes(id), `${id} listed`);
    for (const run of [...page1.body.items, ...page2.body.items]) {
      assert.equal(run.service, 'shop');
      assert.equal(run.environment, 'staging');
      assert.equal(run.status, 'succeeded');
    }
    assertProblem(await h.request('GET', '/v1/deployments?status=bogus', undefined, TOKENS.reader), 400);
  });

  it('serves liveness, readiness, Prometheus metrics and an OpenAPI document', async () => {
    assert.deepEqual((await h.request('GET', '/healthz', undefined, '')).body, { status: 'ok' });
    const ready = await h.request('GET', '/readyz', undefined, '');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.temporal, 'connected');

    const metrics = await h.request('GET', '/metrics', undefined, '');
    assert.match(metrics.headers.get('content-type')!, /^text\/plain/);
    assert.match(metrics.body, /slipway_api_request_duration_seconds_count\{method="POST",route="\/v1\/deployments\/",status="202"\} \d+/);
    assert.match(metrics.body, /slipway_runs_started_total\{kind="deploy",service="shop",environment="staging"\} [1-9]/);

    const doc = (await h.request('GET', '/openapi.json', undefined, '')).body;
    assert.equal(doc.openapi, '3.1.0');
    // Walked from the running app's router: every route it answers is documented, and every documented one is a route.
    const app = createApi({ config: h.config, client: h.temporal.client, taskQueue: h.taskQueue, namespace: h.temporal.namespace, stepTimeoutMs: 1_000, uiUrl: 'http://localhost:8233' });
    const routes = appRoutes(app).sort();
    assert.deepEqual(routes, documentedRoutes().sort());
    assert.deepEqual(Object.keys(doc.paths).sort(), [...new Set(routes.map((r) => r.split(' ')[1]))].sort());
    for (const route of ['GET /v1/deployments/{id}/targets/{target}', 'POST /v1/rollbacks', 'POST /v1/deployments/{id}/{action}', 'GET /v1/services/{service}/environments/{environment}',
      'POST /v1/rotations', 'GET /v1/schedules', 'DELETE /v1/schedules/{id}', 'POST /codec/decode']) assert.ok(routes.includes(route), route);
    assert.deepEqual(Object.keys(doc.components.schemas.DeployRequest.properties).sort(), ['dryRun', 'environment', 'override', 'reason', 'rollout', 'service', 'sha', 'tag']);
  });
});
