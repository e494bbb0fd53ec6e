import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEd25519KeyPair } from '../../src/ssh/keygen.js';
import { parseConfig } from '../../src/config/load.js';
import type { SlipwayConfig } from '../../src/config/schema.js';
import { freePort, hostCalls, withNewline, type FleetHost } from '../../src/sandbox/fleet.js';
import { apiClient, TOKENS, type ApiClient } from './api-client.js';
import { startSlipwayInProcess } from './in-process.js';
import { sharedFixture } from './fixtures.js';
import { GITHUB_TOKEN, startTestGithub, type TestGithub } from './github.js';
import { startHaproxy, type TestHaproxy } from './haproxy.js';
import { startTcpLink, type TcpLink } from './tcp-link.js';
import { ensureOpenSsh, startOpenSshFleet, type OpenSshFleet } from './openssh.js';
import { GITEA_TOKEN, startReceiver, type Receiver } from './receiver.js';
import { REGISTRY_PASSWORD, REGISTRY_USER, startTestRegistry, type TestRegistry } from './registry.js';
import { testTemporal, type TestTemporal } from './temporal.js';

/**
 * Everything a deploy touches, real where it can be: Temporal dev server, OpenSSH hosts with
 * fake docker/systemctl, docker-registry behind a token server, GitHub through Prism. One
 * Slipway worker and API run in this process against a config written as a user would.
 */
export { TOKENS };
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The environment the harness's config reads its `${env:…}` from (workers started as processes need it too). */
export const HARNESS_ENV = { TEST_GITHUB_TOKEN: GITHUB_TOKEN, TEST_REGISTRY_PASSWORD: REGISTRY_PASSWORD, TEST_GITEA_TOKEN: GITEA_TOKEN };
// A recipe's HTTP step reads its token from the worker's environment when it calls.
Object.assign(process.env, HARNESS_ENV);

export interface Harness extends ApiClient {
  temporal: TestTemporal;
  fleet: OpenSshFleet;
  registry: TestRegistry;
  github: TestGithub;
  /** What recipes' HTTP steps call (a stand-in for Gitea). */
  receiver: Receiver;
  config: SlipwayConfig;
  configText: string;
  api: string;
  /** The task queue of the harness's worker. */
  taskQueue: string;
  /**
   * HAProxy in front of web-1..3's app (backend `web`), for `web`'s environments with
   * `traffic`; they reach its runtime API through `balancerLink`, which a test may cut.
   */
  balancer: TestHaproxy;
  balancerLink: TcpLink;
  host(name: string): FleetHost;
  /** Calls of the fake tools on a host, as `step` names (`pull`, `up`, `migrate`, …). */
  steps(name: string): string[];
  stop(): Promise<void>;
}

let releases = 0;

/** A fresh commit, green on GitHub, with the backend image pushed under `sha-<sha7>`. */
export async function newRelease(h: Harness): Promise<string> {
  const sha = `${(0x100 + ++releases).toString(16)}${Date.now().toString(16)}`.padEnd(40, 'b').slice(0, 40);
  h.github.addCommit(sha);
  await h.registry.push('acme/shop-backend', `sha-${sha.slice(0, 7)}`);
  return sha;
}

export async function startHarness(): Promise<Harness> {
  const reason = ensureOpenSsh();
  if (reason) throw new Error(reason);
  const [temporal, registry, github, receiver] = await Promise.all([
    testTemporal(),
    sharedFixture('registry', startTestRegistry, (r) => r.stop()),
    sharedFixture('github', startTestGithub, (g) => g.stop()),
    startReceiver(),
  ]);
  const fleet = await startOpenSshFleet(['web-1', 'web-2', 'web-3', 'bot-1', 'rogue', 'keys-1', 'keys-2'], 20);
  // `rogue` presents a host key other than the one known_hosts pins.
  const rogue = fleet.hosts.find((h) => h.name === 'rogue')!;
  const other = generateEd25519KeyPair();
  writeFileSync(fleet.knownHostsPath, readFileSync(fleet.knownHostsPath, 'utf8').replace(rogue.hostKey.public, other.public));
  // Nothing listens at `dead`, but known_hosts has it, so the connection is what fails.
  const deadPort = await freePort('127.0.0.30');
  writeFileSync(fleet.knownHostsPath, `${readFileSync(fleet.knownHostsPath, 'utf8')}[127.0.0.30]:${deadPort} ${other.public}\n`);

  for (const host of fleet.hosts) {
    for (const service of ['shop', 'bot', 'web', 'vault', 'keyed', 'keeper', 'bots', 'hooked', 'schema-production', 'schema-crash', 'expand', 'hooks-production', 'hooks-manual', 'hooks-crash', 'hooks-quiet', 'lane']) mkdirSync(join(host.stateDir, 'srv', service), { recursive: true });
    writeFileSync(join(host.stateDir, 'srv', 'shop', '.env.production'), '# kept by hand\nDATABASE_URL=postgres://db/shop\nBACKEND_IMAGE=old\n');
  }
  const balancer = await startHaproxy('web', Object.fromEntries(fleet.hosts.slice(0, 3).map((h) => [h.name, `${h.address}:8000`])), '/health');
  if (!balancer) throw new Error('HAProxy is not installed, and installing it needs root');
  const [apiHost, apiPort] = balancer.runtimeApi.split(':');
  const balancerLink = await startTcpLink(apiHost!, Number(apiPort));
  const target = (h: FleetHost, extra = '') => `{ name: ${h.name}, address: ${h.address}, port: ${h.port}, user: ${h.user}${extra} }`;
  const [web1, web2, web3, bot1] = fleet.hosts;
  const [keys1, keys2] = ['keys-1', 'keys-2'].map((name) => fleet.hosts.find((h) => h.name === name)!);
  const envDir = join(fleet.dir, 'env');
  mkdirSync(envDir);
  writeFileSync(join(envDir, 'id_ed25519'), withNewline(fleet.clientKey.private), { mode: 0o600 });

  // Each hook appends a line to hooks-<environment>.log; in a host's directory, delay-<hook> (seconds) slows it and fail-<hook> makes it fail.
  const hook = (name: string) => `sleep $(cat delay-${name} 2>/dev/null || echo 0); test ! -e fail-${name} && echo ${name} {name} sha={sha7} previous={previousSha} at=$(date +%s%3N) >> ${fleet.dir}/hooks-{environment}.log`;
  const configText = `
github:
  apiUrl: ${github.apiUrl}
  token: \${env:TEST_GITHUB_TOKEN}
registries:
  "${registry.host}": { username: ${REGISTRY_USER}, token: "\${env:TEST_REGISTRY_PASSWORD}", insecure: true }
  "${registry.host.replace('127.0.0.1', 'localhost')}": { username: ${REGISTRY_USER}, token: not-the-password, insecure: true }
credentialStore: ${join(fleet.dir, 'credentials')}
stepLogs: { dir: ${join(fleet.dir, 'step-logs')} }
ssh:
  privateKey: \${file:${join(envDir, 'id_ed25519')}}
  knownHosts: ${fleet.knownHostsPath}
  connectTimeout: 2s
  retryFor: 3s
  commandTimeout: 60s
api:
  tokens:
    - { name: ci, sha256: "${sha256(TOKENS.ci)}", scopes: ["deploy:shop/*", "deploy:bot/production", "deploy:web/*", "deploy:keyed/*", "deploy:schema/*", "deploy:expand/*", "deploy:hooks/*", "deploy:lane/*"] }
    - { name: reader, sha256: "${sha256(TOKENS.reader)}", scopes: ["read"] }
    - { name: ops, sha256: "${sha256(TOKENS.ops)}", scopes: ["admin"] }
    - { name: rotator, sha256: "${sha256(TOKENS.rotator)}", scopes: ["rotate:vault/*", "rotate:keyed/*", "rotate:bots/*", "rotate:hooked/*", "read"] }
    - { name: decoder, sha256: "${sha256(TOKENS.decoder)}", scopes: ["decode"] }
    - { name: hooks, sha256: "${sha256(TOKENS.hooks)}", scopes: ["rotate:hooked/*", "read"] }
    # A CI job that deploys and waits: it reads its run as it goes.
    - { name: cli, sha256: "${sha256(TOKENS.cli)}", scopes: ["deploy:web/*", "read"] }
services:
  shop:
    repo: acme/shop
    images:
      backend: ${registry.host}/acme/shop-backend
      frontend: ${registry.host}/acme/shop-frontend
    tag: "sha-{sha7}"
    runtime:
      kind: compose
      dir: ${fleet.dir}/hosts/{name}/srv/shop
      file: docker-compose.prod.yml
      envFile: .env.production
      imageVars: { BACKEND_IMAGE: backend, WORKER_IMAGE: backend, FRONTEND_IMAGE: frontend }
      migrate: { service: backend, command: "alembic upgrade head" }
      prune: true
    health:
      timeout: 3s
      interval: 200ms
      checks:
        - http: "http://{host}:8000/api/v1/health/live"
        - http: { url: "http://{host}:8000/api/v1/health/ready", status: 200, bodyContains: "ok" }
        - command: "test -s .env.production"
    environments:
      production:
        requireChecks: true
        targets: [${target(web1!)}, ${target(web2!)}, ${target(web3!)}]
        rollout: { imageTimeout: 3s }
      staging:
        targets: [${target(web3!)}]
        rollout: { imageTimeout: 3s }
      graceful:
        targets: [${target(web3!)}]
        rollout: { imageTimeout: 3s }
      # test/e2e/encryption.test.ts: payloads sealed, the run's prune child and notifier included.
      sealed:
        targets: [${target(web3!)}]
        rollout: { imageTimeout: 3s }
      migrating:
        targets: [${target(web1!)}]
        rollout: { imageTimeout: 10s }
      keymismatch:
        targets: [${target(rogue)}]
        rollout: { imageTimeout: 3s }
      unreachable:
        targets: [{ name: dead, address: 127.0.0.30, port: ${deadPort}, user: ${web1!.user} }]
        rollout: { imageTimeout: 3s }
      # test/e2e/deploy.test.ts: a run id an Idempotency-Key names again, in a new execution.
      rerun:
        targets: [${target(web1!)}]
        rollout: { imageTimeout: 10s }
  web:
    repo: acme/shop
    images: { backend: ${registry.host}/acme/shop-backend }
    tag: "sha-{sha7}"
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/web", imageVars: { BACKEND_IMAGE: backend } }
    health:
      timeout: 2s
      interval: 200ms
      checks: [ { http: "http://{host}:8000/health" } ]
    analysis:
      - name: errors-flat
        scrape: { url: "http://{host}:8000/metrics", metric: app_errors_total }
        expect: no-increase
    environments:
      fleet:
        targets: [${target(web1!)}, ${target(web2!)}, ${target(web3!)}]
        rollout: { canary: 1, batchSize: 2, bake: 1500ms, imageTimeout: 3s }
      crash:
        targets: [${target(web1!)}, ${target(web2!)}, ${target(web3!)}]
        rollout: { canary: 1, batchSize: 2, bake: 4s, imageTimeout: 10s }
      # The image test's own: its worker is the Dockerfile's command line.
      drain:
        targets: [${target(web2!)}]
        rollout: { imageTimeout: 10s }
      ledger:
        targets: [${target(web1!)}]
        rollout: { imageTimeout: 3s }
      # Step logs (test/e2e/step-logs.test.ts).
      logs:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { canary: 1, batchSize: 1, autoRollback: false, imageTimeout: 3s }
      manual:
        targets: [${target(web1!)}, ${target(web2!)}, ${target(web3!)}]
        rollout: { canary: 1, batchSize: 1, autoRollback: false, imageTimeout: 3s }
      approval:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { approval: true, approvalTimeout: 1m, imageTimeout: 3s }
      # Rollbacks that cannot finish, aborted or retried (test/e2e/rollout/rollback.test.ts).
      stuck:
        targets: [${target(web1!)}, ${target(web2!)}, ${target(web3!)}]
        rollout: { canary: 1, batchSize: 2, imageTimeout: 3s }
      lacking:
        targets: [${target(web1!)}]
        rollout: { imageTimeout: 3s }
      # test/e2e/rollout/rollback.test.ts: web-2 gets a new host key mid-test.
      rekeyed:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { canary: 1, imageTimeout: 3s }
      # notifications.test.ts's own: its stack has hooks configured.
      notify:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { canary: 1, imageTimeout: 3s }
      # Behind HAProxy (test/e2e/rollout/traffic.test.ts, npm run faults).
      balanced:
        targets: [${target(web1!)}, ${target(web2!)}, ${target(web3!)}]
        rollout: { canary: 1, batchSize: 2, imageTimeout: 3s }
        traffic: { haproxy: { runtimeApi: "${balancerLink.address}", backend: web }, drainTimeout: 2s }
      mistyped:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { imageTimeout: 3s }
        traffic: { haproxy: { runtimeApi: "${balancer.runtimeApi}", backend: web, server: "{name}-app" } }
      scripted:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { imageTimeout: 3s }
        traffic: { command: { drain: "echo drain {name} {sha7} >> ${fleet.dir}/balancer.log", ready: "echo ready {name} {sha7} >> ${fleet.dir}/balancer.log" } }
  # The runbook's steps around a deploy (test/e2e/rollout/hooks.test.ts).
  hooks:
    repo: acme/shop
    images: { backend: ${registry.host}/acme/shop-backend }
    tag: "sha-{sha7}"
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/hooks-{environment}", imageVars: { BACKEND_IMAGE: backend } }
    health:
      timeout: 2s
      interval: 200ms
      checks: [ { http: "http://{host}:8000/health" } ]
    hooks:
      beforeDeploy: [{ command: "${hook('beforeDeploy')}" }]
      afterDeploy: [{ command: "${hook('afterDeploy')}", on: all }]
      afterRollback: [{ command: "${hook('afterRollback')}", on: first }]
    environments:
      production:
        targets: [${target(web1!)}, ${target(web2!)}, ${target(web3!)}]
        rollout: { canary: 1, batchSize: 2, imageTimeout: 3s }
      manual:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { canary: 1, autoRollback: false, imageTimeout: 3s }
      # test/e2e/crash.test.ts's own: its worker is a process of its own.
      crash:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { canary: 1, imageTimeout: 10s }
      # An environment's list replaces the service's.
      quiet:
        targets: [${target(web1!)}]
        rollout: { imageTimeout: 3s }
        hooks: { afterDeploy: [] }
  # A release lane (test/e2e/rollout/lane.test.ts): promotion from staging, windows and freezes.
  lane:
    repo: acme/shop
    images: { backend: ${registry.host}/acme/shop-backend }
    tag: "sha-{sha7}"
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/lane", imageVars: { BACKEND_IMAGE: backend } }
    health:
      timeout: 2s
      interval: 200ms
      checks: [ { http: "http://{host}:8000/health" } ]
    environments:
      staging:
        targets: [${target(web1!)}]
        rollout: { imageTimeout: 3s }
      production:
        targets: [${target(web2!)}]
        rollout: { imageTimeout: 3s }
        promotion: { from: staging, soak: 4s }
      frozen:
        targets: [${target(web3!)}]
        rollout: { imageTimeout: 3s }
        windows:
          freezes: [ { from: "2020-01-01T00:00:00Z", to: "2099-01-01T00:00:00Z", reason: "the test freeze" } ]
      # Configured by the test that uses it (its own stack): a freeze that ends, windows in a time zone.
      thawing:
        targets: [${target(web3!)}]
        rollout: { imageTimeout: 3s }
  # Releases that know their schema (test/e2e/rollout/schema.test.ts): alembic as the stand-in
  # docker runs it, against one database the hosts share.
  schema:
    repo: acme/shop
    images: { backend: ${registry.host}/acme/shop-backend }
    tag: "sha-{sha7}"
    runtime:
      kind: compose
      # A database per environment (the stand-in's is named after the directory).
      dir: "${fleet.dir}/hosts/{name}/srv/schema-{environment}"
      imageVars: { BACKEND_IMAGE: backend }
      migrate: { service: backend, command: "alembic upgrade head", revision: "alembic current", downgrade: "alembic downgrade {revision}" }
    health:
      timeout: 2s
      interval: 200ms
      checks: [ { http: "http://{host}:8000/health" } ]
    environments:
      production:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { canary: 1, imageTimeout: 3s }
      # test/e2e/crash.test.ts's own: its worker is a process of its own.
      crash:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { canary: 1, imageTimeout: 10s }
  # The same without downgrade: expand/contract migrations, the old code runs on the newer schema.
  expand:
    repo: acme/shop
    images: { backend: ${registry.host}/acme/shop-backend }
    tag: "sha-{sha7}"
    runtime:
      kind: compose
      dir: "${fleet.dir}/hosts/{name}/srv/expand"
      imageVars: { BACKEND_IMAGE: backend }
      migrate: { service: backend, command: "alembic upgrade head", revision: "alembic current" }
    health:
      timeout: 2s
      interval: 200ms
      checks: [ { http: "http://{host}:8000/health" } ]
    environments:
      production:
        targets: [${target(web1!)}, ${target(web2!)}]
        rollout: { canary: 1, imageTimeout: 3s }
  vault:
    repo: acme/shop
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/vault" }
    rotatable: { variables: [API_KEY, API_KEY_ID], githubSecrets: [VAULT_API_KEY] }
    health:
      timeout: 1500ms
      interval: 200ms
      # A rotated API_KEY that starts with "reject" is one the service refuses to start with.
      checks: [ { http: "http://{host}:8000/health" }, { command: "! grep -q '^API_KEY=reject' .env" } ]
    environments:
      production:
        targets: [${target(web1!)}, ${target(web2!)}, ${target(web3!)}]
        rollout: { canary: 1, batchSize: 2 }
      # One host of four is down.
      partial:
        targets: [${target(web1!)}, ${target(web2!)}, ${target(web3!)}, { name: dead, address: 127.0.0.30, port: ${deadPort}, user: ${web1!.user} }]
        rollout: { canary: 1, batchSize: 2 }
      # test/e2e/rotation/compensation.test.ts's own: an environment's workflow stays on the task queue of the stack that started it.
      hardened:
        targets: [${target(web1!)}, ${target(web2!)}, ${target(web3!)}]
        rollout: { canary: 1, batchSize: 2 }
      notify:
        targets: [${target(web3!)}]
  # No repo, and a check that names the commit: deploying it by tag cannot fill {sha7}.
  tagonly:
    images: { backend: ${registry.host}/acme/shop-backend }
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/web", imageVars: { BACKEND_IMAGE: backend } }
    health:
      checks: [ { http: { url: "http://{host}:8000/health", bodyContains: "{sha7}" } } ]
    environments:
      production: { targets: [${target(web3!)}], rollout: { imageTimeout: 3s } }
  keyed:
    repo: acme/shop
    images: { backend: ${registry.host}/acme/shop-backend }
    tag: "sha-{sha7}"
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/keyed", imageVars: { BACKEND_IMAGE: backend } }
    rotatable: { variables: [SIGNING_SECRET, SIGNING_KEY_ID], githubSecrets: [SIGNING_SECRET] }
    health:
      timeout: 2s
      interval: 200ms
      checks: [ { http: "http://{host}:8000/health" } ]
    environments:
      # Hosts of their own: key and token rotations change how Slipway logs in to them.
      production:
        targets: [${target(keys1!)}, ${target(keys2!)}]
        rollout: { imageTimeout: 3s }
      staging:
        targets: [${target(keys1!)}]
        rollout: { imageTimeout: 3s }
      # test/e2e/rotation/env-secret.test.ts: a rotation's restart runs the release's pinned images.
      pinned:
        targets: [${target(keys1!)}]
        rollout: { imageTimeout: 3s }
      # The leak test's own: its worker and API run as processes of their own.
      leak:
        targets: [${target(keys2!)}]
        rollout: { imageTimeout: 3s }
      # The credential store test's own: its worker keeps the store in memory (tmpfs).
      volatile:
        targets: [${target(keys1!)}]
        rollout: { imageTimeout: 3s }
    rotations:
      # The leak test's: a provisioned pair in every place a value can go, and back out of it.
      leak-pair:
        values:
          - command: "sh ./provision-pair"
            on: { service: keyed, environment: leak }
            names: [PAIR_ID, PAIR_SECRET]
        write:
          - { service: keyed, environment: leak, variables: [PAIR_ID, PAIR_SECRET] }
        githubSecrets: { PAIR_SECRET: PAIR_SECRET }
        http:
          - method: POST
            url: "${receiver.url}/pairs"
            headers: { Authorization: "token \${env:TEST_GITEA_TOKEN}", X-Old-Secret: "{old:PAIR_SECRET}" }
            body: { id: "{new:PAIR_ID}", secret: "{new:PAIR_SECRET}" }
            retryFor: 1s
        finally:
          - { command: "sh ./retire-pair {old:PAIR_SECRET}", on: { service: keyed, environment: leak } }
        undo:
          - { command: "sh ./retire-pair {new:PAIR_SECRET}", on: { service: keyed, environment: leak } }
  badcreds:
    images: { backend: ${registry.host.replace('127.0.0.1', 'localhost')}/acme/shop-backend }
    runtime: { kind: compose, dir: /nonexistent, imageVars: { BACKEND_IMAGE: backend } }
    environments:
      production: { targets: [${target(web1!)}], rollout: { imageTimeout: 3s } }
  bot:
    repo: acme/bot
    runtime:
      kind: systemd
      dir: ${fleet.dir}/hosts/{name}/srv/bot
      unit: "bot-worker@{instance}.service"
      build: ["git fetch --quiet origin", "git checkout --force {sha}", "npm ci", "npm run build"]
    health:
      timeout: 3s
      interval: 200ms
      checks: [ { http: { url: "http://{host}:310{instance}/healthz", bodyContains: "{sha}" } } ]
    environments:
      production:
        targets: [${target(bot1!, ', instances: [1, 2]')}]
      # Both instances in one batch: the build must finish before either restarts.
      together:
        targets: [${target(bot1!, ', instances: [1, 2]')}]
        rollout: { canary: 2 }
  # Rotation recipes (test/e2e/recipes.test.ts). The keeper is the backend that makes bot keys
  # (its scripts keep them in \${fleet.dir}/keeper.db); the bots use them, and are healthy only
  # with a key the keeper holds as active.
  keeper:
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/keeper" }
    environments:
      production: { targets: [${target(web1!)}] }
  bots:
    repo: acme/bot
    runtime: { kind: systemd, dir: "${fleet.dir}/hosts/{name}/srv/bots", unit: "bots@{instance}.service" }
    health:
      timeout: 1500ms
      interval: 200ms
      checks: [ { command: "sh ./check-bot-key ${fleet.dir}/keeper.db" } ]
    environments:
      production:
        targets: [${target(bot1!, ', instances: [7, 8]')}]
        rollout: { canary: 1 }
    rotations:
      bot-key:
        values:
          - command: "sh ./provision-bot-key ${fleet.dir}/keeper.db"
            on: { service: keeper, environment: production }
            names: [BOT_KEY_ID, BOT_HMAC_SECRET]
          - generate: { name: WEBHOOK_SECRET, bytes: 32, encoding: hex }
        write:
          - { service: bots, environment: production, variables: [BOT_KEY_ID, BOT_HMAC_SECRET] }
        githubSecrets: { BOT_HMAC_SECRET: BOT_HMAC_SECRET }
        http:
          - method: PATCH
            url: "${receiver.url}/api/v1/repos/acme/bot/hooks/3"
            headers: { Authorization: "token \${env:TEST_GITEA_TOKEN}" }
            body: { config: { secret: "{new:WEBHOOK_SECRET}" } }
            expect: [200, 204]
            retryFor: 1s
        finally:
          - { command: "sh ./revoke-bot-key ${fleet.dir}/keeper.db {old:BOT_KEY_ID}", on: { service: keeper, environment: production } }
        undo:
          - { command: "sh ./revoke-bot-key ${fleet.dir}/keeper.db {new:BOT_KEY_ID}", on: { service: keeper, environment: production } }
  # A webhook whose secret lives in the service's .env and in the other system's config.
  hooked:
    repo: acme/shop
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/hooked" }
    rotatable: { variables: [OTHER] }
    health:
      timeout: 1500ms
      interval: 200ms
      checks: [ { command: "grep -q '^WEBHOOK_SECRET=' .env" } ]
    environments:
      production:
        targets: [${target(web2!)}, ${target(web3!)}]
        rollout: { canary: 1 }
    rotations:
      webhook-secret:
        values:
          - generate: { name: WEBHOOK_SECRET, bytes: 32, encoding: hex }
        write:
          - { service: hooked, environment: production, variables: [WEBHOOK_SECRET] }
        http:
          - method: PATCH
            url: "${receiver.url}/api/v1/repos/acme/shop/hooks/7"
            headers: { Authorization: "token \${env:TEST_GITEA_TOKEN}" }
            body: { active: true, config: { content_type: json, secret: "{new:WEBHOOK_SECRET}" } }
            expect: [200]
      # One value in two services' env files and a GitHub secret; hooked's lock comes second.
      paired:
        values:
          - generate: { name: SHARED_TOKEN, bytes: 24, encoding: base64url }
        write:
          - { service: hooked, environment: production, variables: [SHARED_TOKEN] }
          - { service: bots, environment: production, variables: [SHARED_TOKEN] }
        githubSecrets: { SHARED_TOKEN: SHARED_TOKEN }
`;
  const config = parseConfig(configText, { env: HARNESS_ENV });

  const slipway = await startSlipwayInProcess(temporal, config, 'slipway-test');
  const { api, taskQueue } = slipway;
  const client = apiClient(api);

  return {
    temporal, fleet, registry, github, receiver, config, configText, api, taskQueue, balancer, balancerLink,
    host: (name) => fleet.hosts.find((h) => h.name === name)!,
    steps: (name) => hostCalls(fleet.hosts.find((h) => h.name === name)!).map((c) => c.step),
    ...client,
    async stop() {
      await slipway.stop();
      await Promise.all([fleet.stop(), receiver.stop(), balancer.stop(), balancerLink.close()]);
    },
  };
}
