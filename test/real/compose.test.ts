import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FleetHost } from '../../src/sandbox/fleet.js';
import { TOKENS } from '../support/api-client.js';
import { registryLoginOf } from '../support/docker.js';
import { useRealStack, type RealStack } from '../support/real-stack.js';
import { REGISTRY_PASSWORD } from '../support/registry.js';

interface Container { Id: string; Image: string; Config: { Image: string }; State: { StartedAt: string; Running: boolean } }

/**
 * The compose runtime on a real Docker Engine and Compose v2 (test/support/docker.ts): the test
 * app's images built FROM scratch, pushed to the test registry, and deployed by digest to three
 * OpenSSH hosts that share the Engine, each with its own compose project. One release after the
 * other, as an environment lives: each test starts from where the one before it left.
 */
describe('compose on a real Docker Engine', function () {
  this.timeout(240_000);
  let s: RealStack;
  const releases: Record<string, { sha: string; digest: string }> = {};

  before(async function () {
    s = await useRealStack(this);
  });

  const reference = (name: string) => `${s.repository}:sha-${releases[name]!.sha.slice(0, 7)}@${releases[name]!.digest}`;
  const inspect = async (host: FleetHost, service = 'app') => (JSON.parse(await s.docker(['inspect', s.containerOf(host, service)])) as Container[])[0]!;
  const appVersion = async (host: FleetHost) => (await (await fetch(`${s.appUrl(host)}/version`)).json()) as { version: string; schema: string; migrations: number };
  const envFile = (host: FleetHost, suffix = '') => readFileSync(join(s.dirOf(host), `.env${suffix}`), 'utf8');
  const localDigests = async () => (await s.docker(['image', 'ls', '--digests', '--format', '{{.Repository}}@{{.Digest}}'])).split('\n').filter((l) => l.startsWith(`${s.repository}@`)).map((l) => l.split('@')[1]!).sort();
  const oneOffs = async () => (await s.docker(['ps', '-a', '--filter', 'label=com.docker.compose.oneoff=True', '--format', '{{.Names}}'])).trim();
  async function deploy(name: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const started = await s.request('POST', '/v1/deployments', { service: 'app', environment: 'production', sha: releases[name]!.sha, reason: `deploy ${name}` });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return s.waitForRun(started.body.id, 180_000);
  }

  it('deploys pinned by digest to three hosts, canary then batch, migrates once with run --rm, and updates them', async () => {
    releases.v1 = await s.release({ version: 'v1', revision: 'r1' });
    const first = await deploy('v1');
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.deepEqual(first.targets.map((t: { batch: number }) => t.batch), [1, 2, 2]);
    for (const host of s.hosts) {
      const container = await inspect(host);
      assert.equal(container.Config.Image, reference('v1'), `${host.name} runs exactly the pinned reference`);
      const image = (JSON.parse(await s.docker(['image', 'inspect', container.Image])) as Array<{ RepoDigests: string[] }>)[0]!;
      assert.ok(image.RepoDigests.includes(`${s.repository}@${releases.v1!.digest}`), `${host.name}'s image is the pushed digest: ${image.RepoDigests.join(', ')}`);
      assert.equal((await appVersion(host)).version, 'v1');
      assert.equal(envFile(host), `# kept by hand\nLOG_LEVEL=info\nAPI_KEY=first\nAPP_IMAGE=${reference('v1')}\n`, 'the image line added, every other line kept');
      assert.equal(envFile(host, '.slipway-prev'), '# kept by hand\nLOG_LEVEL=info\nAPI_KEY=first\n', 'the file as it was before');
    }
    const [canary, ...rest] = await Promise.all(s.hosts.map(async (h) => Date.parse((await inspect(h)).State.StartedAt)));
    assert.ok(rest.every((t) => t > canary!), 'the canary started before the batch');
    // The migration ran on the first target only, against its volume, in a container removed after.
    assert.deepEqual(await appVersion(s.hosts[0]!), { version: 'v1', revision: 'r1', schema: 'r1', migrations: 1 });
    assert.equal((await appVersion(s.hosts[1]!)).migrations, 0);
    assert.equal(await oneOffs(), '', 'no container of the migration is left');

    releases.v2 = await s.release({ version: 'v2', revision: 'r2' });
    const second = await deploy('v2');
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    for (const host of s.hosts) {
      assert.equal((await inspect(host)).Config.Image, reference('v2'));
      assert.equal((await appVersion(host)).version, 'v2');
      assert.match(envFile(host, '.slipway-prev'), new RegExp(`^APP_IMAGE=${reference('v1').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), '.slipway-prev holds the release before');
    }
    assert.deepEqual(await appVersion(s.hosts[0]!), { version: 'v2', revision: 'r2', schema: 'r2', migrations: 2 });
  });

  it('rolls a bad image back: the canary runs the previous digest again, from the image still on the host', async () => {
    const before = await Promise.all(s.hosts.map((h) => inspect(h)));
    releases.v3 = await s.release({ version: 'v3', revision: 'r2', healthy: false });
    const seen = s.registry.requests.length;
    const run = await deploy('v3');
    assert.equal(run.status, 'rolled_back', JSON.stringify(run));
    const canary = await inspect(s.hosts[0]!);
    assert.equal(canary.Config.Image, reference('v2'), 'the canary is on the previous digest');
    assert.notEqual(canary.Id, before[0]!.Id, 'recreated for the rollback');
    assert.equal((await appVersion(s.hosts[0]!)).version, 'v2');
    for (const [i, host] of s.hosts.entries()) {
      if (i === 0) continue;
      assert.equal((await inspect(host)).Id, before[i]!.Id, `${host.name} was never touched`);
    }
    const pulledAgain = s.registry.requests.slice(seen).filter((r) => r.includes(releases.v2!.digest));
    assert.deepEqual(pulledAgain, [], 'the rollback pulled nothing: the previous image was still there');
  });

  it('stops the run before any up when the migration fails, leaving no container of it behind', async () => {
    const before = await Promise.all(s.hosts.map(async (h) => (await inspect(h)).Id));
    const schema = await appVersion(s.hosts[0]!);
    releases.v4 = await s.release({ version: 'v4', revision: 'r4', migrationFails: true });
    const run = await deploy('v4');
    assert.notEqual(run.status, 'succeeded');
    assert.match(`${run.error.step} ${run.error.message}`, /migrate/);
    assert.match(run.error.message, /column "total" already exists/, 'the migration\'s own error');
    assert.deepEqual(await Promise.all(s.hosts.map(async (h) => (await inspect(h)).Id)), before, 'no container was recreated');
    assert.deepEqual(await appVersion(s.hosts[0]!), schema, 'the schema is as it was, and no migration was recorded');
    assert.equal(await oneOffs(), '');
  });

  it('prunes every image but the last keepReleases releases\', and rolls back to the oldest kept one with the registry down', async () => {
    releases.v5 = await s.release({ version: 'v5', revision: 'r5' });
    const run = await deploy('v5');
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    // keepReleases: 2, this release and the newest known-good one; v1, the bad v3 and v4 are gone.
    assert.deepEqual(await localDigests(), [releases.v5!.digest, releases.v2!.digest].sort());

    const backOnline = await s.registry.goOffline();
    try {
      const started = await s.request('POST', '/v1/rollbacks', { service: 'app', environment: 'production', sha: releases.v2!.sha, reason: 'v5 misbehaves' });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const rollback = await s.waitForRun(started.body.id, 180_000);
      assert.equal(rollback.status, 'succeeded', JSON.stringify(rollback.error));
    } finally {
      await backOnline();
    }
    for (const host of s.hosts) {
      assert.equal((await inspect(host)).Config.Image, reference('v2'));
      assert.equal((await appVersion(host)).version, 'v2');
    }
  });

  it('recreates the containers on an env-secret rotation, and the app reads the new value', async () => {
    const before = await Promise.all(s.hosts.map(async (h) => (await inspect(h)).Id));
    const started = await s.request('POST', '/v1/rotations', {
      kind: 'env-secret', service: 'app', environment: 'production', variables: { API_KEY: { generate: { bytes: 16, encoding: 'hex' } } },
    }, TOKENS.ops);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const rotation = await waitForRotation(started.body.id);
    assert.equal(rotation.status, 'succeeded', JSON.stringify(rotation));
    for (const [i, host] of s.hosts.entries()) {
      const value = /^API_KEY=([0-9a-f]{32})$/m.exec(envFile(host))?.[1];
      assert.ok(value, `${host.name}'s env file has the new key`);
      assert.equal(await (await fetch(`${s.appUrl(host)}/env/API_KEY`)).text(), value, `${host.name}'s app reads the new value`);
      const container = await inspect(host);
      assert.notEqual(container.Id, before[i], 'recreated');
      assert.equal(container.Config.Image, reference('v2'), 'on the release\'s pinned image, whatever else changed');
    }
  });

  it('rotates the registry token: docker login on every host, its manifest read by digest with it on the canary, and deploys go on once the old one is revoked', async () => {
    const token = `real-registry-token-${Date.now().toString(36)}`;
    s.registry.acceptPassword(token);
    const started = await s.request('POST', '/v1/rotations', { kind: 'registry-token', service: 'app', environment: 'production', registry: s.registry.host, username: 'ci', token }, TOKENS.ops);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const seen = s.registry.requests.length;
    const rotation = await waitForRotation(started.body.id);
    assert.equal(rotation.status, 'succeeded', JSON.stringify(rotation));
    assert.ok(s.registry.requests.slice(seen).some((r) => r === `GET /v2/acme/app/manifests/${releases.v2!.digest}`), `the canary pulled the current release by digest: ${s.registry.requests.slice(seen).join(', ')}`);
    for (const host of s.hosts) {
      assert.deepEqual(registryLoginOf(s.fleet.homeOf(host), s.registry.host), { username: 'ci', password: token }, `${host.name} is logged in with the new token`);
    }

    s.registry.revokePassword(REGISTRY_PASSWORD);
    await assert.rejects(() => s.engine.docker(['login', s.registry.host, '--username', 'ci', '--password-stdin'], { input: REGISTRY_PASSWORD }), /unauthorized|401/i, 'the registry refuses the old token');
    releases.v6 = await s.release({ version: 'v6', revision: 'r6' });
    const run = await deploy('v6');
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    for (const host of s.hosts) assert.equal((await inspect(host)).Config.Image, reference('v6'), `${host.name} pulled with the new token`);
  });

  async function waitForRotation(id: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    for (let i = 0; i < 600; i++) {
      const { body } = await s.request('GET', `/v1/rotations/${id}`, undefined, TOKENS.reader);
      if (['succeeded', 'compensated', 'failed', 'aborted'].includes(body.status)) return body;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`rotation ${id} did not end`);
  }

});
