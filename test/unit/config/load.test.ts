import assert from 'node:assert/strict';
import { stepLogStore } from '../../../src/step-logs/store.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import { configProblems } from '../../support/config.js';

const BASE = `
ssh:
  privateKey: \${env:SSH_KEY}
  knownHosts: /etc/slipway/known_hosts
services:
  shop:
    images: { backend: ghcr.io/acme/shop-backend }
    tag: "sha-{sha7}"
    runtime:
      kind: compose
      dir: /opt/shop
      imageVars: { BACKEND_IMAGE: backend }
    health:
      checks:
        - http: "http://{host}:8000/health"
    environments:
      production:
        targets:
          - { name: web-1, address: 203.0.113.10, user: deploy }
          - { name: web-2, address: 203.0.113.11, user: deploy, port: 2222 }
`;
const env = { SSH_KEY: 'PRIVATE-KEY-MATERIAL' };

const problemsOf = (text: string, environment: NodeJS.ProcessEnv = env) => configProblems(text, environment);

describe('config', () => {
  it('applies the documented defaults and parses durations', () => {
    const cfg = parseConfig(BASE, { env });
    const svc = cfg.services.shop!;
    const prod = svc.environments.production!;
    assert.deepEqual(prod.rollout, { canary: 1, batchSize: 1, bake: 0, autoRollback: true, approval: false, imageTimeout: 900_000 });
    assert.equal(svc.health.timeout, 60_000);
    assert.equal(svc.health.interval, 2_000);
    assert.deepEqual(svc.health.checks[0], { http: { url: 'http://{host}:8000/health', status: 200, bodyContains: undefined } });
    assert.equal(prod.targets[0]!.port, 22);
    assert.equal(cfg.ssh.connectTimeout, 10_000);
    assert.equal(cfg.ssh.retryFor, 120_000);
    assert.equal(cfg.ssh.privateKey, 'PRIVATE-KEY-MATERIAL');
    assert.deepEqual(cfg.stepLogs, { keep: 14 * 86_400_000 });
    assert.equal(stepLogStore(cfg, {}).dir, resolve('.slipway', 'step-logs'), 'step logs under SLIPWAY_HOME');
    assert.equal(stepLogStore(cfg, { SLIPWAY_HOME: '/srv/slipway' }).dir, '/srv/slipway/step-logs');
    assert.deepEqual(problemsOf(`${BASE}\nstepLogs: { keep: forever }\n`), ['stepLogs.keep: expected a duration like 500ms, 30s, 5m, 2h (got "forever")']);
  });

  it('reads ${file:PATH} relative to the config and names missing env variables by path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-config-'));
    writeFileSync(join(dir, 'key'), 'FROM-FILE\n');
    const cfg = parseConfig(BASE.replace('${env:SSH_KEY}', '${file:key}'), { env: {}, baseDir: dir });
    assert.equal(cfg.ssh.privateKey, 'FROM-FILE');
    assert.deepEqual(problemsOf(BASE, {}), ['ssh.privateKey: environment variable SSH_KEY is not set']);
  });

  it('refuses an image variable among what rotations may write, in rotatable or a recipe', () => {
    const text = BASE.replace('    health:\n', `    rotatable: { variables: [API_KEY, BACKEND_IMAGE], githubSecrets: [SHOP_API_KEY] }
    rotations:
      swap:
        values: [ { generate: { name: BACKEND_IMAGE, bytes: 16 } } ]
        write: [ { service: shop, environment: production, variables: [BACKEND_IMAGE] } ]
    health:\n`);
    assert.deepEqual(problemsOf(text).sort(), [
      'services.shop.rotatable.variables[1]: BACKEND_IMAGE is an image variable: a deploy writes it, never a rotation',
      'services.shop.rotations.swap.write[0].variables[0]: BACKEND_IMAGE is an image variable of shop: a deploy writes it, never a rotation',
    ]);
    assert.deepEqual(parseConfig(BASE.replace('    health:\n', '    rotatable: { variables: [API_KEY] }\n    health:\n'), { env }).services.shop!.rotatable, { variables: ['API_KEY'], githubSecrets: [] });
  });

  it('refuses targets whose ids would be the same, so that no target is left out of a run', () => {
    const systemd = `
ssh: { privateKey: x, knownHosts: /k }
services:
  bot:
    runtime: { kind: systemd, dir: /opt/bot, unit: "bot@{instance}.service" }
    environments:
      production:
        targets:
          - { name: web, address: 10.0.0.1, instances: ["1-2"] }
          - { name: web-1, address: 10.0.0.2, instances: [2, 3, 3] }
`;
    assert.deepEqual(problemsOf(systemd), [
      'services.bot.environments.production.targets[1].instances: web-1 instance 2 has the target id "web-1-2", as web instance 1-2 has: rename one',
      'services.bot.environments.production.targets[1].instances: web-1 instance 3 is listed twice',
    ]);
  });

  it('refuses a step log directory that holds the credential store or lies inside it', () => {
    const message = 'stepLogs.dir: the step logs\' retention sweep would reach the credential store (credentialStore): give them directories apart';
    assert.deepEqual(problemsOf(`${BASE}\ncredentialStore: /var/lib/slipway/credentials\nstepLogs: { dir: /var/lib/slipway }\n`), [message]);
    assert.deepEqual(problemsOf(`${BASE}\ncredentialStore: /var/lib/slipway\nstepLogs: { dir: /var/lib/slipway/step-logs }\n`), [message]);
    assert.doesNotThrow(() => parseConfig(`${BASE}\ncredentialStore: /var/lib/slipway/credentials\nstepLogs: { dir: /var/lib/slipway/step-logs }\n`, { env }));
  });

  it('names the path of every bad field', () => {
    const text = BASE
      .replace('address: 203.0.113.11', 'address: "not a host!"')
      .replace('knownHosts: /etc/slipway/known_hosts', 'knownHosts: /etc/slipway/known_hosts\n  conectTimeout: 5s')
      .replace('timeout: 60s', '')
      .replace('checks:', 'interval: soon\n      checks:');
    assert.deepEqual(problemsOf(text).sort(), [
      'services.shop.environments.production.targets[1].address: expected a host name or IP',
      'services.shop.health.interval: expected a duration like 500ms, 30s, 5m, 2h (got "soon")',
      'ssh: Unrecognized key: "conectTimeout"',
    ]);
  });

  it('rejects image variables that name no image, unknown template variables and duplicate targets', () => {
    const text = BASE
      .replace('imageVars: { BACKEND_IMAGE: backend }', 'imageVars: { BACKEND_IMAGE: backnd }')
      .replace('tag: "sha-{sha7}"', 'tag: "sha-{commit}"')
      .replace('name: web-2', 'name: web-1');
    assert.deepEqual(problemsOf(text).sort(), [
      'services.shop.environments.production.targets[1].name: duplicate target name "web-1"',
      'services.shop.runtime.imageVars.BACKEND_IMAGE: names image "backnd", which is not in images',
      'services.shop.tag: unknown template variable {commit}',
    ]);
  });

  it('never puts a secret value into an error', () => {
    const secret = 'hunter2-very-secret';
    const text = BASE.replace('knownHosts: /etc/slipway/known_hosts', 'knownHosts: 42');
    const problems = problemsOf(text.replace('${env:SSH_KEY}', '${env:S}') + '\ngithub: { token: ${env:S}, app: { id: 1, privateKey: ${env:S}, installationId: 2 } }\n', { S: secret });
    assert.ok(problems.length >= 2);
    assert.ok(!problems.join('\n').includes(secret), problems.join('\n'));
  });

  it('reports YAML syntax errors', () => {
    assert.match(problemsOf('services: [unclosed')[0]!, /flow sequence|Missing|end/i);
  });
});

describe('the config example of the product contract', () => {
  it('parses as written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-spec-'));
    const text = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'spec-example.yaml'), 'utf8')
      .replace('${file:/etc/slipway/deploy_ed25519}', `\${file:${join(dir, 'key')}}`);
    writeFileSync(join(dir, 'key'), 'KEY');
    const cfg = parseConfig(text, { env: { GITHUB_TOKEN: 'ghp_x1', GHCR_USERNAME: 'acme-bot', GHCR_TOKEN: 'ghcr-token' } });
    assert.deepEqual(Object.keys(cfg.services), ['shop', 'bot']);
    const shop = cfg.services.shop!;
    assert.equal(shop.environments.production!.rollout.bake, 300_000);
    assert.equal(shop.environments.production!.rollout.batchSize, '50%');
    assert.equal(shop.analysis.length, 2);
    assert.equal(shop.health.checks.length, 3);
    assert.deepEqual(cfg.services.bot!.environments.production!.targets[0]!.instances, [1, 2]);
    assert.equal(cfg.registries['127.0.0.1:5000']!.insecure, true);
  });
});
