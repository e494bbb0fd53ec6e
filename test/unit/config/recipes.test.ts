import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseConfig } from '../../../src/config/load.js';
import { configProblems } from '../../support/config.js';
import { quote } from '../../../src/commands/shell.js';
import { fillBody, fillPlaceholders, lockOrder, parseProvisioned, ProvisionedOutputError } from '../../../src/domain/recipe.js';

/** The bot-key recipe, in a config where shop provisions and bot reads the pair. */
const recipe = (changes = '') => `
github:
  token: \${env:GH}
ssh:
  privateKey: \${env:SSH_KEY}
  knownHosts: /etc/slipway/known_hosts
services:
  shop:
    runtime: { kind: compose, dir: /opt/shop }
    environments:
      production: { targets: [ { name: web-1, address: 203.0.113.10 } ] }
  bot:
    repo: acme/bot
    runtime: { kind: systemd, dir: /opt/bot, unit: "bot@{instance}.service" }
    environments:
      production: { targets: [ { name: bot-1, address: 203.0.113.20, instances: [1, 2] } ] }
    rotations:
      bot-key:
        values:
          - command: "provision-bot-key"
            on: { service: shop, environment: production }
            names: [BOT_KEY_ID, BOT_HMAC_SECRET]
          - generate: { name: WEBHOOK_SECRET, bytes: 32, encoding: hex }
        write:
          - { service: bot, environment: production, variables: [BOT_KEY_ID, BOT_HMAC_SECRET] }
        githubSecrets: { BOT_HMAC_SECRET: BOT_HMAC_SECRET }
        http:
          - method: PATCH
            url: "https://git.example.com/api/v1/repos/acme/app/hooks/3"
            headers: { Authorization: "token \${env:GITEA_TOKEN}" }
            body: { config: { secret: "{new:WEBHOOK_SECRET}" } }
            expect: [200, 204]
        finally:
          - { command: "revoke-bot-key {old:BOT_KEY_ID}", on: { service: shop, environment: production } }
        undo:
          - { command: "revoke-bot-key {new:BOT_KEY_ID}", on: { service: shop, environment: production } }
${changes}`;
const env = { SSH_KEY: 'key', GH: 'gh-token', GITEA_TOKEN: 'gitea-secret-token' };

const problemsOf = (text: string, environment: NodeJS.ProcessEnv = env) => configProblems(text, environment);

describe('rotation recipes: config', () => {
  it('reads the bot-key recipe as written, leaving the HTTP step\'s ${env:…} for the worker', () => {
    const config = parseConfig(recipe(), { env });
    const botKey = config.services.bot!.rotations['bot-key']!;
    assert.deepEqual(botKey.values[1], { generate: { name: 'WEBHOOK_SECRET', bytes: 32, encoding: 'hex' } });
    assert.equal(botKey.http[0]!.headers.Authorization, 'token ${env:GITEA_TOKEN}', 'the token is not in the config the plan is built from');
    assert.equal(botKey.http[0]!.retryFor, 60_000);
    assert.ok(!JSON.stringify(config.services).includes('gitea-secret-token'));
    assert.deepEqual(config.services.shop!.rotations, {});
  });

  it('names the path of everything a recipe names that the config lacks', () => {
    const bad = recipe()
      .replace('on: { service: shop, environment: production }\n            names', 'on: { service: shop, environment: staging }\n            names')
      .replace('variables: [BOT_KEY_ID, BOT_HMAC_SECRET] }', 'variables: [BOT_KEY_ID, BOT_SECRET] }')
      .replace('secret: "{new:WEBHOOK_SECRET}"', 'secret: "{new:WEBHOK_SECRET}"')
      .replace('revoke-bot-key {old:BOT_KEY_ID}", on: { service: shop', 'revoke-bot-key {old:WEBHOOK_SECRET}", on: { service: shoop');
    assert.deepEqual(problemsOf(bad), [
      'services.bot.rotations.bot-key.values[0].on.environment: service "shop" has no environment "staging"',
      'services.bot.rotations.bot-key.write[0].variables[1]: BOT_SECRET is not made by any of values',
      'services.bot.rotations.bot-key.http[0].body: {new:WEBHOK_SECRET}: WEBHOK_SECRET is not made by any of values',
      'services.bot.rotations.bot-key.finally[0].on.service: unknown service "shoop"',
      'services.bot.rotations.bot-key.finally[0].command: {old:WEBHOOK_SECRET}: the old value is read from an env file, and no write holds WEBHOOK_SECRET',
    ]);
  });

  it('refuses a finally with no undo, a provisioning command with placeholders, and a value made twice', () => {
    const bad = recipe()
      .replace(/ {8}undo:\n.*\n/, '')
      .replace('command: "provision-bot-key"', 'command: "provision-bot-key --after {old:BOT_KEY_ID}"')
      .replace('generate: { name: WEBHOOK_SECRET', 'generate: { name: BOT_KEY_ID');
    const problems = problemsOf(bad);
    assert.ok(problems.includes('services.bot.rotations.bot-key.values: BOT_KEY_ID is made twice'), problems.join('\n'));
    assert.ok(problems.includes('services.bot.rotations.bot-key.values[0].command: a provisioning command cannot use {new:…} or {old:…}: the values do not exist yet'));
    assert.ok(problems.includes('services.bot.rotations.bot-key.finally: finally retires the old credential once all went well; add an undo that retires the new one when a step fails'));
  });

  it('refuses a value placed inside quotes in a command, where its own quotes would end the string', () => {
    const bad = recipe()
      .replace('"revoke-bot-key {old:BOT_KEY_ID}"', '"revoke-bot-key \\"{old:BOT_KEY_ID}\\""')
      .replace('"revoke-bot-key {new:BOT_KEY_ID}"', '"revoke-bot-key --id={new:BOT_KEY_ID} && echo \'{new:BOT_KEY_ID}\'"');
    assert.deepEqual(problemsOf(bad), [
      'services.bot.rotations.bot-key.finally[0].command: {old:BOT_KEY_ID} stands inside quotes: Slipway quotes each value itself, so write it bare (revoke {old:BOT_KEY_ID})',
      'services.bot.rotations.bot-key.undo[0].command: {new:BOT_KEY_ID} stands inside quotes: Slipway quotes each value itself, so write it bare (revoke {new:BOT_KEY_ID})',
    ]);
    // Bare, a value stays one word whatever it holds, next to other text too (--id={new:X}).
    const old = 'k1$(id -un)"\'`';
    const filled = fillPlaceholders('revoke-bot-key --id={old:ID} {old:ID}', { new: {}, old: { ID: old } }, quote);
    assert.deepEqual(execFileSync('sh', ['-c', `set -- ${filled.replace('revoke-bot-key ', '')}; printf '%s\\0' "$@"`]).toString().split('\0').slice(0, -1), [`--id=${old}`, old]);
  });

  it('says which environment variable an HTTP step lacks, and refuses ${file:…} there', () => {
    assert.deepEqual(problemsOf(recipe(), { SSH_KEY: 'key', GH: 'x' }), ['services.bot.rotations.bot-key.http[0].headers.Authorization: environment variable GITEA_TOKEN is not set']);
    assert.deepEqual(problemsOf(recipe().replace('token ${env:GITEA_TOKEN}', '${file:/etc/token}')), ['services.bot.rotations.bot-key.http[0].headers.Authorization: an HTTP step takes ${env:NAME} only, not ${file:/etc/token}']);
  });
});

describe('rotation recipes: values and placeholders', () => {
  it('keeps exactly the names a provisioning command prints, once each, and nothing else', () => {
    assert.deepEqual(parseProvisioned('created key row 42\nBOT_KEY_ID=42\nnoise=1\nBOT_HMAC_SECRET=s3cr=t\n', ['BOT_KEY_ID', 'BOT_HMAC_SECRET']), { BOT_KEY_ID: '42', BOT_HMAC_SECRET: 's3cr=t' });
    assert.throws(() => parseProvisioned('BOT_KEY_ID=42\n', ['BOT_KEY_ID', 'BOT_HMAC_SECRET']), (e: Error) => e instanceof ProvisionedOutputError && /did not print BOT_HMAC_SECRET/.test(e.message));
    assert.throws(() => parseProvisioned('BOT_KEY_ID=42\nBOT_KEY_ID=43\n', ['BOT_KEY_ID']), /printed BOT_KEY_ID more than once/);
    assert.throws(() => parseProvisioned('BOT_KEY_ID=\n', ['BOT_KEY_ID']), /empty value for BOT_KEY_ID/);
    try {
      parseProvisioned('BOT_KEY_ID=the-secret-value\nBOT_KEY_ID=another-secret\n', ['BOT_KEY_ID']);
    } catch (error) {
      assert.ok(!String(error).includes('secret-value') && !String(error).includes('another-secret'), 'no value in the message');
    }
  });

  it('fills {new:…} and {old:…}: quoted for the shell in commands, as they are in an HTTP body', () => {
    const values = { new: { BOT_KEY_ID: "43'; rm -rf /", WEBHOOK_SECRET: 'w"s' }, old: { BOT_KEY_ID: '42' } };
    assert.equal(fillPlaceholders('revoke-bot-key {new:BOT_KEY_ID} --not {old:BOT_KEY_ID}', values, quote), `revoke-bot-key '43'\\''; rm -rf /' --not 42`);
    assert.deepEqual(fillBody({ config: { secret: '{new:WEBHOOK_SECRET}', list: ['{old:BOT_KEY_ID}', 3] } }, values), { config: { secret: 'w"s', list: ['42', 3] } });
    assert.throws(() => fillPlaceholders('{old:WEBHOOK_SECRET}', values), /\{old:WEBHOOK_SECRET\} has no value/);
  });

  it('takes the locks of the environments it writes in one order, whatever order the recipe lists them in', () => {
    const a = lockOrder([{ service: 'bot', environment: 'production' }, { service: 'api', environment: 'production' }, { service: 'bot', environment: 'production' }]);
    const b = lockOrder([{ service: 'api', environment: 'production' }, { service: 'bot', environment: 'production' }]);
    assert.deepEqual(a, b);
    assert.deepEqual(a.map((p) => p.service), ['api', 'bot']);
  });
});
