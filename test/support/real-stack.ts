import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { dataConverterFor } from '../../src/codec/data-converter.js';
import { parseConfig } from '../../src/config/load.js';
import type { SlipwayConfig } from '../../src/config/schema.js';
import { withNewline, type FleetHost } from '../../src/sandbox/fleet.js';
import { apiClient, TOKENS, type ApiClient } from './api-client.js';
import { startSlipwayInProcess } from './in-process.js';
import { COMPOSE_PLUGIN, dockerEngine, dockerUnavailable, ensureComposePlugin, pushAppImage, type AppRelease, type DockerEngine } from './docker.js';
import { sharedFixture } from './fixtures.js';
import { startHaproxy, type TestHaproxy } from './haproxy.js';
import { ensureOpenSsh, startOpenSshFleet, type OpenSshFleet } from './openssh.js';
import { REGISTRY_PASSWORD, REGISTRY_USER, startTestRegistry, type TestRegistry } from './registry.js';
import { testTemporal, type TestTemporal } from './temporal.js';

/**
 * The real-container tier's stack: three OpenSSH hosts whose `docker` is the real CLI, on one
 * Docker Engine, each with a compose project per service (`name: slipway-real-<host>-<service>`), its own
 * docker login and its app on its own 127.0.0.N; the test registry behind its token server;
 * the Temporal dev server; a Slipway worker and API in this process. The service `app` is the
 * test app (test/fixtures/testapp), deployed with `docker compose` as SPEC §3 says.
 */
export interface RealStack extends ApiClient {
  engine: DockerEngine;
  temporal: TestTemporal;
  fleet: OpenSshFleet;
  registry: TestRegistry;
  config: SlipwayConfig;
  configText: string;
  taskQueue: string;
  /** `registry/acme/app`. */
  repository: string;
  hosts: FleetHost[];
  /**
   * HAProxy in front of the three hosts' `web` (a service with `traffic`), their `bare` (the
   * same app, without) and their `crashapp` (with `traffic`, for a worker killed mid-drain).
   */
  balancers: Record<keyof typeof BALANCED_PORTS, TestHaproxy>;
  /** The app's own address on a host. */
  appUrl(host: FleetHost): string;
  /** The service's directory on a host (its compose file, env file and `.slipway-prev`). */
  dirOf(host: FleetHost, service?: string): string;
  /** The container of a host's app (`slipway-real-<host>-<service>-app-1`). */
  containerOf(host: FleetHost, service?: string): string;
  /** A new commit SHA whose image, built for `release`, is pushed as `sha-<sha7>`; returns the SHA and the image's digest. */
  release(release: AppRelease): Promise<{ sha: string; digest: string }>;
  docker(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);
export const APP_PORT = 8080;
/** `crashapp`, the crash test's and the container benchmark's service: the same hosts, a compose project and a port of its own. */
export const CRASH_APP_PORT = 8081;
/** `web` and `bare`, the traffic test's services: the same app behind HAProxy, with and without `traffic`. */
export const WEB_PORTS = { web: 8082, bare: 8083 } as const;
const BALANCED_PORTS = { ...WEB_PORTS, crashapp: CRASH_APP_PORT } as const;
/** The password the image builder pushes with: never rotated nor revoked by a test. */
const BUILDER_PASSWORD = 'builder-pass-51d0c2';
/** The config's `${env:…}` values (a worker started as a process needs them too). */
export const REAL_ENV = { REAL_REGISTRY_PASSWORD: REGISTRY_PASSWORD };
let commits = 0;

/**
 * The tier's one stack, shared by its suites; on a machine without Docker and without root to
 * install it, the suite says why and skips. CI is root and installs Docker: there it never skips.
 */
export async function useRealStack(suite: Mocha.Context): Promise<RealStack> {
  const reason = dockerUnavailable();
  if (reason) {
    if (process.env.CI) throw new Error(reason);
    console.log(`      skipped: ${reason}`);
    suite.skip();
  }
  return sharedFixture('real-stack', startRealStack, (stack) => stack.stop());
}

export async function startRealStack(): Promise<RealStack> {
  const reason = ensureOpenSsh();
  if (reason) throw new Error(reason);
  ensureComposePlugin();
  const [engine, registry, temporal] = await Promise.all([dockerEngine(), startTestRegistry(), testTemporal()]);
  const fleet = await startOpenSshFleet(['real-1', 'real-2', 'real-3'], 80, { tools: 'real', env: { DOCKER_HOST: engine.host } });
  // HAProxy's own default check timing (2 s, 3 falls): a replica that restarts is still sent requests for a while.
  const balancer = async (service: keyof typeof BALANCED_PORTS) => {
    const lb = await startHaproxy(service, Object.fromEntries(fleet.hosts.map((h) => [h.name, `${h.address}:${BALANCED_PORTS[service]}`])), '/health', 'inter 2s fall 3 rise 2');
    if (!lb) throw new Error('HAProxy is not installed, and installing it needs root');
    return lb;
  };
  const balancers = { web: await balancer('web'), bare: await balancer('bare'), crashapp: await balancer('crashapp') };
  const repository = `${registry.host}/acme/app`;
  registry.acceptPassword(BUILDER_PASSWORD);
  const dirOf = (host: FleetHost, service = 'app') => join(host.stateDir, 'srv', service);
  for (const host of fleet.hosts) {
    // Each host as an operator sets it up once: the Compose plugin, a registry login, the compose file.
    const home = fleet.homeOf(host);
    mkdirSync(join(home, '.docker', 'cli-plugins'), { recursive: true });
    symlinkSync(COMPOSE_PLUGIN, join(home, '.docker', 'cli-plugins', 'docker-compose'));
    await execFileAsync('sh', ['-c', `printf %s "$PASSWORD" | docker login ${registry.host} --username ${REGISTRY_USER} --password-stdin`], {
      env: { ...process.env, DOCKER_HOST: engine.host, DOCKER_CONFIG: join(home, '.docker'), PASSWORD: REGISTRY_PASSWORD },
    });
    for (const [service, port] of [['app', APP_PORT], ['crashapp', CRASH_APP_PORT], ['web', WEB_PORTS.web], ['bare', WEB_PORTS.bare]] as const) {
      const dir = join(host.stateDir, 'srv', service);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'compose.yaml'), `name: slipway-real-${host.name}-${service}
services:
  app:
    image: \${APP_IMAGE}
    network_mode: host
    env_file: [.env]
    environment: { APP_ADDR: "${host.address}:${port}", APP_EXPOSE: API_KEY }
    volumes: ["data:/data"]
    stop_grace_period: 20s
volumes:
  data: {}
`);
      writeFileSync(join(dir, '.env'), '# kept by hand\nLOG_LEVEL=info\nAPI_KEY=first\n');
    }
  }
  const envDir = mkdtempSync(join(tmpdir(), 'slipway-real-env-'));
  writeFileSync(join(envDir, 'id_ed25519'), withNewline(fleet.clientKey.private), { mode: 0o600 });
  const target = (h: FleetHost) => `{ name: ${h.name}, address: ${h.address}, port: ${h.port}, user: ${h.user} }`;
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const all = fleet.hosts.map(target).join(', ');

  const configText = `
registries:
  "${registry.host}": { username: ${REGISTRY_USER}, token: "\${env:REAL_REGISTRY_PASSWORD}", insecure: true }
credentialStore: ${join(fleet.dir, 'credentials')}
# Rotations carry secrets through Temporal: they need payload encryption.
encryption:
  keys: [ { id: real, key: "${randomBytes(32).toString('base64')}" } ]
ssh:
  privateKey: \${file:${join(envDir, 'id_ed25519')}}
  knownHosts: ${fleet.knownHostsPath}
  connectTimeout: 2s
  retryFor: 3s
  commandTimeout: 120s
api:
  tokens:
    - { name: ci, sha256: "${sha256(TOKENS.ci)}", scopes: ["deploy:app/*", "deploy:crashapp/*", "deploy:web/*", "deploy:bare/*", "rotate:web/*"] }
    - { name: reader, sha256: "${sha256(TOKENS.reader)}", scopes: ["read"] }
    - { name: ops, sha256: "${sha256(TOKENS.ops)}", scopes: ["admin"] }
services:
  app:
    images: { app: ${repository} }
    tag: "sha-{sha7}"
    runtime:
      kind: compose
      dir: ${fleet.dir}/hosts/{name}/srv/app
      file: compose.yaml
      imageVars: { APP_IMAGE: app }
      migrate: { service: app, command: migrate }
      prune: true
      keepReleases: 2
    rotatable: { variables: [API_KEY] }
    health:
      timeout: 10s
      interval: 250ms
      checks: [ { http: "http://{host}:${APP_PORT}/health" } ]
    environments:
      production:
        targets: [${all}]
        rollout: { canary: 1, batchSize: 2, imageTimeout: 10s }
  # The crash test's own: its worker is a process of its own, SIGKILLed mid-step (and mid-drain).
  crashapp:
    images: { app: ${repository} }
    tag: "sha-{sha7}"
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/crashapp", file: compose.yaml, imageVars: { APP_IMAGE: app }, prune: true }
    health:
      timeout: 20s
      interval: 250ms
      checks: [ { http: "http://{host}:${CRASH_APP_PORT}/health" } ]
    environments:
      production:
        targets: [${all}]
        rollout: { canary: 1, batchSize: 2, imageTimeout: 10s }
        traffic:
          haproxy: { runtimeApi: "${balancers.crashapp.runtimeApi}", backend: crashapp }
          drainTimeout: 5s
${(['web', 'bare'] as const).map((service) => `  # The traffic test's: behind HAProxy${service === 'web' ? ', drained and readied by Slipway' : ', which Slipway is not told of'}.
  ${service}:
    images: { app: ${repository} }
    tag: "sha-{sha7}"
    runtime:
      kind: compose
      dir: "${fleet.dir}/hosts/{name}/srv/${service}"
      file: compose.yaml
      imageVars: { APP_IMAGE: app }
      prune: true
${service === 'web' ? '      migrate: { service: app, command: migrate, revision: revision, downgrade: "downgrade {revision}" }\n' : ''}
    rotatable: { variables: [API_KEY] }
    health:
      timeout: 10s
      interval: 250ms
      checks: [ { http: "http://{host}:${WEB_PORTS[service]}/health" } ]
    environments:
      production:
        targets: [${all}]
        rollout: { canary: 1, batchSize: 2, imageTimeout: 10s }
${service === 'web' ? `        traffic:
          haproxy: { runtimeApi: "${balancers.web.runtimeApi}", backend: web }
          drainTimeout: 5s
` : ''}`).join('')}`;
  const config = parseConfig(configText, { env: REAL_ENV });
  const codec = new Client({ connection: temporal.connection, namespace: temporal.namespace, dataConverter: dataConverterFor(config.encryption) });
  const slipway = await startSlipwayInProcess(temporal, config, 'slipway-real', codec);
  const { taskQueue } = slipway;
  const client = apiClient(slipway.api);

  return {
    ...client, engine, temporal, fleet, registry, config, configText, taskQueue, repository, hosts: fleet.hosts, balancers,
    appUrl: (host) => `http://${host.address}:${APP_PORT}`,
    dirOf,
    containerOf: (host, service = 'app') => `slipway-real-${host.name}-${service}-app-1`,
    async release(release) {
      const sha = `${(0xa00 + ++commits).toString(16)}${Date.now().toString(16)}`.padEnd(40, 'e').slice(0, 40);
      const digest = await pushAppImage(engine, repository, `sha-${sha.slice(0, 7)}`, release, { registry: registry.host, username: REGISTRY_USER, password: BUILDER_PASSWORD });
      return { sha, digest };
    },
    docker: (args) => engine.docker(args),
    async stop() {
      await slipway.stop();
      for (const host of fleet.hosts) {
        for (const service of ['app', 'crashapp', 'web', 'bare']) {
          await execFileAsync('docker', ['compose', '-f', 'compose.yaml', 'down', '--volumes', '--timeout', '1'], {
            cwd: dirOf(host, service), env: { ...process.env, DOCKER_HOST: engine.host, APP_IMAGE: 'none' },
          });
        }
      }
      await Promise.all([fleet.stop(), registry.stop(), ...Object.values(balancers).map((lb) => lb.stop())]);
    },
  };
}
