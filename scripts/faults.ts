/**
 * `npm run faults`: drives the real worker (its own process), the real Temporal dev server and
 * the sshd fleet through injected faults, and checks after each that
 *   - the run ended in a named state (not waiting for an operator),
 *   - nothing that must run once ran twice (migrations, builds),
 *   - every host is on a version the ledger knows (the environment's current one, or one the
 *     run lists as left to fix), and Slipway still logs in to every host,
 *   - the environment's lock was released (and the credential store's login locks).
 * Prints a table and ends with `faults: injected=N survived=M`; exits 1 unless all survived.
 * docs/reliability.md records the figures.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@temporalio/client';
import { createApi } from '../src/api/app.js';
import { serveApi } from '../src/api/serve.js';
import { dataConverterFor } from '../src/codec/data-converter.js';
import { parseConfig } from '../src/config/load.js';
import { readEnvValues, rewriteEnvFile } from '../src/commands/envfile.js';
import { hostCalls } from '../src/sandbox/fleet.js';
import { SshSession } from '../src/ssh/session.js';
import { HARNESS_ENV, startHarness, TOKENS, type Harness } from '../test/support/harness.js';
import { stopAllFixtures } from '../test/support/fixtures.js';
import { registryLoginOf } from '../test/support/docker.js';
import { serverStatuses } from '../test/support/haproxy.js';
import { spawnManaged, stopManaged } from '../test/support/processes.js';

const ROOT = resolve(import.meta.dirname, '..');
const only = process.argv[2];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);
const DEPLOY_END = ['succeeded', 'failed', 'rolled_back', 'aborted'];
const ROTATION_END = ['succeeded', 'compensated', 'failed'];

type Body = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const h: Harness = await startHarness();
const taskQueue = `faults-${Date.now().toString(36)}`;
const configPath = join(mkdtempSync(join(tmpdir(), 'slipway-faults-')), 'slipway.yaml');
// Rotations need payload encryption.
const configText = `${h.configText}\nencryption:\n  keys: [ { id: k1, key: "${randomBytes(32).toString('base64')}" } ]\n`;
writeFileSync(configPath, configText);
const config = parseConfig(configText, { env: HARNESS_ENV });
const client = new Client({ connection: h.temporal.connection, namespace: h.temporal.namespace, dataConverter: dataConverterFor(config.encryption) });

// The API stays up (it is stateless); the worker is the process that dies.
const app = createApi({
  config, client, taskQueue, namespace: h.temporal.namespace,
  stepTimeoutMs: 60_000, heartbeatTimeoutMs: 3_000, uiUrl: 'http://ui', logError: () => undefined,
});
const server: Server = await serveApi(app, { port: 0, host: '127.0.0.1' });
const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function call(method: string, path: string, body?: unknown, token = TOKENS.ci): Promise<{ status: number; body: Body }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${api}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    } catch (error) {
      if (attempt > 20) throw error; // the API waits on Temporal while it restarts
      await sleep(500);
    }
  }
}

let worker: ChildProcess | undefined;
let workerLog = '';
/** Starts the worker, reaching Temporal at `temporalAddress` (a slow link's, say). */
async function startWorker(temporalAddress = h.temporal.address): Promise<void> {
  workerLog = '';
  worker = spawnManaged(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main', 'worker.ts')], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, SLIPWAY_CONFIG: configPath, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: h.temporal.namespace,
      SLIPWAY_TASK_QUEUE: taskQueue, ...HARNESS_ENV,
    },
  });
  worker.stdout!.on('data', (c: Buffer) => { workerLog += c.toString(); });
  worker.stderr!.on('data', (c: Buffer) => { workerLog += c.toString(); });
  for (let i = 0; !workerLog.includes('worker started'); i++) {
    if (i > 1200 || worker.exitCode !== null) throw new Error(`worker did not start:\n${workerLog}`);
    await sleep(50);
  }
}
async function killWorker(): Promise<void> {
  const dying = worker!;
  worker = undefined;
  const gone = new Promise<void>((r) => dying.once('exit', () => r()));
  process.kill(-dying.pid!, 'SIGKILL');
  await gone;
}
/** SIGKILL now, and a new worker at once, as a supervisor would restart it. */
async function crashWorker(): Promise<void> {
  await killWorker();
  await startWorker();
}

/**
 * A TCP link to Temporal whose answers reach the worker `delayMs` late, as over a slow
 * network: what Temporal has done, the worker learns only later.
 */
async function slowLink(delayMs: number): Promise<{ address: string; close(): void }> {
  const [host, port] = h.temporal.address.split(':');
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connect(Number(port), host);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    // The same delay for every chunk keeps them in order.
    upstream.on('data', (chunk) => setTimeout(() => { if (!client.destroyed) client.write(chunk); }, delayMs));
    const close = () => { client.destroy(); upstream.destroy(); };
    for (const socket of [client, upstream]) { socket.on('error', close); socket.on('close', close); }
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () => { proxy.close(); for (const socket of sockets) socket.destroy(); },
  };
}

/** The `enqueueRun` signals an environment's workflow received since `since` (ms). */
async function enqueueSignalsSince(service: string, environment: string, since: number): Promise<number> {
  const answer = await client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: h.temporal.namespace, execution: { workflowId: `slipway-env/${service}/${environment}` }, maximumPageSize: 200,
  }).catch((error: { code?: number }) => { if (error.code === 5) return { history: undefined }; throw error; });
  const { history } = answer;
  return (history?.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'enqueueRun'
    && Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6) >= since).length;
}

let releases = 0;
async function release(repo = 'acme/shop'): Promise<string> {
  const sha = `fa${(++releases).toString(16).padStart(3, '0')}${randomBytes(20).toString('hex')}`.slice(0, 40);
  h.github.addCommit(sha);
  if (repo === 'acme/shop') for (const image of ['acme/shop-backend', 'acme/shop-frontend']) await h.registry.push(image, `sha-${sha.slice(0, 7)}`);
  return sha;
}

async function waitUntil<T>(what: string, get: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 180_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ;) {
    const value = await get();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(value)}`);
    await sleep(200);
  }
}
const getRun = async (id: string) => (await call('GET', `/v1/deployments/${id}`, undefined, TOKENS.reader)).body;
const getRotation = async (id: string) => (await call('GET', `/v1/rotations/${id}`, undefined, TOKENS.rotator)).body;
const getEnvironment = async (service: string, environment: string) => (await call('GET', `/v1/services/${service}/environments/${environment}`, undefined, TOKENS.reader)).body;

// ---- checks -------------------------------------------------------------------------------

const TARGETS: Record<string, string[]> = {
  'shop/production': ['web-1', 'web-2', 'web-3'], 'bot/production': ['bot-1'], 'keyed/production': ['keys-1', 'keys-2'], 'vault/production': ['web-1', 'web-2', 'web-3'],
  'hooked/production': ['web-2', 'web-3'], 'web/balanced': ['web-1', 'web-2', 'web-3'],
};

/** The version a host runs for a service: its pinned env file (compose) or its checkout (systemd). */
function hostVersion(service: string, host: string): string | undefined {
  const dir = join(h.fleet.dir, 'hosts', host, 'srv', service);
  if (service === 'bot') return existsSync(join(dir, '.checkout')) ? readFileSync(join(dir, '.checkout'), 'utf8').trim().slice(0, 7) : undefined;
  const file = join(dir, service === 'shop' ? '.env.production' : '.env');
  const image = existsSync(file) ? readEnvValues(readFileSync(file, 'utf8')).BACKEND_IMAGE : undefined;
  return /:sha-([0-9a-f]{7})@/.exec(image ?? '')?.[1];
}

async function environmentReleased(service: string, environment: string, problems: string[]): Promise<Body> {
  try {
    return await waitUntil(`${service}/${environment} still held`, () => getEnvironment(service, environment), (e) => !e.active && !e.queue?.length, 20_000);
  } catch (error) {
    problems.push((error as Error).message.slice(0, 300));
    return getEnvironment(service, environment);
  }
}

/** Steps that must run once, counted on the hosts between the run's start and end. */
function onceSteps(service: string, run: Body): Record<string, number> {
  const from = Date.parse(run.createdAt) - 1_000;
  const to = Date.parse(run.finishedAt ?? new Date().toISOString()) + 1_000;
  const counts: Record<string, number> = {};
  for (const name of TARGETS[`${service}/production`]!) {
    // A build belongs to the commit checked out before it: a rollback rebuilds another one.
    let checkedOut = '';
    for (const c of hostCalls(h.host(name))) {
      if (c.step === 'git-checkout') checkedOut = c.args.at(-1) ?? '';
      if (c.at < from || c.at > to) continue;
      const key = service === 'shop' && c.step === 'migrate' ? `migrate on ${name}` : service === 'bot' && ['git-checkout', 'npm-ci', 'npm-run'].includes(c.step) ? `${c.step} of ${checkedOut.slice(0, 7)} on ${name}` : undefined;
      if (key) counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  return counts;
}

/** How each injected run ended, for the table. */
let endedAs: string[] = [];

async function checkDeploy(service: string, id: string): Promise<string[]> {
  const problems: string[] = [];
  const run = await waitUntil(`run ${id} never ended`, () => getRun(id), (r) => DEPLOY_END.includes(r.status) || r.awaitingOperator);
  endedAs.push(run.status);
  if (!DEPLOY_END.includes(run.status) || run.awaitingOperator) problems.push(`run ${id} ended ${run.status}${run.awaitingOperator ? ', waiting for an operator' : ''}`);
  const env = await environmentReleased(service, 'production', problems);
  for (const [step, count] of Object.entries(onceSteps(service, run))) if (count > 1) problems.push(`${step} ran ${count} times`);
  const current = env.current?.sha?.slice(0, 7);
  const leftToFix = new Set((run.leftToFix ?? []).map((l: { target: string }) => l.target.split('#')[0]));
  for (const host of TARGETS[`${service}/production`]!) {
    const version = hostVersion(service, host);
    if (version !== current && !leftToFix.has(host)) problems.push(`${host} runs ${version}, the ledger's current is ${current}`);
  }
  return problems;
}

/**
 * A deploy to web/balanced (behind the harness's HAProxy): it ended, released its environment,
 * each host is on the ledger's version or listed, and no server is left out of rotation
 * unless the run lists it.
 */
async function checkBalanced(id: string): Promise<string[]> {
  const problems: string[] = [];
  const run = await waitUntil(`run ${id} never ended`, () => getRun(id), (r) => DEPLOY_END.includes(r.status) || r.awaitingOperator);
  endedAs.push(run.status);
  if (!DEPLOY_END.includes(run.status) || run.awaitingOperator) problems.push(`run ${id} ended ${run.status}${run.awaitingOperator ? ', waiting for an operator' : ''}`);
  const env = await environmentReleased('web', 'balanced', problems);
  const listed = new Set((run.leftToFix ?? []).map((l: { target: string }) => l.target));
  const current = env.current?.images?.backend;
  for (const host of ['web-1', 'web-2', 'web-3']) {
    const image = readEnvValues(readFileSync(join(h.host(host).stateDir, 'srv', 'web', '.env'), 'utf8')).BACKEND_IMAGE;
    if (image !== current && !listed.has(host)) problems.push(`${host} runs ${image}, the ledger's current is ${current}`);
  }
  for (const [server, status] of Object.entries(await serverStatuses(h.balancer, 'web'))) {
    if (!status.startsWith('UP') && !listed.has(server)) problems.push(`${server} is ${status} in HAProxy and not listed in leftToFix`);
  }
  return problems;
}

async function logsIn(host: string): Promise<boolean> {
  const target = h.host(host);
  const stored = join(h.config.credentialStore!, 'ssh', `${target.user}@${target.address}:${target.port}`);
  const privateKey = existsSync(stored) ? readFileSync(stored, 'utf8') : h.fleet.clientKey.private;
  try {
    (await SshSession.connect(target, { privateKey, knownHostsPath: h.fleet.knownHostsPath, connectTimeoutMs: 3_000, keepaliveIntervalMs: 1_000 })).close();
    return true;
  } catch {
    return false;
  }
}

async function checkRotation(service: string, id: string, check: (rotation: Body) => string[]): Promise<string[]> {
  const problems: string[] = [];
  const rotation = await waitUntil(`rotation ${id} never ended`, () => getRotation(id), (r) => ROTATION_END.includes(r.status) && !!r.finishedAt);
  endedAs.push(rotation.status);
  await environmentReleased(service, 'production', problems);
  const locks = join(h.config.credentialStore!, 'locks');
  if (existsSync(locks) && readdirSync(locks).length) problems.push(`login locks left: ${readdirSync(locks).join(', ')}`);
  for (const host of TARGETS[`${service}/production`]!) if (!await logsIn(host)) problems.push(`Slipway cannot log in to ${host} any more`);
  return [...problems, ...check(rotation)];
}

// ---- scenarios ----------------------------------------------------------------------------

async function deploy(service: string, sha?: string): Promise<{ id: string; sha: string }> {
  const version = sha ?? await release(service === 'bot' ? 'acme/bot' : 'acme/shop');
  const started = await call('POST', '/v1/deployments', { service, environment: 'production', sha: version });
  if (started.status !== 202) throw new Error(`deploy refused: ${JSON.stringify(started.body)}`);
  return { id: started.body.id, sha: version };
}

/** A deploy (or rollback) with `fault` injected `afterMs` into it. */
async function deployWith(service: string, fault: () => Promise<void>, afterMs: number, kind: 'deploy' | 'rollback' = 'deploy'): Promise<string[]> {
  let id: string;
  if (kind === 'rollback') {
    const first = await deploy(service);
    const done = await waitUntil('the deploy before the rollback', () => getRun(first.id), (r) => DEPLOY_END.includes(r.status));
    if (done.status !== 'succeeded') return [`the deploy before the rollback ended ${done.status}`];
    const started = await call('POST', '/v1/rollbacks', { service, environment: 'production', reason: 'faults' });
    id = started.body.id;
  } else {
    id = (await deploy(service)).id;
  }
  await sleep(afterMs);
  await fault();
  return checkDeploy(service, id);
}

function slowHosts(service: string, step: string, seconds: number, environment = 'production'): () => void {
  const hosts = TARGETS[`${service}/${environment}`]!;
  for (const host of hosts) writeFileSync(join(h.host(host).stateDir, `delay-${step}`), String(seconds));
  return () => { for (const host of hosts) rmSync(join(h.host(host).stateDir, `delay-${step}`), { force: true }); };
}

async function rotate(body: Body): Promise<string> {
  const started = await call('POST', '/v1/rotations', { environment: 'production', ...body }, TOKENS.rotator);
  if (started.status !== 202) throw new Error(`rotation refused: ${JSON.stringify(started.body)}`);
  return started.body.id;
}

const vaultKeys = () => TARGETS['vault/production']!.map((host) => readEnvValues(readFileSync(join(h.fleet.dir, 'hosts', host, 'srv', 'vault', '.env'), 'utf8')).API_KEY);
const registryLogins = () => TARGETS['keyed/production']!.map((host) => registryLoginOf(h.fleet.homeOf(h.host(host)), h.registry.host)?.password);

interface Scenario { fault: string; count: number; run(): Promise<string[]> }
const scenarios: Scenario[] = [
  {
    fault: 'worker SIGKILLed during a deploy (compose, migration)', count: 6,
    run: async () => {
      // A migration that takes a while: many of the kills land while it runs.
      const undo = [slowHosts('shop', 'pull', 1), slowHosts('shop', 'migrate', 2)];
      try { return await deployWith('shop', crashWorker, between(300, 5_000)); } finally { for (const u of undo) u(); }
    },
  },
  {
    fault: 'worker SIGKILLed during a deploy (systemd, builds)', count: 3,
    run: async () => { const undo = slowHosts('bot', 'npm-ci', 1); try { return await deployWith('bot', crashWorker, between(300, 3_000)); } finally { undo(); } },
  },
  {
    fault: 'worker SIGKILLed during a rollback', count: 4,
    run: async () => { const undo = slowHosts('shop', 'pull', 1); try { return await deployWith('shop', crashWorker, between(200, 4_000), 'rollback'); } finally { undo(); } },
  },
  {
    fault: 'worker SIGKILLed during an env-secret rotation', count: 3,
    run: async () => {
      const id = await rotate({ kind: 'env-secret', service: 'vault', variables: { API_KEY: { generate: { bytes: 24, encoding: 'hex' } } } });
      await sleep(between(200, 2_500));
      await crashWorker();
      return checkRotation('vault', id, (r) => {
        const keys = vaultKeys();
        return new Set(keys).size === 1 ? [] : [`the hosts hold different API_KEYs after ${r.status}`];
      });
    },
  },
  {
    fault: 'worker SIGKILLed during an ssh-key rotation', count: 3,
    run: async () => {
      const id = await rotate({ kind: 'ssh-key', service: 'keyed' });
      await sleep(between(100, 2_000));
      await crashWorker();
      return checkRotation('keyed', id, () => []);
    },
  },
  {
    fault: 'worker SIGKILLed during a registry-token rotation', count: 3,
    run: async () => {
      const token = `rotated-${randomBytes(6).toString('hex')}`;
      h.registry.acceptPassword(token);
      const id = await rotate({ kind: 'registry-token', service: 'keyed', registry: h.registry.host, username: 'ci', token });
      await sleep(between(100, 2_000));
      await crashWorker();
      return checkRotation('keyed', id, (r) => {
        const logins = registryLogins();
        const expected = r.status === 'succeeded' ? token : undefined;
        return new Set(logins).size === 1 && (!expected || logins[0] === expected) ? [] : [`the hosts log in to the registry with different tokens after ${r.status}: ${logins.join(', ')}`];
      });
    },
  },
  {
    fault: 'Temporal server restarted mid-deploy', count: 2,
    run: async () => { const undo = slowHosts('shop', 'pull', 1); try { return await deployWith('shop', () => h.temporal.restart(1_000), between(500, 3_000)); } finally { undo(); } },
  },
  {
    fault: "a host's sshd killed mid-command", count: 3,
    run: async () => {
      const undo = slowHosts('shop', 'pull', 2);
      try {
        return await deployWith('shop', async () => {
          // Which host is mid-pull varies: the canary first, then the others.
          const host = h.host(['web-1', 'web-2', 'web-3'][Math.floor(Math.random() * 3)]!);
          await h.fleet.stopHost(host);
          await sleep(1_000);
          await h.fleet.restart(host);
        }, between(300, 4_000));
      } finally { undo(); }
    },
  },
  {
    fault: 'a host key changed', count: 2,
    run: async () => {
      // web-3 is in the last batch: the run fails there, before touching it, and rolls the others back.
      const restore = await h.fleet.changeHostKey(h.host('web-3'));
      try {
        return await deployWith('shop', async () => undefined, 0);
      } finally {
        await restore();
      }
    },
  },
  {
    fault: "worker SIGKILLed between a scheduled rotation's signal-with-start and the end of its enqueue step", count: 2,
    run: async () => {
      // Temporal's answers reach this worker 2 s late: the rotation is queued before the worker knows.
      const link = await slowLink(2_000);
      await killWorker();
      await startWorker(link.address);
      const created = await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'vault', environment: 'production', variables: { API_KEY: { generate: { bytes: 24, encoding: 'hex' } } }, schedule: { every: '90d' } }, TOKENS.rotator);
      if (created.status !== 201 && created.status !== 202) throw new Error(`schedule refused: ${JSON.stringify(created.body)}`);
      const schedule = client.schedule.getHandle(created.body.id);
      try {
        const since = Date.now();
        await schedule.trigger();
        await waitUntil('the scheduled rotation queued', () => enqueueSignalsSince('vault', 'production', since), (n) => n > 0, 60_000);
        await killWorker();
        link.close();
        await startWorker();
        // The enqueue step is tried again once its attempt times out, and queues the same rotation.
        await waitUntil('the enqueue step tried again', () => enqueueSignalsSince('vault', 'production', since), (n) => n > 1, 120_000);
        const env = await waitUntil('the rotation recorded', () => getEnvironment('vault', 'production'),
          (e) => !e.active && !e.queue.length && e.history.some((x: { kind: string; finishedAt: string }) => x.kind === 'rotation' && Date.parse(x.finishedAt) >= since), 120_000);
        const rotations = env.history.filter((x: { kind: string; finishedAt: string }) => x.kind === 'rotation' && Date.parse(x.finishedAt) >= since);
        if (rotations.length !== 1) return [`${rotations.length} rotations ran for one scheduled run: ${rotations.map((r: { runId: string }) => r.runId).join(', ')}`];
        return checkRotation('vault', rotations[0].runId, () => (new Set(vaultKeys()).size === 1 ? [] : ['the hosts hold different API_KEYs']));
      } finally {
        link.close();
        await schedule.delete();
      }
    },
  },
  {
    fault: 'Temporal unreachable for 60 s while a recipe holds a lent lock', count: 1,
    run: async () => {
      // The recipe `paired` is queued in bots/production and holds hooked/production's lock, lent.
      // The health checks of both want what earlier rotations would have left: there as if they had run.
      const botsDir = join(h.host('bot-1').stateDir, 'srv', 'bots');
      mkdirSync(botsDir, { recursive: true });
      writeFileSync(join(botsDir, 'check-bot-key'), 'exit 0\n');
      for (const host of TARGETS['hooked/production']!) {
        const dir = join(h.host(host).stateDir, 'srv', 'hooked');
        mkdirSync(dir, { recursive: true });
        const file = join(dir, '.env');
        const env = existsSync(file) ? readFileSync(file, 'utf8') : '';
        if (!/^WEBHOOK_SECRET=/m.test(env)) writeFileSync(file, rewriteEnvFile(env, { WEBHOOK_SECRET: randomBytes(16).toString('hex') }));
      }
      const undo = slowHosts('hooked', 'up', 4);
      try {
        const started = await call('POST', '/v1/rotations', { kind: 'recipe', service: 'hooked', environment: 'production', recipe: 'paired' }, TOKENS.rotator);
        if (started.status !== 202) throw new Error(`rotation refused: ${JSON.stringify(started.body)}`);
        const recipe = started.body.id;
        await waitUntil('the lock lent to the recipe', () => getEnvironment('hooked', 'production'), (e) => e.active === recipe, 60_000);
        const queued = await call('POST', '/v1/deployments', { service: 'hooked', environment: 'production', sha: await release() }, TOKENS.ops);
        if (queued.status !== 202) throw new Error(`deploy refused: ${JSON.stringify(queued.body)}`);
        const waiting = { id: queued.body.id as string };
        await h.temporal.restart(60_000);
        const ended = await waitUntil(`recipe ${recipe} never ended`, () => getRotation(recipe), (r) => ROTATION_END.includes(r.status) && (!!r.finishedAt || !!r.leftToFix), 240_000);
        endedAs.push(ended.status);
        if (!ended.finishedAt) {
          const failed = ended.steps.filter((x: { status: string }) => x.status === 'failed').map((x: { name: string; target?: string; error?: string }) => `${x.name} ${x.target ?? ''}: ${x.error}`);
          return [`the recipe waits for an operator: ${ended.error?.message}; failed: ${failed.join('; ')}`];
        }
        const run = await waitUntil(`deploy ${waiting.id} never ended`, () => getRun(waiting.id), (r) => DEPLOY_END.includes(r.status), 240_000);
        const startedAt = (await client.workflow.getHandle(waiting.id).describe()).startTime.getTime();
        const problems: string[] = [];
        if (startedAt < Date.parse(ended.finishedAt)) problems.push(`the deploy queued behind the recipe started ${Date.parse(ended.finishedAt) - startedAt} ms before the recipe ended: the lent lock was handed on`);
        if (run.status !== 'succeeded') problems.push(`the deploy behind the recipe ended ${run.status}`);
        await environmentReleased('hooked', 'production', problems);
        await environmentReleased('bots', 'production', problems);
        return problems;
      } finally { undo(); }
    },
  },
  {
    fault: "the load balancer's runtime API unreachable mid-deploy", count: 3,
    run: async () => {
      const started = await call('POST', '/v1/deployments', { service: 'web', environment: 'balanced', sha: await release() });
      if (started.status !== 202) throw new Error(`deploy refused: ${JSON.stringify(started.body)}`);
      // Cut while a target is drained, or before the first drain, for a few retries' time.
      await sleep(between(100, 1_500));
      h.balancerLink.cut();
      await sleep(between(1_000, 6_000));
      h.balancerLink.restore();
      return checkBalanced(started.body.id);
    },
  },
  {
    fault: 'worker SIGKILLed during a deploy behind the load balancer', count: 3,
    run: async () => {
      const undo = slowHosts('web', 'up', 1, 'balanced');
      try {
        const started = await call('POST', '/v1/deployments', { service: 'web', environment: 'balanced', sha: await release() });
        if (started.status !== 202) throw new Error(`deploy refused: ${JSON.stringify(started.body)}`);
        await sleep(between(300, 3_000));
        await crashWorker();
        return await checkBalanced(started.body.id);
      } finally { undo(); }
    },
  },
  ...([429, 503] as const).map((status) => ({
    fault: `the registry answering ${status}`, count: 2,
    run: async () => deployWith('shop', async () => { h.registry.failNext(status, 3); }, 0),
  })),
  ...([429, 502] as const).map((status) => ({
    fault: `GitHub answering ${status}`, count: 2,
    run: async () => {
      const sha = await release();
      const routes = [`GET /repos/acme/shop/commits/${sha}`, 'POST /repos/acme/shop/deployments'];
      for (const route of routes) h.github.override.set(route, status);
      const started = await deploy('shop', sha);
      setTimeout(() => { for (const route of routes) h.github.override.delete(route); }, 2_500);
      return checkDeploy('shop', started.id);
    },
  })),
];

// ---- run ----------------------------------------------------------------------------------

const results: { fault: string; injected: number; survived: number; ended: string[]; problems: string[] }[] = [];
try {
  await startWorker();
  // The releases everything starts from: each environment has a known-good version.
  for (const service of ['shop', 'bot', 'keyed']) {
    const { id } = await deploy(service);
    const run = await waitUntil(`first deploy of ${service}`, () => getRun(id), (r) => DEPLOY_END.includes(r.status));
    if (run.status !== 'succeeded') throw new Error(`the first deploy of ${service} ended ${run.status}: ${JSON.stringify(run.error)}`);
  }
  for (const scenario of scenarios.filter((s) => !only || s.fault.includes(only))) {
    const result = { fault: scenario.fault, injected: 0, survived: 0, ended: [] as string[], problems: [] as string[] };
    results.push(result);
    for (let i = 0; i < scenario.count; i++) {
      if (!worker) await startWorker();
      result.injected++;
      let problems: string[];
      endedAs = [];
      try {
        problems = await scenario.run();
      } catch (error) {
        problems = [`${(error as Error).message.slice(0, 1500)}`];
      }
      result.ended.push(endedAs.at(-1) ?? 'no end');
      if (problems.length) result.problems.push(...problems.map((p) => `#${i + 1}: ${p}`));
      else result.survived++;
      console.log(`${problems.length ? 'FAILED ' : 'ok     '} ${scenario.fault} #${i + 1}${problems.length ? `: ${problems.join('; ')}` : ''}`);
    }
  }
} finally {
  if (worker) await stopManaged(worker, 1_000);
  server.closeAllConnections();
  server.close();
  await h.stop();
  await stopAllFixtures();
}

const injected = results.reduce((n, r) => n + r.injected, 0);
const survived = results.reduce((n, r) => n + r.survived, 0);
const tally = (ended: string[]) => [...new Set(ended)].map((state) => `${state} ${ended.filter((e) => e === state).length}`).join(', ');
console.log('\n| fault | injected | survived | the runs ended |\n|---|---:|---:|---|');
for (const r of results) console.log(`| ${r.fault} | ${r.injected} | ${r.survived} | ${tally(r.ended)} |`);
for (const r of results) for (const p of r.problems) console.log(`  ${r.fault} ${p}`);
console.log(`faults: injected=${injected} survived=${survived}`);
process.exit(injected > 0 && injected === survived ? 0 : 1);
