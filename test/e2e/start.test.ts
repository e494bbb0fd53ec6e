import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { waitForPort } from '../../src/temporal/dev-server.js';
import { stopManaged } from '../support/processes.js';
import { startNpmStart } from '../support/npm-start.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** The README's commands, run as a user would: separate processes, talking HTTP. */
describe('commands', function () {
  this.timeout(180_000);

  it('npm start with no config: demo mode deploys a commit to three sandbox hosts over SSH', async () => {
    const started = await startNpmStart();
    const { child, home, port } = started;
    let exitedOnTerm: boolean | undefined;
    try {
      assert.match(started.output(), /Demo mode \(no slipway\.yaml\)/);
      const { token, api } = started;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const posted = await fetch(`${api}/v1/deployments`, { method: 'POST', headers, body: JSON.stringify({ service: 'demo', environment: 'sandbox', sha: 'c0ffee1' }) });
      assert.equal(posted.status, 202);
      const { id } = await posted.json() as { id: string };
      let run: { status: string; targets: { status: string }[] } | undefined;
      for (let i = 0; i < 300; i++) {
        run = await (await fetch(`${api}/v1/deployments/${id}`, { headers })).json() as typeof run;
        if (run!.status !== 'queued' && run!.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(run!.status, 'succeeded', JSON.stringify(run));
      for (const octet of [61, 62, 63]) {
        const served = await (await fetch(`http://127.0.0.${octet}:3100/healthz`)).json() as { version: string };
        assert.equal(served.version, 'c0ffee1');
      }
      assert.ok(readFileSync(join(home, 'temporal.db')).length > 0, 'history kept in SQLite under SLIPWAY_HOME');
    } finally {
      // `kill -TERM` on the npm process only, as a new user would: npm passes it on, and the
      // process it runs must be the one that drains.
      process.kill(child.pid!, 'SIGTERM');
      for (let i = 0; i < 450 && child.exitCode === null && child.signalCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      exitedOnTerm = child.exitCode === 0;
      await stopManaged(child, 1_000);
    }
    const output = started.output();
    assert.ok(exitedOnTerm, `npm start exits 0 on its own after SIGTERM to npm:\n${output.slice(-2000)}`);
    assert.match(output, /"msg":"stopped"/, `stops cleanly on SIGTERM:\n${output.slice(-2000)}`);
    // Nothing left running: not the API, not the Temporal dev server it started.
    for (const p of [port, started.temporalPort]) {
      assert.equal(await waitForPort('127.0.0.1', p, 0).then(() => 'open', () => 'closed'), 'closed', `port ${p} is closed`);
    }
  });

  it('npm run api refuses a config with a typo, naming the path, and prints no secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-badconfig-'));
    const config = join(dir, 'slipway.yaml');
    writeFileSync(config, 'ssh:\n  privateKey: "super-secret-key-material"\n  knownHost: /etc/known_hosts\nservices: {}\n');
    const run = promisify(execFile)(TSX, [join(ROOT, 'src', 'main', 'api.ts')], { env: { ...process.env, SLIPWAY_CONFIG: config } });
    const failure = await run.then(() => assert.fail('expected a non-zero exit'), (error: { code: number; stderr: string }) => error);
    assert.equal(failure.code, 2);
    assert.match(failure.stderr, /ssh\.knownHosts: required \(string\)/);
    assert.match(failure.stderr, /ssh: Unrecognized key: "knownHost"/);
    assert.ok(!failure.stderr.includes('super-secret-key-material'));
  });
});
