import { checkAnswer } from '../support/contract.js';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../src/sandbox/fleet.js';
import { sharedFixture } from '../support/fixtures.js';
import { GITHUB_TOKEN } from '../support/github.js';
import { HARNESS_ENV, startHarness, TOKENS, type Harness } from '../support/harness.js';
import { GITEA_TOKEN } from '../support/receiver.js';
import { spawnManaged, stopManaged } from '../support/processes.js';
import { REGISTRY_PASSWORD } from '../support/registry.js';
import { rawHistoryText } from '../support/sealed.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * "Secrets stay secret", end to end with `npm run worker` and `npm run api` as
 * processes at debug log level: every kind of rotation, one failing, then every secret value
 * involved is looked for in their logs, the workflow histories and the API's answers.
 */
describe('secrets stay secret', function () {
  this.timeout(180_000);
  let h: Harness;
  const processes: ChildProcess[] = [];
  let logs = '';
  let api = '';

  before(async () => {
    h = await sharedFixture('harness', startHarness, (x) => x.stop());
    const dir = mkdtempSync(join(tmpdir(), 'slipway-leak-'));
    const configPath = join(dir, 'slipway.yaml');
    writeFileSync(configPath, `${h.configText}\nencryption:\n  keys: [ { id: leak, key: "${randomBytes(32).toString('base64')}" } ]\n`);
    const port = await freePort('127.0.0.1');
    api = `http://127.0.0.1:${port}`;
    const env = {
      ...process.env, SLIPWAY_CONFIG: configPath, TEMPORAL_ADDRESS: h.temporal.address, TEMPORAL_NAMESPACE: h.temporal.namespace,
      SLIPWAY_TASK_QUEUE: `leak-${Date.now().toString(36)}`, PORT: String(port), LOG_LEVEL: 'debug', TEMPORAL_SDK_LOG_LEVEL: 'DEBUG',
      ...HARNESS_ENV,
    };
    for (const main of ['worker.ts', 'api.ts']) {
      const child = spawnManaged(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'src', 'main', main)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (c: Buffer) => { logs += c.toString(); });
      child.stderr!.on('data', (c: Buffer) => { logs += c.toString(); });
      processes.push(child);
    }
    for (let i = 0; !(logs.includes('worker started') && logs.includes('API listening')); i++) {
      if (i > 600 || processes.some((p) => p.exitCode !== null)) throw new Error(`worker and API did not start:\n${logs}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => { for (const child of processes) await stopManaged(child, 2_000); });

  async function call(method: string, path: string, body?: unknown, token = TOKENS.rotator): Promise<{ status: number; body: any; text: string }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const response = await fetch(`${api}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    checkAnswer({ method, path, status: response.status, contentType: response.headers.get('content-type'), body: parsed });
    return { status: response.status, body: parsed, text };
  }
  const answers: string[] = [];
  async function waitFor(id: string, statuses: string[]): Promise<{ id: string; status: string }> {
    for (let i = 0; i < 600; i++) {
      const got = await call('GET', `/v1/rotations/${id}`);
      answers.push(got.text);
      if (statuses.includes(got.body.status)) return got.body;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${id} never became ${statuses.join(' or ')}: ${answers.at(-1)}`);
  }
  async function rotate(body: Record<string, unknown>): Promise<{ id: string; status: string }> {
    const started = await call('POST', '/v1/rotations', { service: 'keyed', environment: 'leak', ...body });
    assert.equal(started.status, 202, started.text);
    answers.push(started.text);
    return waitFor(started.body.id, ['succeeded', 'compensated', 'failed']);
  }

  it('keeps every value out of logs, histories and answers, through every kind of rotation and a failure', async () => {
    const keys2 = h.host('keys-2');
    const envFile = join(keys2.stateDir, 'srv', 'keyed', '.env');
    const oldSecret = `old-signing-secret-${randomBytes(6).toString('hex')}`;
    writeFileSync(envFile, `SIGNING_SECRET=${oldSecret}\n`);
    const supplied = `supplied-key-id-${randomBytes(6).toString('hex')}`;
    const rejected = `never-deployed-${randomBytes(6).toString('hex')}`;
    const token = `leak-token-${randomBytes(6).toString('hex')}`;
    const wrongToken = `leak-wrong-token-${randomBytes(6).toString('hex')}`;
    h.registry.acceptPassword(token);
    // What Slipway used before: rotated by an earlier test, or the config's.
    const storedToken = join(h.config.credentialStore!, 'registries', `${h.registry.host}.json`);
    const oldRegistryToken = existsSync(storedToken) ? JSON.parse(readFileSync(storedToken, 'utf8')).token as string : REGISTRY_PASSWORD;
    const storedKey = join(h.config.credentialStore!, 'ssh', `${keys2.user}@${keys2.address}:${keys2.port}`);
    const oldKey = existsSync(storedKey) ? readFileSync(storedKey, 'utf8') : h.fleet.clientKey.private;

    const ran = [
      await rotate({ kind: 'env-secret', variables: { SIGNING_SECRET: { generate: { bytes: 32, encoding: 'base64url' } }, SIGNING_KEY_ID: { value: supplied } }, githubSecrets: { SIGNING_SECRET: 'SIGNING_SECRET' } }),
    ];
    const generated = /^SIGNING_SECRET=(\S+)$/m.exec(readFileSync(envFile, 'utf8'))![1]!;
    // The restart fails, and so does the compensation's restart: an operator retries it.
    writeFileSync(join(keys2.stateDir, 'fail-up'), 'compose: the container exited\n');
    try {
      const failed = await rotate({ kind: 'env-secret', variables: { SIGNING_SECRET: { value: rejected } } });
      assert.equal(failed.status, 'failed', JSON.stringify(failed));
      rmSync(join(keys2.stateDir, 'fail-up'));
      answers.push((await call('POST', `/v1/rotations/${failed.id}/retry`)).text);
      ran.push(await waitFor(failed.id, ['compensated']));
    } finally {
      rmSync(join(keys2.stateDir, 'fail-up'), { force: true });
    }
    ran.push(await rotate({ kind: 'registry-token', registry: h.registry.host, username: 'ci', token: wrongToken }));
    ran.push(await rotate({ kind: 'registry-token', registry: h.registry.host, username: 'ci', token, githubSecret: 'REGISTRY_TOKEN' }));
    ran.push(await rotate({ kind: 'ssh-key', githubSecret: 'DEPLOY_KEY' }));

    // Recipes: a pair made on the host (which also prints it where it should not), sent to
    // GitHub and another system; once answered 500 (the undo retires it), once with a
    // finally that fails echoing the value it was given.
    const keyedDir = join(keys2.stateDir, 'srv', 'keyed');
    const oldPairSecret = `old-pair-secret-${randomBytes(6).toString('hex')}`;
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}PAIR_ID=pair-old-0001\nPAIR_SECRET=${oldPairSecret}\n`);
    writeFileSync(join(keyedDir, 'provision-pair'), [
      'id="pair-$(od -An -N8 -tx1 /dev/urandom | tr -d " \\n")"',
      'secret="pair-secret-$(od -An -N12 -tx1 /dev/urandom | tr -d " \\n")"',
      'echo "$id $secret" >> made.log',
      'echo "made $id with $secret" >&2',
      'echo "PAIR_ID=$id"; echo "PAIR_SECRET=$secret"',
      '',
    ].join('\n'));
    writeFileSync(join(keyedDir, 'retire-pair'), 'echo "retiring $1" >&2; [ -f ./retire-fails ] && exit 1; echo "$1" >> retired.log\n');
    rmSync(join(keyedDir, 'made.log'), { force: true });
    ran.push(await rotate({ kind: 'recipe', recipe: 'leak-pair' }));
    h.receiver.answers.push(...Array(20).fill(500));
    ran.push(await rotate({ kind: 'recipe', recipe: 'leak-pair' }));
    h.receiver.answers.length = 0;
    writeFileSync(join(keyedDir, 'retire-fails'), '');
    try {
      ran.push(await rotate({ kind: 'recipe', recipe: 'leak-pair' }));
    } finally {
      rmSync(join(keyedDir, 'retire-fails'));
    }
    assert.deepEqual(ran.map((r) => r.status), ['succeeded', 'compensated', 'compensated', 'succeeded', 'succeeded', 'succeeded', 'compensated', 'failed'], JSON.stringify(ran));
    const made = readFileSync(join(keyedDir, 'made.log'), 'utf8').trim().split('\n').map((line) => line.split(' '));
    assert.equal(made.length, 3, 'each recipe provisioned once');
    const newKey = readFileSync(storedKey, 'utf8');
    assert.notEqual(newKey, oldKey);
    answers.push((await call('GET', '/v1/services/keyed/environments/leak')).text);

    const histories = await Promise.all([...ran.map((r) => r.id), 'slipway-env/keyed/leak'].map((id) => rawHistoryText(h, id)));
    const keyBody = (key: string) => key.split('\n').slice(1, -2).join('');
    const secrets = {
      generated, oldSecret, supplied, rejected, token, wrongToken, oldRegistryToken,
      'new private key': keyBody(newKey), 'old private key': keyBody(oldKey), 'config private key': keyBody(h.fleet.clientKey.private),
      'GitHub token': GITHUB_TOKEN, 'registry password': REGISTRY_PASSWORD,
      'old pair secret': oldPairSecret, 'Gitea token': GITEA_TOKEN,
      ...Object.fromEntries(made.map(([, secret], i) => [`provisioned secret ${i + 1}`, secret!])),
    };
    assert.ok(logs.length > 10_000, `the processes logged at debug level (${logs.length} bytes)`);
    for (const [what, value] of Object.entries(secrets)) {
      assert.ok(value.length >= 16, `${what} is long enough to be found`);
      assert.ok(!logs.includes(value), `${what} in the logs`);
      histories.forEach((text, i) => assert.ok(!text.includes(value), `${what} in the history of ${ran[i]?.id ?? 'the environment'}`));
      assert.ok(!answers.some((text) => text.includes(value)), `${what} in an API answer`);
    }
  });
});
