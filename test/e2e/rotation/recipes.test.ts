import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostCalls } from '../../../src/sandbox/fleet.js';
import { sharedFixture } from '../../support/fixtures.js';
import { startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { GITEA_TOKEN } from '../../support/receiver.js';
import { callStack, rawHistoryText, startSealedStack, waitForRotation, type SealedStack } from '../../support/sealed.js';

/**
 * Rotation recipes (docs/rotations.md, "Rotation recipes") on the test fleet. The keeper (web-1) makes
 * bot keys with a provisioning script and keeps them in a small file database; the bots
 * (two systemd instances on bot-1) are healthy only with a key the keeper holds as active.
 */
describe('rotation recipes', function () {
  this.timeout(120_000);
  let h: Harness;
  let stack: SealedStack;
  before(async () => {
    h = await sharedFixture('harness', startHarness, (x) => x.stop());
    stack = await startSealedStack(h, 'recipes');
  });
  after(() => stack.stop());

  const db = () => join(h.fleet.dir, 'keeper.db');
  const keeperDir = () => join(h.host('web-1').stateDir, 'srv', 'keeper');
  const botsEnvPath = () => join(h.host('bot-1').stateDir, 'srv', 'bots', '.env');
  const botsEnv = () => readFileSync(botsEnvPath(), 'utf8');
  const hookedEnv = (host: string) => readFileSync(join(h.host(host).stateDir, 'srv', 'hooked', '.env'), 'utf8');
  const botRestarts = () => hostCalls(h.host('bot-1')).filter((c) => c.tool === 'systemctl' && String(c.args.at(-1)).startsWith('bots@')).map((c) => c.args.at(-1));
  const keyRows = () => Object.fromEntries(readFileSync(db(), 'utf8').trim().split('\n').map((line) => line.split(' ')).map(([id, state]) => [id, state]));
  const call = (method: string, path: string, body?: unknown, token = TOKENS.rotator) => callStack(stack, token, method, path, body);
  const rotate = async (service: string, recipe: string) => {
    const started = await call('POST', '/v1/rotations', { kind: 'recipe', service, environment: 'production', recipe });
    assert.equal(started.status, 202, started.text);
    return started;
  };
  const waitFor = (id: string, statuses: string[]) => waitForRotation(stack, TOKENS.rotator, id, statuses);
  const stepsOf = (run: { steps: { name: string; target?: string; status: string }[] }) => run.steps.map((s) => [s.name, s.target ?? null, s.status]);

  let oldSecret = '';
  // Unique per test: values of earlier rotations are redacted wherever they appear, even inside another.
  let oldId = '';
  beforeEach(() => {
    oldSecret = randomBytes(16).toString('hex');
    oldId = `bk-old-${randomBytes(4).toString('hex')}`;
    writeFileSync(db(), `${oldId} active ${oldSecret}\n`);
    writeFileSync(join(keeperDir(), 'provision-bot-key'), [
      'db="$1"',
      'echo run >> provisioned.log',
      'id="bk-$(od -An -N6 -tx1 /dev/urandom | tr -d " \\n")"',
      'secret="$(od -An -N16 -tx1 /dev/urandom | tr -d " \\n")"',
      'echo "$id active $secret" >> "$db"',
      'echo "made a key row for the bots"',
      'echo "BOT_KEY_ID=$id"',
      '[ -f ./one-name ] || echo "BOT_HMAC_SECRET=$secret"',
      '',
    ].join('\n'));
    writeFileSync(join(keeperDir(), 'revoke-bot-key'), [
      'grep -q "^$2 active " "$1" || { echo "no active key $2" >&2; exit 1; }',
      'sed -i "s/^$2 active /$2 revoked /" "$1"',
      '',
    ].join('\n'));
    writeFileSync(join(h.host('bot-1').stateDir, 'srv', 'bots', 'check-bot-key'), [
      'id=$(sed -n "s/^BOT_KEY_ID=//p" .env)',
      'secret=$(sed -n "s/^BOT_HMAC_SECRET=//p" .env)',
      'grep -qx "$id active $secret" "$1"',
      '',
    ].join('\n'));
    writeFileSync(botsEnvPath(), `# kept by hand\nBOT_NAME=acme-bot\nBOT_KEY_ID=${oldId}\nBOT_HMAC_SECRET=${oldSecret}\n`);
    for (const service of ['hooked']) for (const host of ['web-2', 'web-3']) writeFileSync(join(h.host(host).stateDir, 'srv', service, '.env'), 'WEBHOOK_SECRET=before\n');
    for (const file of ['one-name', 'provisioned.log']) rmSync(join(keeperDir(), file), { force: true });
    for (const host of ['web-1', 'web-2', 'web-3', 'bot-1']) for (const file of ['calls.jsonl', 'delay-up']) rmSync(join(h.host(host).stateDir, file), { force: true });
    h.receiver.calls.length = 0;
    h.receiver.answers.length = 0;
  });

  it('bot key: provisions a pair on the keeper, puts it in the bots canary first, calls the other system, then revokes the old key', async () => {
    const started = await rotate('bots', 'bot-key');
    const done = await waitFor(started.body.id, ['succeeded', 'compensated', 'failed']);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));

    const [, newId] = /^BOT_KEY_ID=(bk-[0-9a-f]{12})$/m.exec(botsEnv()) ?? [];
    const [, newSecret] = /^BOT_HMAC_SECRET=([0-9a-f]{32})$/m.exec(botsEnv()) ?? [];
    assert.ok(newId && newSecret, `a new pair in the bots' env file:\n${botsEnv()}`);
    assert.match(botsEnv(), /^# kept by hand\nBOT_NAME=acme-bot\n/, 'every other line kept');
    assert.ok(!botsEnv().includes('made a key row'), 'the command\'s other output is discarded');
    assert.deepEqual(keyRows(), { [oldId]: 'revoked', [newId!]: 'active' }, 'the old key is revoked, only after the bots took the new one');
    assert.equal(readFileSync(join(keeperDir(), 'provisioned.log'), 'utf8'), 'run\n', 'provisioned once');
    assert.deepEqual(botRestarts(), ['bots@7.service', 'bots@8.service'], 'the canary instance restarted first, then the other');
    assert.equal(h.github.secrets.get('acme/bot/BOT_HMAC_SECRET'), newSecret);

    assert.equal(h.receiver.calls.length, 1);
    const [hook] = h.receiver.calls;
    assert.equal(`${hook!.method} ${hook!.url}`, 'PATCH /api/v1/repos/acme/bot/hooks/3');
    assert.equal(hook!.headers.authorization, `token ${GITEA_TOKEN}`, 'the token from the worker\'s environment');
    assert.match(JSON.parse(hook!.body).config.secret, /^[0-9a-f]{64}$/, 'the generated webhook secret');

    assert.deepEqual(stepsOf(done), [
      ['read the old BOT_KEY_ID from .env', 'bot-1', 'succeeded'],
      ['generate WEBHOOK_SECRET', null, 'succeeded'],
      ['provision BOT_KEY_ID, BOT_HMAC_SECRET with "sh ./provision-bot-key ' + db() + '"', 'keeper/production web-1', 'succeeded'],
      ['write BOT_KEY_ID, BOT_HMAC_SECRET to .env', 'bot-1', 'succeeded'],
      ['restart and check health', 'bot-1#7', 'succeeded'],
      ['restart and check health', 'bot-1#8', 'succeeded'],
      ['update GitHub secret BOT_HMAC_SECRET', null, 'succeeded'],
      [`PATCH ${h.receiver.url}/api/v1/repos/acme/bot/hooks/3`, null, 'succeeded'],
      [`finally: sh ./revoke-bot-key ${db()} {old:BOT_KEY_ID}`, 'keeper/production web-1', 'succeeded'],
    ]);
    assert.equal(done.recipe, 'bot-key');
    assert.deepEqual(done.variables, ['BOT_KEY_ID', 'BOT_HMAC_SECRET', 'WEBHOOK_SECRET']);

    // What stays behind: no backup, no kept provisioning output; nothing secret in history or answers.
    assert.ok(!readdirSync(join(h.host('bot-1').stateDir, 'srv', 'bots')).some((f) => f.includes('slipway-rotation')), 'the backup is gone');
    const stepsDir = join(h.host('web-1').stateDir, 'home', '.slipway', 'steps');
    assert.ok(existsSync(stepsDir) && !readdirSync(stepsDir).some((f) => f.endsWith('.out')), 'the provisioning output is gone');
    const secrets = { 'new HMAC secret': newSecret!, 'old HMAC secret': oldSecret, 'webhook secret': JSON.parse(hook!.body).config.secret as string, 'Gitea token': GITEA_TOKEN };
    for (const workflowId of [done.id, 'slipway-env/bots/production']) {
      const raw = await rawHistoryText(h, workflowId);
      for (const [what, secret] of Object.entries(secrets)) assert.ok(!raw.includes(secret), `${workflowId}: no ${what} in history`);
    }
    const answers = [started.text, (await call('GET', `/v1/rotations/${done.id}`)).text, (await call('GET', '/v1/services/bots/environments/production')).text];
    for (const text of answers) for (const [what, secret] of Object.entries(secrets)) assert.ok(!text.includes(secret), `no ${what} in an API answer`);
  });

  it('bot key: an HTTP step answered 500 revokes the new key, puts the bots back on the old pair, and leaves the old key alone', async () => {
    h.receiver.answers.push(...Array(20).fill(500));
    const started = await rotate('bots', 'bot-key');
    const done = await waitFor(started.body.id, ['succeeded', 'compensated', 'failed']);
    assert.equal(done.status, 'compensated', JSON.stringify(done));
    assert.equal(done.error.type, 'HttpStepFailed');
    assert.match(done.error.message, /answered 500 \(gave up after \d+ s\)/);
    assert.ok(h.receiver.calls.length >= 2, 'a 5xx is retried');

    const rows = keyRows();
    const newId = Object.keys(rows).find((id) => id !== oldId)!;
    assert.deepEqual(rows, { [oldId]: 'active', [newId]: 'revoked' }, 'the new key retired, the old one still in use');
    assert.equal(botsEnv(), `# kept by hand\nBOT_NAME=acme-bot\nBOT_KEY_ID=${oldId}\nBOT_HMAC_SECRET=${oldSecret}\n`, 'the old pair is back');
    assert.deepEqual(botRestarts(), ['bots@7.service', 'bots@8.service', 'bots@8.service', 'bots@7.service'], 'restarted on the new pair, then back on the old one');
    assert.equal(h.github.secrets.get('acme/bot/BOT_HMAC_SECRET'), oldSecret, 'GitHub has the old secret again');
    const byName = Object.fromEntries(done.steps.map((s: { name: string; status: string }) => [s.name, s.status]));
    assert.equal(byName[`finally: sh ./revoke-bot-key ${db()} {old:BOT_KEY_ID}`], 'pending', 'finally never ran');
    assert.equal(byName[`undo: sh ./revoke-bot-key ${db()} {new:BOT_KEY_ID}`], 'compensated');
  });

  it('bot key: a provisioning command that prints one name only fails before anything is written', async () => {
    writeFileSync(join(keeperDir(), 'one-name'), '');
    const before = botsEnv();
    const started = await rotate('bots', 'bot-key');
    const done = await waitFor(started.body.id, ['succeeded', 'compensated', 'failed']);
    assert.equal(done.status, 'compensated', JSON.stringify(done));
    assert.equal(done.error.type, 'HostOutputInvalid');
    assert.match(done.error.message, /did not print BOT_HMAC_SECRET/);
    assert.equal(botsEnv(), before, 'nothing written');
    assert.deepEqual(botRestarts(), [], 'nothing restarted');
    assert.equal(h.receiver.calls.length, 0);
    assert.equal(readFileSync(join(keeperDir(), 'provisioned.log'), 'utf8'), 'run\n', 'the command ran once, not again on retries');
    assert.ok(!done.steps.some((s: { name: string }) => s.name.startsWith('undo:')), 'no undo: the new values were never all made');
  });

  it('bot key: a failing finally undoes nothing: the rotation ends failed, saying what is left to do', async () => {
    writeFileSync(db(), `${oldId} revoked ${oldSecret}\n`);
    const started = await rotate('bots', 'bot-key');
    const done = await waitFor(started.body.id, ['succeeded', 'compensated', 'failed']);
    assert.equal(done.status, 'failed', JSON.stringify(done));
    assert.ok(done.finishedAt, 'it has ended: nothing waits for an operator');
    assert.equal(done.error.type, 'CommandFailed');
    assert.equal(done.error.step, `finally: sh ./revoke-bot-key ${db()} {old:BOT_KEY_ID}`);
    assert.match(done.error.message, /exited with 1:\nno active key \[REDACTED\]$/, `the old key id it echoed is a value of the rotation: redacted (${done.error.message})`);
    const backup = `.env.slipway-rotation-${done.id}`;
    assert.deepEqual(done.leftToFix, [
      `the new values are in use, but "sh ./revoke-bot-key ${db()} {old:BOT_KEY_ID}" did not complete on web-1 (keeper/production): run it by hand. The old values are kept in ${backup} on bot-1 for this; remove it afterwards.`,
    ]);
    assert.ok(readFileSync(join(h.host('bot-1').stateDir, 'srv', 'bots', backup), 'utf8').includes(`BOT_KEY_ID=${oldId}\n`), 'the backup the operator is sent to');
    const newId = /^BOT_KEY_ID=(\S+)$/m.exec(botsEnv())![1]!;
    assert.equal(keyRows()[newId], 'active', 'the bots keep the new key');
    assert.ok(!done.steps.some((s: { name: string }) => s.name.startsWith('undo:')), 'nothing undone');
    assert.equal((await call('POST', `/v1/rotations/${done.id}/retry`)).status, 409);
    rmSync(join(h.host('bot-1').stateDir, 'srv', 'bots', backup));
  });

  it('webhook secret: the new value in the service\'s .env on every host, then in the other system\'s webhook config', async () => {
    const started = await rotate('hooked', 'webhook-secret');
    const done = await waitFor(started.body.id, ['succeeded', 'compensated', 'failed']);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    const [, secret] = /^WEBHOOK_SECRET=([0-9a-f]{64})$/m.exec(hookedEnv('web-2')) ?? [];
    assert.ok(secret, hookedEnv('web-2'));
    assert.equal(hookedEnv('web-3'), hookedEnv('web-2'));
    assert.equal(h.receiver.calls.length, 1);
    const [hook] = h.receiver.calls;
    assert.equal(`${hook!.method} ${hook!.url}`, 'PATCH /api/v1/repos/acme/shop/hooks/7');
    assert.equal(hook!.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(hook!.body), { active: true, config: { content_type: 'json', secret } }, 'both sides agree');
    const upAt = (host: string) => hostCalls(h.host(host)).find((c) => c.step === 'up')!.at;
    assert.ok(upAt('web-2') < upAt('web-3'), 'the canary first');
    assert.ok(Math.max(upAt('web-2'), upAt('web-3')) < hook!.at, 'the call comes after every restart');
  });

  it('paired values: waits for the lock of every environment it writes to, then writes both services and GitHub', async () => {
    // hooked/production is busy with a slow env-secret rotation; the recipe queues in bots/production
    // (first in lock order), then waits for hooked's lock.
    writeFileSync(join(h.host('web-2').stateDir, 'delay-up'), '2');
    const busy = await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'hooked', environment: 'production', variables: { OTHER: { generate: { bytes: 16, encoding: 'hex' } } } });
    assert.equal(busy.status, 202, busy.text);
    await waitFor(busy.body.id, ['running']);
    const started = await rotate('hooked', 'paired');
    for (let i = 0; ; i++) {
      const env = (await call('GET', '/v1/services/hooked/environments/production')).body;
      if (env.queue.includes(started.body.id)) break;
      if (i > 100) assert.fail(`the recipe never queued for hooked's lock: ${JSON.stringify(env)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await call('GET', '/v1/services/bots/environments/production')).body.active, started.body.id, 'it holds its first lock');
    assert.equal((await call('GET', `/v1/rotations/${started.body.id}`)).body.status, 'queued', 'and waits for the second');

    const first = await waitFor(busy.body.id, ['succeeded', 'compensated', 'failed']);
    const done = await waitFor(started.body.id, ['succeeded', 'compensated', 'failed']);
    assert.equal(first.status, 'succeeded', JSON.stringify(first));
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    const upAt = (host: string) => hostCalls(h.host(host)).filter((c) => c.step === 'up').map((c) => c.at);
    assert.ok(Date.parse(first.finishedAt) <= Math.min(...upAt('web-3').slice(1)), 'nothing of the recipe ran on hooked before the other rotation ended');

    const [, token] = /^SHARED_TOKEN=([A-Za-z0-9_-]{32})$/m.exec(botsEnv()) ?? [];
    assert.ok(token, botsEnv());
    for (const host of ['web-2', 'web-3']) assert.ok(hookedEnv(host).includes(`SHARED_TOKEN=${token}\n`), `${host}: ${hookedEnv(host)}`);
    assert.equal(h.github.secrets.get('acme/shop/SHARED_TOKEN'), token);
    assert.deepEqual(done.steps.filter((s: { name: string }) => s.name.startsWith('write')).map((s: { target: string }) => s.target), ['web-2', 'web-3', 'bots/production bot-1']);

    // Each environment it locked notes it in its history.
    for (const env of ['hooked', 'bots']) {
      for (let i = 0; ; i++) {
        const { body } = await call('GET', `/v1/services/${env}/environments/production`);
        if (body.history.some((e: { runId: string; status: string }) => e.runId === done.id && e.status === 'succeeded') && body.active === null) break;
        if (i > 100) assert.fail(`${env}/production never noted the recipe: ${JSON.stringify(body)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });

  it('runs on a schedule like the other kinds', async () => {
    const created = await call('POST', '/v1/rotations', { kind: 'recipe', service: 'hooked', environment: 'production', recipe: 'webhook-secret', schedule: { every: '30d' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.kind, 'recipe');
    try {
      await stack.client.schedule.getHandle(created.body.id).trigger();
      for (let i = 0; !/^WEBHOOK_SECRET=[0-9a-f]{64}$/m.test(hookedEnv('web-3')) || h.receiver.calls.length === 0; i++) {
        if (i > 300) assert.fail(`the scheduled recipe never ran: ${hookedEnv('web-3')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const secret = /^WEBHOOK_SECRET=([0-9a-f]{64})$/m.exec(hookedEnv('web-3'))![1];
      assert.equal(JSON.parse(h.receiver.calls[0]!.body).config.secret, secret);
    } finally {
      assert.equal((await call('DELETE', `/v1/schedules/${created.body.id}`)).status, 204);
    }
  });

  it('refuses a recipe the service does not have, and a token that may not rotate every environment it writes to', async () => {
    const unknown = await call('POST', '/v1/rotations', { kind: 'recipe', service: 'bots', environment: 'production', recipe: 'nope' });
    assert.equal(unknown.status, 400, unknown.text);
    assert.deepEqual(unknown.body.errors, [{ field: 'recipe', message: 'expected one of bot-key' }]);
    const missing = await call('POST', '/v1/rotations', { kind: 'recipe', service: 'bots', environment: 'production' });
    assert.deepEqual(missing.body.errors.map((e: { field: string }) => e.field), ['recipe']);
    // This token may rotate hooked, and paired writes to bots too.
    const forbidden = await call('POST', '/v1/rotations', { kind: 'recipe', service: 'hooked', environment: 'production', recipe: 'paired' }, TOKENS.hooks);
    assert.equal(forbidden.status, 403, forbidden.text);
    assert.match(forbidden.body.detail, /rotate:bots\/production/);
  });
});
