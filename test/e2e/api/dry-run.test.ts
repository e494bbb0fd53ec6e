import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { hostCalls } from '../../../src/sandbox/fleet.js';
import { sharedFixture } from '../../support/fixtures.js';
import { GITHUB_TOKEN } from '../../support/github.js';
import { newRelease, startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { REGISTRY_PASSWORD } from '../../support/registry.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** `dryRun: true` (docs/runs.md, "Dry run"): the plan, from GitHub, the registry and the ledger, with nothing touched. */
describe('dry runs', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });

  const touched = () => ({
    calls: h.fleet.hosts.map((host) => hostCalls(host).length).reduce((a, b) => a + b, 0),
    deployments: h.github.deployments.length,
  });

  it('shows the commit, the pinned images, the checks, the batches and every host\'s commands and checks, touching nothing', async () => {
    const sha = await newRelease(h);
    const before = touched();
    const envBefore = (await h.request('GET', '/v1/services/shop/environments/production', undefined, TOKENS.reader)).body;
    const { status, body: plan } = await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'production', sha: sha.slice(0, 10), dryRun: true });
    assert.equal(status, 200, JSON.stringify(plan));
    assert.deepEqual(touched(), before, 'no host, no GitHub Deployment');
    const envAfter = (await h.request('GET', '/v1/services/shop/environments/production', undefined, TOKENS.reader)).body;
    assert.deepEqual(envAfter, envBefore, 'no run queued, no lock taken');

    assert.equal(plan.dryRun, true);
    assert.deepEqual(plan.commit, { sha, ref: sha.slice(0, 10) }, 'the short SHA resolved on GitHub');
    assert.equal(plan.checks.state, 'success');
    const backend = plan.images.find((i: { name: string }) => i.name === 'backend');
    assert.match(backend.pinned, new RegExp(`/acme/shop-backend:sha-${sha.slice(0, 7)}@sha256:[0-9a-f]{64}$`));
    assert.equal(plan.images.find((i: { name: string }) => i.name === 'frontend').pinned, 'missing', 'an image not pushed yet');
    assert.deepEqual(plan.batches[0], ['web-1'], 'the canary first');
    assert.deepEqual(plan.batches.flat(), ['web-1', 'web-2', 'web-3']);
    const [first, second] = plan.targets;
    assert.equal(first.name, 'web-1');
    assert.match(first.commands[0], new RegExp(`^pin images in \\.env\\.production: BACKEND_IMAGE=\\S+@sha256:[0-9a-f]{64} WORKER_IMAGE=`));
    assert.ok(first.commands.some((c: string) => c.includes('docker compose') && c.includes('pull')), first.commands.join('\n'));
    assert.ok(first.commands.some((c: string) => c.includes('alembic upgrade head') && c.endsWith('# once per run and target')), 'the migration, on the first target');
    assert.ok(!second.commands.some((c: string) => c.includes('alembic')), 'and only there');
    const keep = first.commands.find((c: string) => c.includes('docker tag'));
    assert.ok(keep?.includes(`${backend.pinned} ${backend.pinned.replace(/:sha-[0-9a-f]{7}@sha256:([0-9a-f]{12})[0-9a-f]+$/, ':slipway.shop.production.$1')}`), `the prune keeps this release's image: ${keep}`);
    assert.ok(keep.endsWith('# once healthy, nothing waits for it'));
    assert.deepEqual(first.health.map((c: { http?: string | { url: string } }) => (typeof c.http === 'string' ? c.http : c.http?.url)).filter(Boolean),
      [`http://${h.host('web-1').address}:8000/api/v1/health/live`, `http://${h.host('web-1').address}:8000/api/v1/health/ready`]);
    assert.equal(plan.queuedBehind, null);
    const text = JSON.stringify(plan);
    for (const secret of [GITHUB_TOKEN, REGISTRY_PASSWORD, h.fleet.clientKey.private.split('\n')[1]!]) assert.ok(!text.includes(secret), 'no secret in the plan');
  });

  it('names the run it would queue behind, and a rollback\'s release from the ledger', async () => {
    const waiting = (await h.request('POST', '/v1/deployments', { service: 'web', environment: 'approval', sha: await newRelease(h) })).body;
    try {
      await h.waitFor(waiting.id, (r) => r.status === 'awaiting_approval', 'awaiting_approval');
      const plan = (await h.request('POST', '/v1/deployments', { service: 'web', environment: 'approval', sha: await newRelease(h), dryRun: true })).body;
      assert.deepEqual(plan.queuedBehind, { active: waiting.id, queue: [] });
      assert.equal(plan.approval, true);
    } finally {
      await h.request('POST', `/v1/deployments/${waiting.id}/abort`, undefined, TOKENS.ops);
      await h.waitForRun(waiting.id);
    }

    const good = await newRelease(h);
    assert.equal((await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'web', environment: 'ledger', sha: good })).body.id)).status, 'succeeded');
    const rollback = await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'ledger', sha: good.slice(0, 8), dryRun: true });
    assert.equal(rollback.status, 200, JSON.stringify(rollback.body));
    assert.equal(rollback.body.kind, 'rollback');
    assert.equal(rollback.body.commit.sha, good);
    assert.match(rollback.body.images[0].pinned, new RegExp(`:sha-${good.slice(0, 7)}@sha256:`));
    const none = await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'ledger', sha: 'fffffff', dryRun: true });
    assert.equal(none.status, 409);
  });

  it('slipway deploy --dry-run prints it as a table', async () => {
    const sha = await newRelease(h);
    // Not spawnSync: the API answering it runs in this process.
    const ran = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'slipway.js'), 'deploy', 'shop', 'production', '--sha', sha, '--dry-run'], {
      cwd: ROOT, env: { ...process.env, SLIPWAY_URL: h.api, SLIPWAY_TOKEN: TOKENS.ci }, encoding: 'utf8',
    });
    assert.match(ran.stdout, /^deploy of shop to production: dry run, nothing was touched\n/);
    assert.match(ran.stdout, /\nimages {4}backend +\S+@sha256:[0-9a-f]{64}\n {10}frontend +MISSING \S+:sha-/);
    assert.match(ran.stdout, /\nbatch 1 \(canary\): web-1\n {2}web-1\n {4}\$ pin images in \.env\.production: /);
    assert.match(ran.stdout, /\nbatch 2: web-2\n {2}web-2\n/);
  });
});
