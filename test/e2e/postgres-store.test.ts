import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client } from '@temporalio/client';
import { createApi } from '../../src/api/app.js';
import { dataConverterFor } from '../../src/codec/data-converter.js';
import { parseConfig } from '../../src/config/load.js';
import { withNewline } from '../../src/sandbox/fleet.js';
import { sharedFixture } from '../support/fixtures.js';
import { startOpenSshFleet, type OpenSshFleet } from '../support/openssh.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { spawnManaged, stopManaged } from '../support/processes.js';
import { testTemporal, type TestTemporal } from '../support/temporal.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TOKEN = 'multi-machine-token';

/**
 * Workers on several machines share their credentials through PostgreSQL: two worker
 * processes with homes of their own (nothing on a shared disk), one rotating Slipway's SSH
 * key, the other deploying with it afterwards.
 */
describe('several worker machines, one credential store in PostgreSQL', function () {
  this.timeout(240_000);
  let postgres: TestPostgres;
  let temporal: TestTemporal;
  let fleet: OpenSshFleet;
  let configText: string;
  const taskQueue = `multi-${Date.now().toString(36)}`;
  const workers: ChildProcess[] = [];

  before(async function () {
    const started = await sharedFixture('postgres', startTestPostgres, async (p) => p?.stop());
    if (!started) this.skip();
    postgres = started;
    temporal = await testTemporal();
    fleet = await startOpenSshFleet(['pg-1', 'pg-2'], 60);
    for (const host of fleet.hosts) {
      mkdirSync(join(host.stateDir, 'srv', 'multi'), { recursive: true });
      writeFileSync(join(host.stateDir, 'srv', 'multi', '.env'), '');
    }
    const secrets = mkdtempSync(join(tmpdir(), 'slipway-multi-'));
    writeFileSync(join(secrets, 'id_ed25519'), withNewline(fleet.clientKey.private), { mode: 0o600 });
    const target = (name: string) => { const h = fleet.hosts.find((x) => x.name === name)!; return `{ name: ${h.name}, address: ${h.address}, port: ${h.port}, user: ${h.user} }`; };
    configText = `
encryption: { keys: [ { id: k1, key: "${randomBytes(32).toString('base64')}" } ] }
credentialStore: "${postgres.url}"
ssh:
  privateKey: \${file:${join(secrets, 'id_ed25519')}}
  knownHosts: ${fleet.knownHostsPath}
  connectTimeout: 2s
  retryFor: 3s
  commandTimeout: 60s
api:
  tokens: [ { name: ops, sha256: "${createHash('sha256').update(TOKEN).digest('hex')}", scopes: [admin] } ]
services:
  multi:
    runtime: { kind: compose, dir: "${fleet.dir}/hosts/{name}/srv/multi" }
    environments:
      production: { targets: [${target('pg-1')}, ${target('pg-2')}] }
`;
  });
  after(async () => {
    for (const w of workers) await stopManaged(w, 2_000);
    await fleet?.stop();
  });

  /** A worker as its own process, with its own home (its own machine, as far as files go). */
  async function startWorker(name: string): Promise<{ child: ChildProcess; home: string }> {
    const home = mkdtempSync(join(tmpdir(), `slipway-${name}-`));
    writeFileSync(join(home, 'slipway.yaml'), configText);
    const child = spawnManaged(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main', 'worker.ts')], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SLIPWAY_CONFIG: join(home, 'slipway.yaml'), SLIPWAY_HOME: home, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace, SLIPWAY_TASK_QUEUE: taskQueue },
    });
    workers.push(child);
    let log = '';
    child.stdout!.on('data', (c: Buffer) => { log += c.toString(); });
    child.stderr!.on('data', (c: Buffer) => { log += c.toString(); });
    for (let i = 0; !log.includes('worker started'); i++) {
      if (i > 1200 || child.exitCode !== null) throw new Error(`worker ${name} did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { child, home };
  }

  it('rotates the SSH key on one worker; the next deploy runs on another and logs in with the new key', async () => {
    const config = parseConfig(configText, { env: {} });
    // The API decodes what the workers encrypted, with the same keys.
    const client = new Client({ connection: temporal.connection, namespace: temporal.namespace, dataConverter: dataConverterFor(config.encryption) });
    const app = createApi({ config, client, taskQueue, namespace: temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://localhost:8233' });
    const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${api}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: response.status, body: await response.json() as Record<string, unknown> };
    };
    const finished = async (path: string) => {
      for (let i = 0; i < 600; i++) {
        const { body } = await call('GET', path);
        if (['succeeded', 'failed', 'rolled_back', 'aborted', 'compensated'].includes(body.status as string)) return body;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`${path} never finished`);
    };
    try {
      const first = await startWorker('first');
      const rotation = await call('POST', '/v1/rotations', { kind: 'ssh-key', service: 'multi', environment: 'production' });
      assert.equal(rotation.status, 202, JSON.stringify(rotation.body));
      const rotated = await finished(`/v1/rotations/${rotation.body.id as string}`);
      assert.equal(rotated.status, 'succeeded', JSON.stringify(rotated.error));
      for (const host of fleet.hosts) {
        const accepted = readFileSync(join(fleet.homeOf(host), '.ssh', 'authorized_keys'), 'utf8');
        assert.ok(!accepted.includes(fleet.clientKey.public.split(' ')[1]!), `${host.name} no longer accepts the config's key`);
      }
      assert.ok(!existsSync(join(first.home, 'credentials')), 'the new key is not on the first worker\'s disk');
      await stopManaged(first.child, 10_000);

      // Another machine: it never saw the rotation, and the config's key no longer gets in.
      await startWorker('second');
      const deploy = await call('POST', '/v1/deployments', { service: 'multi', environment: 'production', sha: 'abc1234' });
      assert.equal(deploy.status, 202, JSON.stringify(deploy.body));
      const run = await finished(`/v1/deployments/${deploy.body.id as string}`);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      for (const host of fleet.hosts) {
        const calls = readFileSync(join(host.stateDir, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: string }).step);
        assert.deepEqual(calls.slice(-2), ['pull', 'up'], `${host.name} was deployed by the second worker`);
      }
    } finally {
      server.close();
    }
  });
});
