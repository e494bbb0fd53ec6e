import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { hostCalls } from '../../src/sandbox/fleet.js';
import { enqueueWithEnvironment } from '../../src/temporal/enqueue.js';
import { environmentWorkflowId } from '../../src/workflows/contract.js';
import { sharedFixture } from '../support/fixtures.js';
import { startHarness, TOKENS, type Harness } from '../support/harness.js';

/** Deploys through the HTTP API, asserting what changed on the (OpenSSH) hosts. */
describe('deploy end to end', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });

  let n = 0;
  /** A fresh commit, green on GitHub, with both images pushed under `sha-<sha7>`. */
  async function commit(options: { push?: boolean; checks?: 'green' | 'red' } = {}): Promise<string> {
    const sha = `${(++n).toString(16).padStart(2, '0')}${Date.now().toString(16)}`.padEnd(40, 'c').slice(0, 40);
    h.github.addCommit(sha, options.checks === 'red'
      ? { checkRuns: [{ name: 'test', status: 'completed', conclusion: 'failure' }] }
      : { checkRuns: [{ name: 'test', status: 'completed', conclusion: 'success' }], statuses: [{ context: 'ci/lint', state: 'success' }] });
    if (options.push !== false) {
      await h.registry.push('acme/shop-backend', `sha-${sha.slice(0, 7)}`);
      await h.registry.push('acme/shop-frontend', `sha-${sha.slice(0, 7)}`);
    }
    return sha;
  }
  const envFile = (host: string) => readFileSync(join(h.host(host).stateDir, 'srv', 'shop', '.env.production'), 'utf8');
  const clearCalls = () => { for (const host of h.fleet.hosts) rmSync(join(host.stateDir, 'calls.jsonl'), { force: true }); };
  beforeEach(clearCalls);

  it('deploys a pinned SHA to every host in order: env file, pull, migrate once, up, prune, healthy', async () => {
    const sha = await commit();
    const started = await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'production', sha, reason: 'release' });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.status, 'queued');
    assert.match(started.body.links.ui, /^http:\/\/localhost:8233\/namespaces\/default\/workflows\/deploy-shop-production-/);

    const run = await h.waitForRun(started.body.id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.equal(run.version.sha, sha);
    assert.deepEqual(run.targets.map((t: { status: string }) => t.status), ['healthy', 'healthy', 'healthy']);
    const backend = run.version.images.backend as string;
    assert.match(backend, new RegExp(`^${h.registry.host}/acme/shop-backend:sha-${sha.slice(0, 7)}@sha256:[0-9a-f]{64}$`));

    // `keep`: the tags that hold this release's images through the prune (the backend's and the frontend's).
    assert.deepEqual(h.steps('web-1'), ['pull', 'migrate', 'up', 'keep', 'keep', 'prune']);
    assert.deepEqual(h.steps('web-2'), ['pull', 'up', 'keep', 'keep', 'prune']);
    assert.deepEqual(h.steps('web-3'), ['pull', 'up', 'keep', 'keep', 'prune']);
    for (const host of ['web-1', 'web-2', 'web-3']) {
      const env = envFile(host);
      assert.match(env, /^# kept by hand\nDATABASE_URL=postgres:\/\/db\/shop\n/, 'other lines kept');
      assert.ok(env.includes(`BACKEND_IMAGE=${backend}\n`) && env.includes(`WORKER_IMAGE=${backend}\n`));
      assert.ok(existsSync(join(h.host(host).stateDir, 'srv', 'shop', '.env.production.slipway-prev')));
      const served = await (await fetch(`http://${h.host(host).address}:8000/`)).json() as { images: Record<string, string> };
      assert.equal(served.images.BACKEND_IMAGE, backend, 'the running app reports the pinned image');
    }
    const up = JSON.parse(readFileSync(join(h.host('web-2').stateDir, 'calls.jsonl'), 'utf8').trim().split('\n')[1]!);
    assert.equal(up.env.FRONTEND_IMAGE, run.version.images.frontend, 'pinned references in the environment of docker compose');

    const deployment = h.github.deployments.find((d) => d.id === run.githubDeploymentId)!;
    assert.equal(deployment.sha, sha);
    assert.deepEqual(deployment.statuses.map((s) => s.state), ['in_progress', 'success']);

    // What an operator reads in the Temporal UI: each step named like its runbook line.
    const summaries = async (workflowId: string) => ((await h.temporal.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata!.summary!));
    // One activity per stretch of idempotent steps, over one connection; the migration, which
    // must run once, is its own. The prune runs after, in a child nothing waits for.
    assert.deepEqual((await summaries(run.id)).filter((s) => s.startsWith('web-1:')), [
      'web-1: pin images in .env.production → docker compose pull', 'web-1: migrate: alembic upgrade head', 'web-1: docker compose up -d → health checks (3)',
    ]);
    assert.deepEqual((await summaries(run.id)).filter((s) => s.startsWith('web-2:')), ['web-2: pin images in .env.production → docker compose pull → docker compose up -d → health checks (3)']);
    assert.deepEqual(await summaries(`${run.id}/batch-1/after-healthy`), ['web-1: keep the images of 1 release → docker image prune']);
    assert.deepEqual((await summaries(run.id)).slice(0, 2), [`verify commit ${sha} in acme/shop`, `wait for green CI on ${sha.slice(0, 7)}`]);
  });

  it('deploys a systemd service: build once per host, restart each instance, health by version', async () => {
    const sha = await commit({ push: false });
    h.github.addCommit(sha);
    const started = await h.request('POST', '/v1/deployments', { service: 'bot', environment: 'production', sha });
    const run = await h.waitForRun(started.body.id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.deepEqual(run.targets.map((t: { name: string }) => t.name), ['bot-1#1', 'bot-1#2']);
    assert.deepEqual(h.steps('bot-1'), ['git-fetch', 'git-checkout', 'npm-ci', 'npm-run', 'restart', 'restart']);
    for (const port of [3101, 3102]) {
      const served = await (await fetch(`http://${h.host('bot-1').address}:${port}/healthz`)).json() as { version: string };
      assert.equal(served.version, sha);
    }
  });

  it('builds a systemd host once, before any of its instances in the same batch restarts', async () => {
    const sha = await commit({ push: false });
    h.github.addCommit(sha);
    const bot = h.host('bot-1');
    rmSync(join(bot.stateDir, 'calls.jsonl'), { force: true });
    writeFileSync(join(bot.stateDir, 'delay-npm-run'), '1');
    try {
      const run = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'bot', environment: 'together', sha }, TOKENS.ops)).body.id);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      const calls = hostCalls(bot);
      assert.deepEqual(calls.map((c) => c.step), ['git-fetch', 'git-checkout', 'npm-ci', 'npm-run', 'restart', 'restart'], 'one build');
      const built = calls.find((c) => c.step === 'npm-run')!.at + 1_000;
      for (const restart of calls.filter((c) => c.step === 'restart')) assert.ok(restart.at >= built, 'no instance restarted before the build was done');
    } finally {
      rmSync(join(bot.stateDir, 'delay-npm-run'), { force: true });
    }
  });

  it('rolls a systemd host back with one build, before any of its instances restarts', async () => {
    const bot = h.host('bot-1');
    const good = await commit({ push: false });
    h.github.addCommit(good);
    const first = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'bot', environment: 'together', sha: good }, TOKENS.ops)).body.id);
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    const bad = await commit({ push: false });
    h.github.addCommit(bad);
    rmSync(join(bot.stateDir, 'calls.jsonl'), { force: true });
    // Instance 2 fails on the new release (its app's state names its unit and version), so the
    // rollback has both instances of the host to put back.
    writeFileSync(join(bot.stateDir, 'bad-versions'), `bot-worker@2.service","version":"${bad}`);
    writeFileSync(join(bot.stateDir, 'delay-npm-run'), '1');
    try {
      const run = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'bot', environment: 'together', sha: bad }, TOKENS.ops)).body.id);
      assert.equal(run.status, 'rolled_back', JSON.stringify(run.error));
      const calls = hostCalls(bot);
      // The deploy's build and restarts, then the rollback's: one build of the old release, not one per instance.
      assert.deepEqual(calls.map((c) => c.step), [
        'git-fetch', 'git-checkout', 'npm-ci', 'npm-run', 'restart', 'restart',
        'git-fetch', 'git-checkout', 'npm-ci', 'npm-run', 'restart', 'restart',
      ]);
      const rebuilt = calls.filter((c) => c.step === 'npm-run')[1]!.at + 1_000;
      for (const restart of calls.slice(10)) assert.ok(restart.at >= rebuilt, 'no instance restarted before the rollback\'s build was done');
      for (const port of [3101, 3102]) {
        const served = await (await fetch(`http://${bot.address}:${port}/healthz`)).json() as { version: string };
        assert.equal(served.version, good, 'both instances are back on the good release');
      }
    } finally {
      for (const f of ['bad-versions', 'delay-npm-run']) rmSync(join(bot.stateDir, f), { force: true });
    }
  });

  it('returns the same run for a repeated Idempotency-Key, and 409 for the key with another body', async () => {
    const sha = await commit();
    const body = { service: 'shop', environment: 'staging', sha };
    const headers = { 'Idempotency-Key': `release-${sha}` };
    const first = await h.request('POST', '/v1/deployments', body, TOKENS.ci, headers);
    const again = await h.request('POST', '/v1/deployments', body, TOKENS.ci, headers);
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    assert.equal(again.body.id, first.body.id);
    const other = await h.request('POST', '/v1/deployments', { ...body, reason: 'different' }, TOKENS.ci, headers);
    assert.equal(other.status, 409);
    await h.waitForRun(first.body.id);
    assert.equal(h.steps('web-3').filter((s) => s === 'up').length, 1, 'deployed once');
  });

  it('migrates again in a new execution of a run id an Idempotency-Key named before: no step is skipped as done by the old one', async () => {
    const migrations = () => h.steps('web-1').filter((s) => s === 'migrate').length;
    const before = migrations();
    const first = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'rerun', sha: await commit() }, TOKENS.ci, { 'Idempotency-Key': `reused-${Date.now().toString(36)}` })).body.id);
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.equal(migrations(), before + 1);
    // Once Temporal's retention and the environment's idempotency window have passed, the same
    // key names the same run id again, for another release: its environment starts afresh, and
    // the run is queued again under its old id, as the API queues it.
    const env = h.temporal.client.workflow.getHandle(environmentWorkflowId('shop', 'rerun'));
    await env.terminate('test: as if its idempotency window had passed');
    const started = (await h.temporal.client.workflow.getHandle(first.id).fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
    const input = defaultPayloadConverter.fromPayload<{ plan: { ref: { sha: string } } }>(started.input!.payloads![0]!);
    input.plan.ref = { sha: await commit() };
    await enqueueWithEnvironment(h.temporal.client, h.taskQueue, 'shop', 'rerun', { runId: first.id, input: input as never });
    const second = await h.waitFor(first.id, (run) => run.version.sha === input.plan.ref.sha && !!run.finishedAt, 'the new execution');
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.equal(migrations(), before + 2, 'the new release was migrated, not skipped as done');
  });

  it('rolls back to the last known-good version when a host fails its health checks, never touching the hosts after it', async () => {
    const good = (await h.request('GET', '/v1/services/shop/environments/production', undefined, TOKENS.reader)).body.current;
    assert.ok(good?.sha, 'an earlier deploy left a known-good version');
    const sha = await commit();
    // Only the new version is unhealthy, and only on web-2.
    writeFileSync(join(h.host('web-2').stateDir, 'bad-versions'), `sha-${sha.slice(0, 7)}\n`);
    try {
      const run = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'production', sha })).body.id);
      assert.equal(run.status, 'rolled_back', JSON.stringify(run.error));
      assert.equal(run.error.type, 'HealthCheckFailed');
      assert.equal(run.error.target, 'web-2');
      assert.match(run.error.message, /web-2 did not become healthy within 3000 ms: GET http:\/\/127\.0\.0\.\d+:8000\/api\/v1\/health\/live answered 503/);
      assert.deepEqual(run.targets.map((t: { status: string }) => t.status), ['rolled_back', 'rolled_back', 'pending']);
      assert.deepEqual(run.previous, { sha: good.sha, images: good.images });
      assert.deepEqual(h.steps('web-3'), [], 'web-3 untouched');
      for (const host of ['web-1', 'web-2']) assert.ok(envFile(host).includes(`BACKEND_IMAGE=${good.images.backend}\n`), `${host} back on the known-good pinned image`);
      const deployment = h.github.deployments.find((d) => d.id === run.githubDeploymentId)!;
      assert.deepEqual(deployment.statuses.map((s) => s.state), ['in_progress', 'failure']);
      const env = (await h.request('GET', '/v1/services/shop/environments/production', undefined, TOKENS.reader)).body;
      assert.equal(env.current.sha, good.sha, 'the previous version stays current');
      assert.equal(env.history[0].runId, run.id);
      assert.equal(env.history[0].status, 'rolled_back');
    } finally {
      rmSync(join(h.host('web-2').stateDir, 'bad-versions'));
    }
  });

  it('fails on a command that exits non-zero, says so when rolling back fails the same way, and rolls back on retry', async () => {
    const sha = await commit();
    writeFileSync(join(h.host('web-3').stateDir, 'fail-pull'), 'Error response from daemon: manifest unknown\n');
    try {
      const started = (await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'staging', sha })).body;
      const run = await h.waitForRun(started.id);
      assert.equal(run.status, 'failed');
      assert.equal(run.awaitingOperator, true, 'it holds the environment until an operator decides');
      assert.equal(run.error.type, 'CommandFailed');
      assert.equal(run.error.step, 'rollback');
      assert.match(run.error.message, /^1 target not rolled back \(web-3\): "docker compose pull" on .*@127\.0\.0\.\d+:\d+ exited with 1:\nError response from daemon: manifest unknown\n?; before that: "docker compose pull" on .* exited with 1/);
      assert.deepEqual(run.leftToFix.map((l: { target: string; type: string }) => [l.target, l.type]), [['web-3', 'CommandFailed']]);
      assert.deepEqual(h.steps('web-3'), ['pull', 'pull'], 'stopped at the failed step, twice');

      rmSync(join(h.host('web-3').stateDir, 'fail-pull'));
      assert.equal((await h.request('POST', `/v1/deployments/${started.id}/retry`)).status, 202);
      const retried = await h.waitForRun(started.id);
      assert.equal(retried.status, 'rolled_back', JSON.stringify(retried));
      assert.equal(retried.leftToFix, undefined);
      assert.match(retried.error.message, /^"docker compose pull" on .* exited with 1/, 'the error is the one that stopped the rollout');
    } finally {
      rmSync(join(h.host('web-3').stateDir, 'fail-pull'), { force: true });
    }
  });

  it('refuses a SHA GitHub does not know, before touching any host', async () => {
    const run = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'production', sha: 'f'.repeat(40) })).body.id);
    assert.equal(run.status, 'failed');
    assert.equal(run.error.type, 'CommitNotFound');
    assert.equal(run.error.step, 'preflight: commit');
    assert.deepEqual(h.steps('web-1'), []);
  });

  it('refuses a commit whose CI is red, naming the red check', async () => {
    const sha = await commit({ checks: 'red' });
    const run = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'production', sha })).body.id);
    assert.equal(run.error.type, 'ChecksFailed');
    assert.match(run.error.message, /CI is red on .* test \(failure\)/);
    assert.deepEqual(h.steps('web-1'), []);
  });

  it('refuses a deploy by tag where checks are required: they are of the commit the images were built from', async () => {
    const refused = await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'production', tag: 'v1.2.3' }, TOKENS.ops);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.deepEqual(refused.body.errors, [{ field: 'tag', message: 'requireChecks: deploy by sha, the commit the images were built from' }]);
    const dry = await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'production', tag: 'v1.2.3', dryRun: true }, TOKENS.ops);
    assert.equal(dry.status, 400, 'a dry run says the same');
    assert.deepEqual(h.steps('web-1'), []);
  });

  it('waits for images, then fails when one never appears', async () => {
    const sha = await commit({ push: false });
    const run = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'staging', sha })).body.id);
    assert.equal(run.error.type, 'ImageTimeout');
    assert.match(run.error.message, new RegExp(`image ${h.registry.host}/acme/shop-backend:sha-${sha.slice(0, 7)} did not appear within 3 s`));
    assert.deepEqual(h.steps('web-3'), []);
  });

  it('fails on wrong registry credentials without retrying or leaking them', async () => {
    const run = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'badcreds', environment: 'production', tag: 'v1' }, TOKENS.ops)).body.id);
    assert.equal(run.error.type, 'RegistryAuthFailed');
    assert.match(run.error.message, /refused the credentials of ci/);
    assert.ok(!JSON.stringify(run).includes('not-the-password'));
  });

  it('fails on a changed host key, naming the host and both fingerprints', async () => {
    const sha = await commit();
    const run = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'keymismatch', sha })).body.id);
    assert.equal(run.error.type, 'HostKeyMismatch');
    assert.match(run.error.message, /host key mismatch for .*@127\.0\.0\.\d+:\d+: it presented SHA256:\S+, known_hosts pins ssh-ed25519 SHA256:\S+/);
    assert.deepEqual(h.steps('rogue'), []);
  });

  it('retries a host that refuses connections for ssh.retryFor, then fails naming it', async () => {
    const sha = await commit();
    const run = await h.waitForRun((await h.request('POST', '/v1/deployments', { service: 'shop', environment: 'unreachable', sha })).body.id);
    assert.equal(run.error.type, 'HostUnreachable');
    assert.match(run.error.message, /cannot reach .*@127\.0\.0\.30:\d+: ECONNREFUSED \(gave up after \d+ s\)/);
  });
});
