import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostCalls } from '../../../src/sandbox/fleet.js';
import { sharedFixture } from '../../support/fixtures.js';
import { newRelease, startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { callStack, rawHistoryText, startSealedStack, waitForRotation, type SealedStack } from '../../support/sealed.js';

const HOSTS = ['web-1', 'web-2', 'web-3'];

/** Rotations (docs/rotations.md): env-secret sagas on real hosts, compensation, secrets kept out of history. */
describe('rotations', function () {
  this.timeout(120_000);
  let h: Harness;
  let stack: SealedStack;
  before(async () => {
    h = await sharedFixture('harness', startHarness, (x) => x.stop());
    stack = await startSealedStack(h, 'rotations');
  });
  after(() => stack.stop());

  const envPath = (host: string) => join(h.host(host).stateDir, 'srv', 'vault', '.env');
  const env = (host: string) => readFileSync(envPath(host), 'utf8');
  const steps = (host: string) => h.steps(host);
  let oldKey = '';
  beforeEach(() => {
    oldKey = `old-api-key-${Date.now().toString(36)}`;
    for (const host of HOSTS) {
      writeFileSync(envPath(host), `# kept by hand\nDATABASE_URL=postgres://db/vault\nAPI_KEY=${oldKey}\nAPI_KEY_ID=k-old\n`);
      for (const file of ['calls.jsonl', 'fail-up']) rmSync(join(h.host(host).stateDir, file), { force: true });
    }
  });

  const call = (method: string, path: string, body?: unknown, token = TOKENS.rotator) => callStack(stack, token, method, path, body);
  const waitFor = (id: string, statuses: string[]) => waitForRotation(stack, TOKENS.rotator, id, statuses);

  it('writes only what the service lets rotations write: another variable, an image variable or another GitHub secret is 403, and nothing changes', async () => {
    const refused = async (service: string, body: Record<string, unknown>) => {
      const answer = await call('POST', '/v1/rotations', { kind: 'env-secret', service, environment: service === 'keyed' ? 'pinned' : 'production', ...body });
      assert.equal(answer.status, 403, answer.text);
      return answer.body.errors.map((e: { field: string; message: string }) => `${e.field}: ${e.message}`);
    };
    assert.deepEqual(await refused('vault', { variables: { DATABASE_URL: { value: 'postgres://attacker/db' }, API_KEY: { value: 'fine-key-1' } } }),
      ['variables.DATABASE_URL: not in services.vault.rotatable.variables']);
    assert.deepEqual(await refused('keyed', { variables: { BACKEND_IMAGE: { value: 'docker.io/attacker/evil:latest' } } }),
      ['variables.BACKEND_IMAGE: an image variable: a deploy writes it, never a rotation']);
    assert.deepEqual(await refused('vault', { variables: { API_KEY: { value: 'fine-key-1' } }, githubSecrets: { API_KEY: 'PROD_DEPLOY_KEY' } }),
      ['githubSecrets.API_KEY: PROD_DEPLOY_KEY is not in services.vault.rotatable.githubSecrets']);
    assert.deepEqual(await refused('bots', { variables: { BOT_KEY_ID: { value: 'k-1' } } }),
      ['variables: services.bots.rotatable is not configured: env-secret rotations of bots are refused']);
    const inherited = await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'vault', environment: 'production', variables: { API_KEY: { value: 'fine-key-1' } }, githubSecrets: { constructor: 'VAULT_API_KEY' } });
    assert.equal(inherited.status, 400, 'a GitHub secret of a variable the rotation does not write, even one every object inherits');
    assert.deepEqual(inherited.body.errors.map((e: { field: string }) => e.field), ['githubSecrets.constructor']);
    for (const host of HOSTS) {
      assert.equal(env(host), `# kept by hand\nDATABASE_URL=postgres://db/vault\nAPI_KEY=${oldKey}\nAPI_KEY_ID=k-old\n`, `${host}: untouched`);
      assert.deepEqual(steps(host), [], `${host}: not restarted`);
    }
  });

  it("restarts on the release's pinned images, whatever the env file says", async () => {
    const keys1 = h.host('keys-1');
    const sha = await newRelease(h);
    const deployed = await call('POST', '/v1/deployments', { service: 'keyed', environment: 'pinned', sha }, TOKENS.ci);
    assert.equal(deployed.status, 202, deployed.text);
    let run = deployed.body;
    for (let i = 0; !run.finishedAt; i++) {
      if (i > 300) assert.fail(`the deploy never ended: ${JSON.stringify(run)}`);
      await new Promise((r) => setTimeout(r, 100));
      run = (await call('GET', `/v1/deployments/${run.id}`, undefined, TOKENS.reader)).body;
    }
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    const pinned = run.version.images.backend as string;
    // Someone points the env file at another image; the rotation that follows must not run it.
    const envFile = join(keys1.stateDir, 'srv', 'keyed', '.env');
    writeFileSync(envFile, readFileSync(envFile, 'utf8').replace(/^BACKEND_IMAGE=.*$/m, 'BACKEND_IMAGE=docker.io/attacker/evil:latest'));
    const started = await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'keyed', environment: 'pinned', variables: { SIGNING_KEY_ID: { value: 'k-pinned' } } });
    assert.equal(started.status, 202, started.text);
    assert.equal((await waitFor(started.body.id, ['succeeded', 'compensated', 'failed'])).status, 'succeeded');
    const restart = hostCalls(keys1).filter((c) => c.step === 'up').at(-1)!;
    assert.deepEqual(restart.args.slice(-3), ['-d', '--force-recreate', '--remove-orphans']);
    assert.equal(restart.env.BACKEND_IMAGE, pinned, 'the restart was given the pinned image');
    const served = await (await fetch(`http://${keys1.address}:8000/health`)).json() as { images: Record<string, string> };
    assert.equal(served.images.BACKEND_IMAGE, pinned, 'and runs it');
  });

  it('rotates a generated secret and its key id on every host, canary first, then the GitHub secret; nothing secret in history or answers', async () => {
    const started = await call('POST', '/v1/rotations', {
      kind: 'env-secret', service: 'vault', environment: 'production',
      variables: { API_KEY: { generate: { bytes: 32, encoding: 'hex' } }, API_KEY_ID: { value: 'k-2026-11' } },
      githubSecrets: { API_KEY: 'VAULT_API_KEY' },
    });
    assert.equal(started.status, 202, started.text);
    const done = await waitFor(started.body.id, ['succeeded', 'compensated', 'failed']);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));

    const newKey = /^API_KEY=([0-9a-f]{64})$/m.exec(env('web-1'))?.[1];
    assert.ok(newKey, `a 32-byte hex API_KEY on web-1:\n${env('web-1')}`);
    for (const host of HOSTS) {
      assert.equal(env(host), `# kept by hand\nDATABASE_URL=postgres://db/vault\nAPI_KEY=${newKey}\nAPI_KEY_ID=k-2026-11\n`, `${host}: both values, every other line kept`);
      assert.ok(readFileSync(`${envPath(host)}.slipway-prev`, 'utf8').includes(`API_KEY=${oldKey}`), `${host}: the previous file is kept`);
      assert.ok(!existsSync(`${envPath(host)}.slipway-rotation-${done.id}`), `${host}: the rotation's backup is gone`);
      assert.deepEqual(steps(host), ['up'], `${host}: restarted once`);
    }
    const upAt = (host: string) => hostCalls(h.host(host)).find((c) => c.step === 'up')!.at;
    assert.ok(upAt('web-1') < upAt('web-2') && upAt('web-1') < upAt('web-3'), 'the canary restarted first');
    assert.equal(h.github.secrets.get('acme/shop/VAULT_API_KEY'), newKey, 'GitHub holds the same new value');
    assert.deepEqual(done.steps.map((s: { name: string; target?: string; status: string }) => [s.name, s.target ?? null, s.status]), [
      ['generate API_KEY', null, 'succeeded'],
      ...HOSTS.map((host) => ['write API_KEY, API_KEY_ID to .env', host, 'succeeded']),
      ...HOSTS.map((host) => ['restart and check health', host, 'succeeded']),
      ['update GitHub secret VAULT_API_KEY', null, 'succeeded'],
    ]);

    // The histories as the server keeps them: the rotation and its environment's workflow.
    for (const workflowId of [done.id, 'slipway-env/vault/production']) {
      const raw = await rawHistoryText(h, workflowId);
      assert.ok(raw.length > 1000, `${workflowId}: the history was read`);
      for (const [what, secret] of [['new value', newKey], ['old value', oldKey]]) assert.ok(!raw.includes(secret!), `${workflowId}: no ${what} in history`);
    }
    const answers = [started.text, (await call('GET', `/v1/rotations/${done.id}`)).text, (await call('GET', '/v1/services/vault/environments/production')).text];
    for (const text of answers) assert.ok(!text.includes(newKey!) && !text.includes(oldKey), `no secret in an API answer: ${text.slice(0, 200)}`);
  });

  it('compensates when the canary fails its health checks with the new value: old values back and restarted, the rest untouched', async () => {
    const started = await call('POST', '/v1/rotations', {
      kind: 'env-secret', service: 'vault', environment: 'production', variables: { API_KEY: { value: 'reject-this-key' } },
    });
    assert.equal(started.status, 202, started.text);
    const done = await waitFor(started.body.id, ['compensated', 'failed', 'succeeded']);
    assert.equal(done.status, 'compensated', JSON.stringify(done));
    assert.equal(done.error.type, 'HealthCheckFailed');
    assert.equal(done.error.target, 'web-1');
    for (const host of HOSTS) assert.ok(env(host).includes(`API_KEY=${oldKey}\n`), `${host} has its old value again:\n${env(host)}`);
    assert.deepEqual(steps('web-1'), ['up', 'up'], 'the canary restarted with the new value, then with the old one');
    assert.deepEqual([steps('web-2'), steps('web-3')], [[], []], 'the hosts after the canary were never restarted');
    assert.deepEqual(done.steps.filter((s: { status: string }) => s.status === 'pending').map((s: { target: string }) => s.target), ['web-2', 'web-3']);
    assert.ok(!JSON.stringify(done).includes('reject-this-key'), 'the supplied value is not echoed');
  });

  it('ends failed when a compensation fails, says what is left, and finishes compensating on retry', async () => {
    writeFileSync(join(h.host('web-3').stateDir, 'fail-up'), 'compose: cannot start the container\n');
    const started = await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'vault', environment: 'production', variables: { API_KEY: { value: 'never-used-key-1' } } });
    const failed = await waitFor(started.body.id, ['failed', 'compensated', 'succeeded']);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.equal(failed.error.target, 'web-3');
    assert.deepEqual(failed.leftToFix, ['restart web-3 once its env file holds the old values']);
    for (const host of HOSTS) assert.ok(env(host).includes(`API_KEY=${oldKey}\n`), `${host}: the files were restored all the same`);
    assert.equal((await call('POST', `/v1/rotations/${failed.id}/retry`, undefined, TOKENS.reader)).status, 403);

    rmSync(join(h.host('web-3').stateDir, 'fail-up'));
    const retried = await call('POST', `/v1/rotations/${failed.id}/retry`);
    assert.equal(retried.status, 202, retried.text);
    const done = await waitFor(failed.id, ['compensated']);
    assert.equal(done.leftToFix, undefined);
    assert.equal((await call('POST', `/v1/rotations/${failed.id}/retry`)).status, 409, 'nothing left to retry');
  });

  it('validates rotation requests, scopes and kinds', async () => {
    const bad = await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'vault', environment: 'production', variables: { API_KEY: { generate: { bytes: 4, encoding: 'hex' } } }, githubSecrets: { OTHER: 'X' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field), ['variables.API_KEY.generate.bytes', 'githubSecrets.OTHER']);
    const badName = await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'vault', environment: 'production', variables: { 'API-KEY;reboot': { value: 'abcd' } } });
    assert.deepEqual(badName.body.errors.map((e: { field: string }) => e.field), ['variables["API-KEY;reboot"]']);
    assert.equal((await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'web', environment: 'fleet', variables: { A: { value: 'abcd' } } })).status, 403);
    assert.equal((await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'vault', environment: 'nowhere', variables: { A: { value: 'abcd' } } })).status, 404);
    const noImage = await call('POST', '/v1/rotations', { kind: 'registry-token', service: 'vault', environment: 'production', registry: h.registry.host, username: 'ci', token: 'tok-123456' });
    assert.equal(noImage.status, 400, noImage.text);
    assert.match(noImage.body.detail, /has no image in 127\.0\.0\.1:\d+/);
    assert.ok(!noImage.text.includes('tok-123456'));
    const scheduledToken = await call('POST', '/v1/rotations', { kind: 'registry-token', service: 'keyed', environment: 'production', registry: h.registry.host, username: 'ci', token: 'tok-123456', schedule: { every: '90d' } });
    assert.equal(scheduledToken.status, 400, scheduledToken.text);
    assert.deepEqual(scheduledToken.body.errors.map((e: { field: string }) => e.field), ['schedule']);
    assert.equal((await call('GET', '/v1/rotations/no-such-rotation')).status, 404);
    // Without payload encryption, a rotation's values would sit in history as they are.
    const plain = await h.request('POST', '/v1/rotations', { kind: 'env-secret', service: 'vault', environment: 'production', variables: { A: { value: 'abcd' } } }, TOKENS.rotator);
    assert.equal(plain.status, 409);
    assert.match(plain.body.detail, /payload encryption/);
  });

  it('puts a rotation on a Temporal Schedule, lists it, runs it through the environment queue, and deletes it', async () => {
    const supplied = await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'vault', environment: 'production', variables: { API_KEY: { value: 'same-every-time' } }, schedule: { every: '90d' } });
    assert.equal(supplied.status, 400, 'a schedule generates its values');
    const created = await call('POST', '/v1/rotations', {
      kind: 'env-secret', service: 'vault', environment: 'production', variables: { API_KEY: { generate: { bytes: 24, encoding: 'base64url' } } }, schedule: { every: '90d' },
    });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.nextRunAt, /^\d{4}-/);
    const listed = await call('GET', '/v1/schedules');
    assert.ok(listed.body.items.some((s: { id: string; every: string }) => s.id === created.body.id && s.every === '90d'), listed.text);

    // Ninety days are long for a test: run it now, as an operator can from the Temporal UI.
    await stack.client.schedule.getHandle(created.body.id).trigger();
    for (let i = 0; !/^API_KEY=[A-Za-z0-9_-]{32}$/m.test(env('web-3')); i++) {
      if (i > 300) assert.fail(`the scheduled rotation never reached web-3:\n${env('web-3')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The rotation it queued ends in the environment's history like any run.
    for (let i = 0; ; i++) {
      const { body } = await call('GET', '/v1/services/vault/environments/production');
      if (body.active === null && body.history[0]?.kind === 'rotation' && body.history[0].status === 'succeeded') break;
      if (i > 300) assert.fail(`the scheduled rotation never finished: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    assert.equal((await call('DELETE', `/v1/schedules/${created.body.id}`)).status, 204);
    // The list is Temporal's visibility store, which catches up with a delete a moment later.
    for (let i = 0; (await call('GET', '/v1/schedules')).body.items.some((s: { id: string }) => s.id === created.body.id); i++) {
      if (i > 50) assert.fail(`schedule ${created.body.id} still listed after its delete`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await call('DELETE', `/v1/schedules/${created.body.id}`)).status, 404);
  });
});
