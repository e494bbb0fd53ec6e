/**
 * Records workflow histories for the replay test (test/unit/workflows/replay.test.ts): runs each kind
 * of workflow through its main paths against the test harness and writes the histories to
 * test/histories/, each named after the version that recorded it (`0.1.0-deploy-succeeded.json`).
 *
 *   npm run record-histories [-- deploys queue rollback-retried traffic schema hooks lane rotations credentials recipes notifications]
 *
 * With group names, only those are recorded again; without, every file below. Before the first
 * tagged release there is one engine: a change to workflow code re-records these. From then on
 * the histories of a release stay, and a change that would replay them differently goes behind
 * `patched()` (docs/architecture.md, "Changing workflow code").
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { stopAllFixtures } from '../test/support/fixtures.js';
import { startHarness, TOKENS } from '../test/support/harness.js';
import { startReceiver } from '../test/support/receiver.js';
import { HISTORY_KEY, startSealedStack } from '../test/support/sealed.js';

const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
const GROUPS = ['deploys', 'queue', 'rollback-retried', 'traffic', 'schema', 'hooks', 'lane', 'rotations', 'credentials', 'recipes', 'notifications'];
const OUT = join(import.meta.dirname, '..', 'test', 'histories');
const h = await startHarness();
try {
  const release = async (n: number) => {
    const sha = `${n.toString(16)}${Date.now().toString(16)}`.padEnd(40, 'd').slice(0, 40);
    h.github.addCommit(sha);
    await h.registry.push('acme/shop-backend', `sha-${sha.slice(0, 7)}`);
    return sha;
  };
  const deploy = async (environment: string, sha: string) => (await h.request('POST', '/v1/deployments', { service: 'web', environment, sha })).body.id as string;
  const save = async (name: string, workflowId: string) => {
    // The CLI's JSON export is the format `temporal workflow show` users know, and replay reads it.
    const json = execFileSync(ensureTemporalCli(), ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', h.temporal.address], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const file = `${version}-${name}`;
    writeFileSync(join(OUT, `${file}.json`), json);
    // Replay needs the original workflow id: child workflow ids are derived from it.
    ids[file] = workflowId;
    writeFileSync(idsFile, `${JSON.stringify(ids, null, 2)}\n`);
    console.log(`recorded ${file} (${(JSON.parse(json) as { events: unknown[] }).events.length} events)`);
  };
  const waitFor = async (id: string, status: string) => {
    for (let i = 0; i < 300; i++) {
      if ((await h.request('GET', `/v1/deployments/${id}`, undefined, TOKENS.reader)).body.status === status) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${id} never ${status}`);
  };
  mkdirSync(OUT, { recursive: true });
  const idsFile = join(OUT, 'workflow-ids.json');
  const ids: Record<string, string> = existsSync(idsFile) ? JSON.parse(readFileSync(idsFile, 'utf8')) as Record<string, string> : {};
  const groups = process.argv.slice(2);
  const unknown = groups.filter((g) => !GROUPS.includes(g));
  if (unknown.length) throw new Error(`no such group: ${unknown.join(', ')} (groups: ${GROUPS.join(', ')})`);
  const wanted = (group: string) => !groups.length || groups.includes(group);

  if (wanted('deploys')) {
    const succeeded = await deploy('fleet', await release(1));
    await h.waitForRun(succeeded);
    await save('deploy-succeeded', succeeded);

    const bad = await release(2);
    writeFileSync(join(h.host('web-2').stateDir, 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    const rolledBack = await deploy('fleet', bad);
    await h.waitForRun(rolledBack);
    await save('deploy-rolled-back', rolledBack);

    await h.waitForRun(await deploy('manual', await release(3)));
    const manual = await deploy('manual', bad);
    await waitFor(manual, 'awaiting_operator');
    rmSync(join(h.host('web-2').stateDir, 'bad-versions'));
    await h.request('POST', `/v1/deployments/${manual}/retry`);
    await h.waitForRun(manual);
    await save('deploy-operator-retry', manual);

    await h.waitForRun(await deploy('fleet', await release(4)));
    const rollback = (await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'fleet' })).body.id as string;
    await h.waitForRun(rollback);
    await save('rollback', rollback);
    await save('environment', 'slipway-env/web/fleet');
  }

  if (wanted('queue')) {
    // The first starts with the lock; the second, sent while it runs, waits for the grant.
    await deploy('fleet', await release(21));
    const queued = await deploy('fleet', await release(22));
    await h.waitForRun(queued);
    await save('deploy-queued', queued);
    await save('environment-queue', 'slipway-env/web/fleet');
  }

  if (wanted('traffic')) {
    // Behind HAProxy: a canary drained, failed, rolled back and readied; the batch never drained.
    await h.waitForRun(await deploy('balanced', await release(41)));
    const bad = await release(42);
    writeFileSync(join(h.host('web-1').stateDir, 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    const rolledBack = await deploy('balanced', bad);
    await h.waitForRun(rolledBack);
    rmSync(join(h.host('web-1').stateDir, 'bad-versions'));
    await save('deploy-traffic-rolled-back', rolledBack);
  }

  if (wanted('schema')) {
    // A canary that fails after its migration: the schema goes down, with the new image, before the rollback.
    const schemaDeploy = async (sha: string) => (await h.request('POST', '/v1/deployments', { service: 'schema', environment: 'production', sha })).body.id as string;
    await h.waitForRun(await schemaDeploy(await release(51)));
    const bad = await release(52);
    writeFileSync(join(h.host('web-1').stateDir, 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    const downgraded = await schemaDeploy(bad);
    await h.waitForRun(downgraded);
    rmSync(join(h.host('web-1').stateDir, 'bad-versions'));
    await save('deploy-schema-downgraded', downgraded);
  }

  if (wanted('hooks')) {
    // beforeDeploy, then afterDeploy failing on the last target: a failed gate, the rollback, afterRollback.
    const hooksDeploy = async (sha: string) => (await h.request('POST', '/v1/deployments', { service: 'hooks', environment: 'production', sha })).body.id as string;
    await h.waitForRun(await hooksDeploy(await release(61)));
    const failing = join(h.host('web-3').stateDir, 'srv', 'hooks-production', 'fail-afterDeploy');
    writeFileSync(failing, '');
    const rolledBack = await hooksDeploy(await release(62));
    await h.waitForRun(rolledBack);
    rmSync(failing);
    await save('deploy-hooks-rolled-back', rolledBack);
  }

  if (wanted('lane')) {
    // A promotion from staging once it soaked; a run held by a freeze, which an admin started.
    const laneDeploy = async (environment: string, sha: string) => (await h.request('POST', '/v1/deployments', { service: 'lane', environment, sha })).body.id as string;
    await h.waitForRun(await laneDeploy('staging', await release(71)));
    await new Promise((r) => setTimeout(r, 4_500));
    const promoted = (await h.request('POST', '/v1/promotions', { service: 'lane', from: 'staging', to: 'production' })).body.id as string;
    await h.waitForRun(promoted);
    await save('deploy-promoted', promoted);
    const held = await laneDeploy('frozen', await release(72));
    await h.request('POST', `/v1/deployments/${held}/override`, { reason: 'recorded' }, TOKENS.ops);
    await h.waitForRun(held);
    await save('environment-window-override', 'slipway-env/lane/frozen');
  }

  if (wanted('rollback-retried')) {
    // A rollback in parallel batches that leaves web-3 behind, then finishes on the operator's retry.
    await h.waitForRun(await deploy('stuck', await release(6)));
    const bad = await release(7);
    writeFileSync(join(h.host('web-2').stateDir, 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    const stuck = await deploy('stuck', bad);
    for (let i = 0; (await h.request('GET', `/v1/deployments/${stuck}`, undefined, TOKENS.reader)).body.targets[2].status !== 'healthy'; i++) {
      if (i > 300) throw new Error('web-3 never became healthy');
      await new Promise((r) => setTimeout(r, 50));
    }
    writeFileSync(join(h.host('web-3').stateDir, 'fail-pull'), 'connection refused\n');
    await waitFor(stuck, 'failed');
    rmSync(join(h.host('web-3').stateDir, 'fail-pull'));
    rmSync(join(h.host('web-2').stateDir, 'bad-versions'));
    await h.request('POST', `/v1/deployments/${stuck}/retry`);
    await waitFor(stuck, 'rolled_back');
    await save('deploy-rollback-retried', stuck);
  }

  // Rotations need payload encryption: these histories are sealed with the test-only HISTORY_KEY.
  const sealed = await startSealedStack(h, 'record', HISTORY_KEY);
  try {
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const response = await fetch(`${sealed.api}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
      });
      return await response.json() as { id: string; status: string };
    };
    const settle = async (id: string, path: string) => {
      for (let i = 0; i < 300; i++) {
        const { status } = await call(TOKENS.reader, 'GET', `${path}/${id}`);
        if (['succeeded', 'compensated', 'failed', 'rolled_back', 'aborted'].includes(status)) return id;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${id} never finished`);
    };
    const rotate = async (body: Record<string, unknown>) => settle((await call(TOKENS.rotator, 'POST', '/v1/rotations', body)).id, '/v1/rotations');

    if (wanted('rotations')) {
      const envSecret = (variables: Record<string, unknown>) => ({ kind: 'env-secret', service: 'vault', environment: 'production', variables, githubSecrets: { API_KEY: 'VAULT_API_KEY' } });
      await save('rotation-env-secret', await rotate(envSecret({ API_KEY: { generate: { bytes: 32, encoding: 'hex' } }, API_KEY_ID: { value: 'k-recorded' } })));
      await save('rotation-env-secret-compensated', await rotate(envSecret({ API_KEY: { value: 'reject-recorded' } })));
      await save('environment-rotations', 'slipway-env/vault/production');
      // One host of four down: its write never reached it, so only the other three are undone.
      await save('rotation-partial', await rotate({ kind: 'env-secret', service: 'vault', environment: 'partial', variables: { API_KEY: { value: 'partial-recorded' } } }));
    }

    if (wanted('credentials')) {
      await settle((await call(TOKENS.ci, 'POST', '/v1/deployments', { service: 'keyed', environment: 'production', sha: await release(5) })).id, '/v1/deployments');
      await save('rotation-ssh-key', await rotate({ kind: 'ssh-key', service: 'keyed', environment: 'production', githubSecret: 'DEPLOY_KEY' }));
      const token = (name: string) => { const t = `recorded-${name}`; h.registry.acceptPassword(t); return t; };
      const registryToken = (name: string) => ({ kind: 'registry-token', service: 'keyed', environment: 'production', registry: h.registry.host, username: 'ci', token: token(name), githubSecret: 'REGISTRY_TOKEN' });
      await save('rotation-registry-token', await rotate(registryToken('token-1')));
      writeFileSync(join(h.host('keys-1').stateDir, 'fail-docker-pull'), 'denied\n');
      await save('rotation-registry-token-compensated', await rotate(registryToken('token-2')));
    }

    if (wanted('recipes')) {
      // The bots' health check (test/e2e/recipes.test.ts writes the real one) only has to pass.
      writeFileSync(join(h.host('bot-1').stateDir, 'srv', 'bots', 'check-bot-key'), 'exit 0\n');
      for (const host of ['web-2', 'web-3']) writeFileSync(join(h.host(host).stateDir, 'srv', 'hooked', '.env'), 'WEBHOOK_SECRET=recorded\n');
      const recipe = (service: string, name: string) => rotate({ kind: 'recipe', service, environment: 'production', recipe: name });
      await save('rotation-recipe', await recipe('hooked', 'webhook-secret'));
      h.receiver.answers.push(422);
      await save('rotation-recipe-compensated', await recipe('hooked', 'webhook-secret'));
      h.receiver.answers.length = 0;
      // Queued in bots/production, it takes hooked/production's lock as an outside holder.
      await save('rotation-recipe-paired', await recipe('hooked', 'paired'));
      await save('environment-lock', 'slipway-env/hooked/production');
    }
  } finally {
    await sealed.stop();
  }

  if (wanted('notifications')) {
    // A deploy with hooks: its notifier, and the run's own start-and-signal of it.
    const receiver = await startReceiver({ token: null });
    const notified = await startSealedStack(h, 'record-notify', HISTORY_KEY, {
      notifications: [{ url: `${receiver.url}/hook`, format: 'json', events: ['started', 'succeeded', 'rolled_back'] }],
    });
    try {
      const response = await fetch(`${notified.api}/v1/deployments`, {
        method: 'POST', headers: { authorization: `Bearer ${TOKENS.ci}`, 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'web', environment: 'notify', sha: await release(6) }),
      });
      const { id } = await response.json() as { id: string };
      for (let i = 0; receiver.calls.length < 2; i++) {
        if (i > 300) throw new Error(`${id}: its notifications never arrived`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await save('deploy-notified', id);
      await save('notifier', `${id}/notify`);
    } finally {
      await notified.stop();
      await receiver.stop();
    }
  }
} finally {
  await h.stop();
  await stopAllFixtures();
}
process.exit(0);
