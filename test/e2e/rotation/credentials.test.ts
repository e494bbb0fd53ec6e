import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApi } from '../../../src/api/app.js';
import type { SlipwayConfig } from '../../../src/config/schema.js';
import { hostCalls } from '../../../src/sandbox/fleet.js';
import { SshError, SshSession } from '../../../src/ssh/session.js';
import { sharedFixture } from '../../support/fixtures.js';
import { registryLoginOf } from '../../support/docker.js';
import { newRelease, startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { callStack, rawHistoryText, startSealedStack, waitForRotation, type SealedStack } from '../../support/sealed.js';

const KEY_HOSTS = ['keys-1', 'keys-2'];
type Step = { name: string; target?: string; status: string };

/**
 * `ssh-key` and `registry-token` rotations (docs/rotations.md) on the `keyed` service, whose hosts
 * (keys-1, keys-2) no other test logs in to: a rotation changes how Slipway reaches them.
 */
describe('credential rotations', function () {
  this.timeout(120_000);
  let h: Harness;
  let stack: SealedStack;
  before(async () => {
    h = await sharedFixture('harness', startHarness, (x) => x.stop());
    stack = await startSealedStack(h, 'credentials');
    await deploy('production');
  });
  after(() => stack.stop());

  const call = (method: string, path: string, body?: unknown) => callStack(stack, TOKENS.rotator, method, path, body);
  const waitFor = (id: string, statuses: string[]) => waitForRotation(stack, TOKENS.rotator, id, statuses);
  const store = () => h.config.credentialStore!;
  const storedKeyPath = (name: string) => { const host = h.host(name); return join(store(), 'ssh', `${host.user}@${host.address}:${host.port}`); };
  const authorizedKeys = (name: string) => readFileSync(join(h.fleet.homeOf(h.host(name)), '.ssh', 'authorized_keys'), 'utf8');
  const publicBlob = (privateKey: string) => (ssh2.utils.parseKey(privateKey) as ssh2.ParsedKey).getPublicSSH().toString('base64');
  const stepsOf = (rotation: { steps: Step[] }) => rotation.steps.map((s) => [s.name, s.target ?? null, s.status]);

  /** Deploys through the sealed stack: the environment's workflow runs there, with the codec. */
  async function deploy(environment: string, release?: string): Promise<void> {
    const sha = release ?? await newRelease(h);
    const started = await callStack(stack, TOKENS.ci, 'POST', '/v1/deployments', { service: 'keyed', environment, sha });
    assert.equal(started.status, 202, started.text);
    for (let i = 0; ; i++) {
      const { body } = await callStack(stack, TOKENS.reader, 'GET', `/v1/deployments/${started.body.id}`);
      if (['succeeded', 'failed', 'rolled_back', 'aborted'].includes(body.status)) {
        assert.equal(body.status, 'succeeded', JSON.stringify(body));
        return;
      }
      if (i > 300) assert.fail(`deploy to keyed/${environment} never finished: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const logsInWith = async (name: string, privateKey: string) => {
    const host = h.host(name);
    try {
      const session = await SshSession.connect(host, { privateKey, knownHostsPath: h.fleet.knownHostsPath, connectTimeoutMs: 2_000, keepaliveIntervalMs: 1_000 });
      session.close();
      return true;
    } catch (error) {
      if (error instanceof SshError && error.kind === 'auth') return false;
      throw error;
    }
  };

  it('rotates the deploy key: added and proved on every host, Slipway switched, GitHub updated, then the old key removed', async () => {
    const started = await call('POST', '/v1/rotations', { kind: 'ssh-key', service: 'keyed', environment: 'production', githubSecret: 'DEPLOY_KEY' });
    assert.equal(started.status, 202, started.text);
    const done = await waitFor(started.body.id, ['succeeded', 'compensated', 'failed']);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.deepEqual(stepsOf(done), [
      ['check the credential store is on persistent storage', null, 'succeeded'],
      ['lock the logins for this rotation', null, 'succeeded'],
      ['generate a new Ed25519 key', null, 'succeeded'],
      ...KEY_HOSTS.map((host) => ['add the new key to authorized_keys', host, 'succeeded']),
      ...KEY_HOSTS.map((host) => ['log in with the new key', host, 'succeeded']),
      ['switch Slipway to the new key', null, 'succeeded'],
      ['update GitHub secret DEPLOY_KEY', null, 'succeeded'],
      ...KEY_HOSTS.map((host) => ['remove the old key from authorized_keys', host, 'succeeded']),
    ]);

    const newKey = readFileSync(storedKeyPath('keys-1'), 'utf8');
    const parsed = ssh2.utils.parseKey(newKey) as ssh2.ParsedKey;
    assert.ok(parsed.isPrivateKey() && parsed.type === 'ssh-ed25519', 'the store holds an Ed25519 private key');
    assert.equal(statSync(storedKeyPath('keys-1')).mode & 0o777, 0o600);
    assert.equal(statSync(store()).mode & 0o777, 0o700);
    for (const name of KEY_HOSTS) {
      assert.equal(readFileSync(storedKeyPath(name), 'utf8'), newKey, `${name}: one new key for the environment`);
      assert.ok(authorizedKeys(name).includes(publicBlob(newKey)), `${name} accepts the new key`);
      assert.ok(!authorizedKeys(name).includes(publicBlob(h.fleet.clientKey.private)), `${name} no longer lists the old key`);
      assert.equal(await logsInWith(name, h.fleet.clientKey.private), false, `${name} refuses the old key`);
      assert.equal(await logsInWith(name, newKey), true);
      assert.deepEqual(readdirSync(join(h.fleet.homeOf(h.host(name)), '.ssh')), ['authorized_keys'], `${name}: nothing of the rotation left in ~/.ssh`);
    }
    assert.equal(await logsInWith('web-1', h.fleet.clientKey.private), true, 'hosts of other environments keep the old key');
    assert.equal(h.github.secrets.get('acme/shop/DEPLOY_KEY'), newKey, 'GitHub holds the new private key');
    assert.ok(!existsSync(join(store(), 'staged', done.id)), 'the staged key is gone');
    assert.deepEqual(readdirSync(join(store(), 'ssh')).filter((f) => f.includes('.before-')), [], 'the snapshots are gone');
    assert.deepEqual(readdirSync(join(store(), 'locks')), [], 'the logins are released');

    // Another environment on the same host logs in with the new key.
    await deploy('staging');
    const raw = await rawHistoryText(h, done.id);
    const body = newKey.split('\n')[2]!;
    assert.ok(raw.length > 1000 && !raw.includes(body), 'no part of the private key in history');
  });

  it('refuses to rotate the deploy key when the credential store would not outlive the worker, before touching anything', async () => {
    // /dev/shm is memory: the only key that still gets in would be gone at the next restart.
    const volatile = await startSealedStack(h, 'volatile', undefined, { credentialStore: mkdtempSync('/dev/shm/slipway-store-') });
    try {
      const before = authorizedKeys('keys-1');
      const started = await callStack(volatile, TOKENS.rotator, 'POST', '/v1/rotations', { kind: 'ssh-key', service: 'keyed', environment: 'volatile' });
      assert.equal(started.status, 202, started.text);
      const done = await waitForRotation(volatile, TOKENS.rotator, started.body.id, ['succeeded', 'compensated', 'failed']);
      assert.equal(done.status, 'compensated', JSON.stringify(done));
      assert.equal(done.error.type, 'CredentialStoreNotPersistent');
      assert.match(done.error.message, /credentialStore \/dev\/shm\/slipway-store-\S+ is on memory \(tmpfs\)/);
      assert.deepEqual(stepsOf(done).filter(([, , status]) => status !== 'pending'), [['check the credential store is on persistent storage', null, 'failed']]);
      assert.equal(authorizedKeys('keys-1'), before, 'no host touched');
    } finally {
      await volatile.stop();
    }
  });

  it('removes the new key again when a host will not take it, before Slipway switches', async () => {
    // keys-2 reads its keys from elsewhere, as a host whose sshd_config was changed by hand might.
    const keys2 = h.host('keys-2');
    const pinned = join(keys2.stateDir, 'pinned_keys');
    copyFileSync(join(h.fleet.homeOf(keys2), '.ssh', 'authorized_keys'), pinned);
    await h.fleet.restart(keys2, { authorizedKeysFile: pinned });
    try {
      const before = Object.fromEntries(KEY_HOSTS.map((name) => [name, { file: authorizedKeys(name), key: readFileSync(storedKeyPath(name), 'utf8') }]));
      const github = h.github.secrets.get('acme/shop/DEPLOY_KEY');
      const started = await call('POST', '/v1/rotations', { kind: 'ssh-key', service: 'keyed', environment: 'production', githubSecret: 'DEPLOY_KEY' });
      const done = await waitFor(started.body.id, ['compensated', 'failed', 'succeeded']);
      assert.equal(done.status, 'compensated', JSON.stringify(done));
      assert.deepEqual([done.error.type, done.error.step, done.error.target], ['SshAuthFailed', 'log in with the new key', 'keys-2']);
      assert.deepEqual(stepsOf(done).filter(([, , status]) => status !== 'pending'), [
        ['check the credential store is on persistent storage', null, 'succeeded'],
      ['lock the logins for this rotation', null, 'succeeded'],
        ['generate a new Ed25519 key', null, 'succeeded'],
        ...KEY_HOSTS.map((host) => ['add the new key to authorized_keys', host, 'compensated']),
        ['log in with the new key', 'keys-1', 'succeeded'],
        ['log in with the new key', 'keys-2', 'failed'],
      ]);
      for (const name of KEY_HOSTS) {
        assert.equal(authorizedKeys(name), before[name]!.file, `${name}: authorized_keys as it was`);
        assert.equal(readFileSync(storedKeyPath(name), 'utf8'), before[name]!.key, `${name}: Slipway kept its key`);
      }
      assert.equal(h.github.secrets.get('acme/shop/DEPLOY_KEY'), github, 'GitHub untouched');
    } finally {
      await h.fleet.restart(keys2);
    }
    await deploy('production');
  });

  it('switches back and removes the new key when GitHub refuses the secret after the switch; a failed undo waits for retry', async () => {
    const before = Object.fromEntries(KEY_HOSTS.map((name) => [name, { file: authorizedKeys(name), key: readFileSync(storedKeyPath(name), 'utf8') }]));
    h.github.override.set('PUT /repos/acme/shop/actions/secrets/DEPLOY_KEY', 403);
    try {
      const started = await call('POST', '/v1/rotations', { kind: 'ssh-key', service: 'keyed', environment: 'production', githubSecret: 'DEPLOY_KEY' });
      const failed = await waitFor(started.body.id, ['failed', 'compensated', 'succeeded']);
      assert.equal(failed.status, 'failed', JSON.stringify(failed));
      assert.deepEqual([failed.error.type, failed.error.step], ['GithubAuthFailed', 'update GitHub secret DEPLOY_KEY']);
      assert.deepEqual(failed.leftToFix, ['set the GitHub Actions secret DEPLOY_KEY of acme/shop back to the old deploy key']);
      assert.deepEqual(stepsOf(failed).filter(([, , status]) => status !== 'pending').map(([name, target, status]) => `${name}${target ? ` ${target}` : ''}: ${status}`), [
        'check the credential store is on persistent storage: succeeded',
        'lock the logins for this rotation: succeeded',
        'generate a new Ed25519 key: succeeded',
        ...KEY_HOSTS.map((host) => `add the new key to authorized_keys ${host}: compensated`),
        ...KEY_HOSTS.map((host) => `log in with the new key ${host}: succeeded`),
        'switch Slipway to the new key: compensated',
        'update GitHub secret DEPLOY_KEY: failed',
      ]);
      for (const name of KEY_HOSTS) {
        assert.equal(readFileSync(storedKeyPath(name), 'utf8'), before[name]!.key, `${name}: Slipway switched back`);
        assert.equal(authorizedKeys(name), before[name]!.file, `${name}: the new key is gone again`);
        assert.equal(await logsInWith(name, before[name]!.key), true);
      }

      // keyed/staging shares keys-1: its own ssh-key rotation must wait until this one has ended.
      const sharing = await call('POST', '/v1/rotations', { kind: 'ssh-key', service: 'keyed', environment: 'staging' });
      const refused = await waitFor(sharing.body.id, ['compensated', 'failed', 'succeeded']);
      assert.equal(refused.status, 'compensated', JSON.stringify(refused));
      assert.equal(refused.error.type, 'LoginLocked');
      assert.match(refused.error.message, new RegExp(`under way \\(${failed.id}\\)`));
      assert.deepEqual(stepsOf(refused).filter(([, , status]) => status !== 'pending'), [
        ['check the credential store is on persistent storage', null, 'succeeded'],
        ['lock the logins for this rotation', null, 'failed'],
      ], 'nothing touched');

      h.github.override.delete('PUT /repos/acme/shop/actions/secrets/DEPLOY_KEY');
      assert.equal((await call('POST', `/v1/rotations/${failed.id}/retry`)).status, 202);
      const done = await waitFor(failed.id, ['compensated']);
      assert.equal(done.leftToFix, undefined);
      assert.deepEqual(readdirSync(join(store(), 'locks')), [], 'the logins are released once it has ended');
      assert.equal(h.github.secrets.get('acme/shop/DEPLOY_KEY'), before['keys-1']!.key, 'GitHub holds the key Slipway uses');
    } finally {
      h.github.override.delete('PUT /repos/acme/shop/actions/secrets/DEPLOY_KEY');
    }
    await deploy('production');
  });

  it('clears the login locks and staged key of an ssh-key rotation an admin released, so the next one runs', async () => {
    h.github.override.set('PUT /repos/acme/shop/actions/secrets/DEPLOY_KEY', 403);
    try {
      const started = await call('POST', '/v1/rotations', { kind: 'ssh-key', service: 'keyed', environment: 'production', githubSecret: 'DEPLOY_KEY' });
      const stuck = await waitFor(started.body.id, ['failed', 'compensated', 'succeeded']);
      assert.equal(stuck.status, 'failed', 'its undo of the GitHub secret failed too: it waits for an operator');
      assert.equal(readdirSync(join(store(), 'locks')).length, KEY_HOSTS.length, 'it holds its logins');

      const released = await callStack(stack, TOKENS.ops, 'POST', '/v1/services/keyed/environments/production/release', { reason: 'giving up on it' });
      assert.equal(released.status, 202, released.text);
      const ledger = async () => (await callStack(stack, TOKENS.reader, 'GET', '/v1/services/keyed/environments/production')).body;
      for (let i = 0; (await ledger()).active === stuck.id; i++) {
        if (i > 100) assert.fail('the environment never recorded the released rotation');
        await new Promise((r) => setTimeout(r, 100));
      }
      const entry = (await ledger()).history.find((e: { runId: string }) => e.runId === stuck.id);
      assert.equal(entry.kind, 'rotation');
      assert.equal(entry.status, 'aborted');
      for (const name of KEY_HOSTS) assert.match(entry.error, new RegExp(`the rotation lock of ${h.host(name).user}@${h.host(name).address}:${h.host(name).port}`));
      assert.match(entry.error, /its staged key/);
      assert.match(entry.error, /kept for a fix by hand .*: ssh\/.*\.before-/);
      assert.deepEqual(readdirSync(join(store(), 'locks')), [], 'no login stays locked');
      assert.equal(existsSync(join(store(), 'staged', stuck.id)), false, 'no staged key is left');

      h.github.override.delete('PUT /repos/acme/shop/actions/secrets/DEPLOY_KEY');
      // keyed/staging shares keys-1, whose login the released rotation held.
      const next = await call('POST', '/v1/rotations', { kind: 'ssh-key', service: 'keyed', environment: 'staging' });
      const done = await waitFor(next.body.id, ['compensated', 'failed', 'succeeded']);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
    } finally {
      h.github.override.delete('PUT /repos/acme/shop/actions/secrets/DEPLOY_KEY');
    }
    await deploy('production');
  });

  it('rotates the registry token: verified, logged in on every host, pulled on the canary, GitHub, then Slipway\'s own', async () => {
    const token = `registry-token-${Date.now().toString(36)}`;
    h.registry.acceptPassword(token);
    const started = await call('POST', '/v1/rotations', { kind: 'registry-token', service: 'keyed', environment: 'production', registry: h.registry.host, username: 'ci', token, githubSecret: 'REGISTRY_TOKEN' });
    assert.equal(started.status, 202, started.text);
    assert.equal(started.body.registry, h.registry.host);
    const done = await waitFor(started.body.id, ['succeeded', 'compensated', 'failed']);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.deepEqual(stepsOf(done), [
      ['check the credential store is on persistent storage', null, 'succeeded'],
      [`verify the token at ${h.registry.host}`, null, 'succeeded'],
      ...KEY_HOSTS.map((host) => [`docker login ${h.registry.host}`, host, 'succeeded']),
      ['read the current images from the registry with the new token', 'keys-1', 'succeeded'],
      ['update GitHub secret REGISTRY_TOKEN', null, 'succeeded'],
      [`switch Slipway to the new token for ${h.registry.host}`, null, 'succeeded'],
    ]);
    for (const name of KEY_HOSTS) {
      assert.deepEqual(registryLoginOf(h.fleet.homeOf(h.host(name)), h.registry.host), { username: 'ci', password: token }, `${name} logged in with the new token, read from stdin`);
    }
    const pulls = hostCalls(h.host('keys-1')).filter((c) => c.step === 'docker-manifest').map((c) => c.args.at(-1));
    assert.match(pulls.at(-1)!, new RegExp(`^${h.registry.host}/acme/shop-backend@sha256:[0-9a-f]{64}$`));
    assert.ok(!hostCalls(h.host('keys-2')).some((c) => c.step === 'docker-manifest'), 'only the canary reads them');
    assert.equal(h.github.secrets.get('acme/shop/REGISTRY_TOKEN'), token);
    assert.deepEqual(JSON.parse(readFileSync(join(store(), 'registries', `${h.registry.host}.json`), 'utf8')), { username: 'ci', token });

    // Slipway's own registry calls use the new token from now on.
    const release = await newRelease(h);
    const seen = h.registry.passwordsUsed.length;
    await deploy('staging', release);
    assert.deepEqual([...new Set(h.registry.passwordsUsed.slice(seen))], [token]);
    const raw = await rawHistoryText(h, done.id);
    assert.ok(raw.length > 1000 && !raw.includes(token), 'no token in history');
    assert.ok(!JSON.stringify(done).includes(token), 'no token in the answer');
  });

  it('logs the hosts back in with the old token when the canary cannot pull with the new one, and refuses a token the registry does not, or that does not pull every service\'s images there', async () => {
    const old = JSON.parse(readFileSync(join(store(), 'registries', `${h.registry.host}.json`), 'utf8')) as { token: string };
    const github = h.github.secrets.get('acme/shop/REGISTRY_TOKEN');
    const token = `registry-token-unpullable-${Date.now().toString(36)}`;
    h.registry.acceptPassword(token);
    writeFileSync(join(h.host('keys-1').stateDir, 'fail-docker-manifest'), 'Error response from daemon: denied\n');
    try {
      const started = await call('POST', '/v1/rotations', { kind: 'registry-token', service: 'keyed', environment: 'production', registry: h.registry.host, username: 'ci', token, githubSecret: 'REGISTRY_TOKEN' });
      const done = await waitFor(started.body.id, ['compensated', 'failed', 'succeeded']);
      assert.equal(done.status, 'compensated', JSON.stringify(done));
      assert.deepEqual([done.error.step, done.error.target], ['read the current images from the registry with the new token', 'keys-1']);
      for (const name of KEY_HOSTS) {
        assert.equal(registryLoginOf(h.fleet.homeOf(h.host(name)), h.registry.host)?.password, old.token, `${name} is logged in with the old token again`);
      }
      assert.equal(h.github.secrets.get('acme/shop/REGISTRY_TOKEN'), github, 'GitHub untouched');
      assert.equal(JSON.parse(readFileSync(join(store(), 'registries', `${h.registry.host}.json`), 'utf8')).token, old.token, 'Slipway keeps the old token');
    } finally {
      rmSync(join(h.host('keys-1').stateDir, 'fail-docker-manifest'), { force: true });
    }

    const wrong = await call('POST', '/v1/rotations', { kind: 'registry-token', service: 'keyed', environment: 'production', registry: h.registry.host, username: 'ci', token: 'not-a-token-it-knows' });
    const refused = await waitFor(wrong.body.id, ['compensated', 'failed', 'succeeded']);
    assert.equal(refused.status, 'compensated');
    assert.equal(refused.error.type, 'RegistryAuthFailed');
    assert.match(refused.error.message, /refused the credentials of ci/);
    assert.deepEqual(refused.steps.filter((s: Step) => s.status !== 'pending').map((s: Step) => s.name), ['check the credential store is on persistent storage', `verify the token at ${h.registry.host}`], 'no host was touched');
    assert.ok(!JSON.stringify(refused).includes('not-a-token-it-knows'));

    // Slipway logs every service in with this one credential: a token that pulls only keyed's
    // images would lock shop out of the registry. It is refused before any host is touched.
    const narrow = `registry-token-narrow-${Date.now().toString(36)}`;
    h.registry.acceptPassword(narrow, ['acme/shop-backend']);
    const scoped = await call('POST', '/v1/rotations', { kind: 'registry-token', service: 'keyed', environment: 'production', registry: h.registry.host, username: 'ci', token: narrow });
    const tooNarrow = await waitFor(scoped.body.id, ['compensated', 'failed', 'succeeded']);
    assert.equal(tooNarrow.status, 'compensated', JSON.stringify(tooNarrow));
    assert.match(tooNarrow.error.message, /acme\/shop-frontend/);
    assert.deepEqual(tooNarrow.steps.filter((s: Step) => s.status !== 'pending').map((s: Step) => s.name), ['check the credential store is on persistent storage', `verify the token at ${h.registry.host}`], 'no host was touched');
  });

  it('puts a key rotation on a schedule, and removes it', async () => {
    const created = await call('POST', '/v1/rotations', { kind: 'ssh-key', service: 'keyed', environment: 'production', githubSecret: 'DEPLOY_KEY', schedule: { every: '90d' } });
    assert.equal(created.status, 201, created.text);
    const listed = await call('GET', '/v1/schedules');
    assert.ok(listed.body.items.some((s: { id: string; kind: string; every: string }) => s.id === created.body.id && s.kind === 'ssh-key' && s.every === '90d'), listed.text);
    const description = await stack.client.schedule.getHandle(created.body.id).describe();
    assert.deepEqual((description.action as { args: unknown[] }).args[0], { service: 'keyed', environment: 'production', request: { kind: 'ssh-key', githubSecret: 'DEPLOY_KEY' } });
    assert.equal((await call('DELETE', `/v1/schedules/${created.body.id}`)).status, 204);
  });

  it('needs a credential store, and a registry credential to go back to', async () => {
    /** The stack's API with another config, for one request. */
    async function post(config: SlipwayConfig, body: unknown): Promise<{ status: number; detail: string }> {
      const app = createApi({ config, client: stack.client, taskQueue: stack.taskQueue, namespace: h.temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://ui', logError: () => undefined });
      const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
      try {
        const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/rotations`, {
          method: 'POST', headers: { authorization: `Bearer ${TOKENS.rotator}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
        });
        return { status: answer.status, detail: ((await answer.json()) as { detail: string }).detail };
      } finally {
        server.close();
      }
    }
    const noStore = await post({ ...stack.config, credentialStore: undefined }, { kind: 'ssh-key', service: 'keyed', environment: 'production' });
    assert.equal(noStore.status, 409);
    assert.match(noStore.detail, /ssh-key rotations need credentialStore/);
    const anonymous = await post({ ...stack.config, registries: { [h.registry.host]: { insecure: true } } },
      { kind: 'registry-token', service: 'keyed', environment: 'production', registry: h.registry.host, username: 'ci', token: 'a-new-token-1' });
    assert.equal(anonymous.status, 409);
    assert.match(anonymous.detail, /needs a username and a token in the config: Slipway rotates a registry credential it already holds/);
  });
});
