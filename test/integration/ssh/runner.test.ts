import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sshActivities } from '../../../src/activities/ssh.js';
import { HostRunner } from '../../../src/ssh/runner.js';
import { forgetOnceOutput, stepToken } from '../../../src/commands/host-process.js';
import { createFleetLayout, freePort, type FleetLayout } from '../../../src/sandbox/fleet.js';
import { startSandboxSshHost, type SandboxSshHost } from '../../../src/sandbox/ssh-server.js';
import { generateEd25519KeyPair } from '../../../src/ssh/keygen.js';
import { SshError, SshSession, type SshSettings } from '../../../src/ssh/session.js';
import type { SshConfig } from '../../../src/config/schema.js';
import { sharedFixture } from '../../support/fixtures.js';
import { ensureOpenSsh, startOpenSshFleet, type OpenSshFleet } from '../../support/openssh.js';

const settingsFor = (layout: FleetLayout, overrides: Partial<SshSettings> = {}): SshSettings => ({
  privateKey: layout.clientKey.private, knownHostsPath: layout.knownHostsPath, connectTimeoutMs: 2_000, keepaliveIntervalMs: 1_000, ...overrides,
});

async function waitUntil(ready: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const start = Date.now(); !ready(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - start > timeoutMs) throw new Error(`not ready after ${timeoutMs} ms`);
  }
}

describe('SSH against real OpenSSH', function () {
  this.timeout(30_000);
  let fleet: OpenSshFleet;
  before(async function () {
    const reason = ensureOpenSsh();
    if (reason) { console.log(`skipped: ${reason}`); this.skip(); }
    fleet = await sharedFixture('ssh-fleet', () => startOpenSshFleet(['ssh-1'], 40), (f) => f.stop());
  });
  const host = () => ({ address: fleet.hosts[0]!.address, port: fleet.hosts[0]!.port, user: fleet.hosts[0]!.user });

  it('runs a command with standard input, keeping exit code and output tails', async () => {
    const session = await SshSession.connect(host(), settingsFor(fleet));
    try {
      const result = await session.run({ label: 'cat', argv: ['sh', '-c', 'cat; echo oops >&2; exit 3'], stdin: 'from stdin\n' }, { timeoutMs: 5_000 });
      assert.equal(result.exitCode, 3);
      assert.equal(result.stdoutTail, 'from stdin\n');
      assert.equal(result.stderrTail, 'oops\n');
      // The same connection serves a second command.
      const again = await session.run({ label: 'echo', argv: ['echo', 'again'] }, { timeoutMs: 5_000 });
      assert.equal(again.stdoutTail, 'again\n');
    } finally {
      session.close();
    }
  });

  it('drains large output on both streams but keeps only a bounded tail', async () => {
    const session = await SshSession.connect(host(), settingsFor(fleet));
    try {
      const result = await session.run({ label: 'flood', argv: ['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" a; head -c 3000000 /dev/zero | tr "\\0" b >&2; echo; echo last-line'] }, { timeoutMs: 20_000 });
      assert.equal(result.exitCode, 0);
      assert.equal(result.outputBytes, 6_000_000 + 11);
      assert.ok(result.stdoutTail.length < 20_000 && result.stdoutTail.endsWith('last-line\n'));
      assert.ok(result.stderrTail.length < 20_000);
    } finally {
      session.close();
    }
  });

  /** Processes on the host whose command line holds `marker` (the fleet's hosts are this machine). */
  const running = (marker: string) => {
    try {
      return execFileSync('pgrep', ['-f', '-x', `sleep ${marker}`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };

  it('gives up on a command that runs past its timeout, and kills its whole process group on the host', async () => {
    const session = await SshSession.connect(host(), settingsFor(fleet));
    try {
      // A child in the background and one in the foreground: killing the shell alone would leave both.
      const marker = `31.${Date.now() % 1000}`;
      await assert.rejects(session.run({ label: 'sleep 30', argv: [], script: `sleep ${marker} & sleep ${marker}; wait` }, { timeoutMs: 800 }),
        (e: SshError) => e.kind === 'timeout' && /"sleep 30" on .* did not finish within 800 ms/.test(e.message));
      assert.deepEqual(running(marker), [], 'nothing of the timed-out step is left on the host');
    } finally {
      session.close();
    }
  });

  it('kills a cancelled step that runs once, which then has not run: a retry runs it again', async () => {
    const session = await SshSession.connect(host(), settingsFor(fleet));
    const dir = mkdtempSync(join(tmpdir(), 'slipway-once-'));
    try {
      const marker = `32.${Date.now() % 1000}`;
      const controller = new AbortController();
      const once = `cancelled-${Date.now()}/web-1/migrate`;
      const started = session.run({ label: 'migrate', argv: [], cwd: dir, script: `echo started >> count; sleep ${marker}`, once }, { timeoutMs: 30_000, signal: controller.signal });
      await waitUntil(() => running(marker).length > 0);
      controller.abort();
      await assert.rejects(started, (e: SshError) => e.kind === 'cancelled');
      assert.deepEqual(running(marker), [], 'the cancelled step is stopped on the host');
      const retried = await session.run({ label: 'migrate', argv: [], cwd: dir, script: 'echo started >> count', once }, { timeoutMs: 10_000 });
      assert.equal(retried.exitCode, 0);
      assert.equal(readFileSync(join(dir, 'count'), 'utf8'), 'started\nstarted\n');
      // Done now: a further retry skips it.
      const again = await session.run({ label: 'migrate', argv: [], cwd: dir, script: 'echo started >> count', once }, { timeoutMs: 10_000 });
      assert.match(again.stderrTail, /already done by an earlier attempt/);
      assert.equal(readFileSync(join(dir, 'count'), 'utf8'), 'started\nstarted\n');
    } finally {
      session.close();
    }
  });

  it('provisions values once: a retry after success gets the same values without running the command again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-provision-'));
    const { provisionValues, runOnHost } = sshActivities({ runner: new HostRunner({
      privateKey: fleet.clientKey.private, knownHosts: fleet.knownHostsPath, connectTimeout: 2_000, keepaliveInterval: 1_000, retryFor: 0, commandTimeout: 10_000, maxConcurrentHandshakes: 30, passphrase: undefined,
    }) });
    // A provisioning script as the runbook has it: it makes a key row, says so, and prints the pair.
    const provision = 'n=$(($(cat rows 2>/dev/null || echo 0) + 1)); echo $n > rows; echo "created key row $n"; echo BOT_KEY_ID=$n; echo BOT_HMAC_SECRET=hmac-secret-$n; echo progress >&2';
    const once = `rotation-${Date.now()}/provision/0`;
    const first = await provisionValues(host(), dir, provision, ['BOT_KEY_ID', 'BOT_HMAC_SECRET'], once);
    assert.deepEqual(first, { BOT_KEY_ID: '1', BOT_HMAC_SECRET: 'hmac-secret-1' });
    assert.deepEqual(await provisionValues(host(), dir, provision, ['BOT_KEY_ID', 'BOT_HMAC_SECRET'], once), first, 'the retry gets the values the first run made');
    assert.equal(readFileSync(join(dir, 'rows'), 'utf8'), '1\n', 'one key row made');
    const kept = join(fleet.homeOf(fleet.hosts[0]!), '.slipway', 'steps', `${stepToken(once)}.out`);
    assert.equal(statSync(kept).mode & 0o777, 0o600, 'kept for the owner only');
    assert.ok(!readFileSync(kept.replace(/\.out$/, '.log'), 'utf8').includes('hmac-secret'), 'the values are not in the step log');
    await runOnHost(host(), forgetOnceOutput(once));
    assert.ok(!existsSync(kept), 'forgotten once the rotation no longer needs them');

    // One name missing: the step fails naming it, with no value in the message.
    const half = await provisionValues(host(), dir, 'echo BOT_KEY_ID=secret-id-9', ['BOT_KEY_ID', 'BOT_HMAC_SECRET'], `${once}-half`).then(() => assert.fail('expected a failure'), (e: Error & { type?: string }) => e);
    assert.equal(half.type, 'HostOutputInvalid');
    assert.match(half.message, /"echo BOT_KEY_ID=secret-id-9" on .* did not print BOT_HMAC_SECRET/);
    assert.ok(!half.message.replace('"echo BOT_KEY_ID=secret-id-9"', '').includes('secret-id-9'));
  });

  it('accepts a hashed known_hosts entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-kh-'));
    const salt = randomBytes(20);
    const name = `[${host().address}]:${host().port}`;
    const path = join(dir, 'known_hosts');
    writeFileSync(path, `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')} ${fleet.hosts[0]!.hostKey.public}\n`);
    const session = await SshSession.connect(host(), settingsFor(fleet, { knownHostsPath: path }));
    session.close();
  });

  it('refuses a host missing from known_hosts and a key the host does not accept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-kh-'));
    writeFileSync(join(dir, 'empty'), '');
    await assert.rejects(SshSession.connect(host(), settingsFor(fleet, { knownHostsPath: join(dir, 'empty') })),
      (e: SshError) => e.kind === 'host-key-unknown' && /is not in .*empty: add its key/.test(e.message));
    const stranger = generateEd25519KeyPair();
    await assert.rejects(SshSession.connect(host(), settingsFor(fleet, { privateKey: stranger.private })),
      (e: SshError) => e.kind === 'auth' && /authentication on .*@.* failed/.test(e.message) && !e.message.includes('PRIVATE'));
  });
});

describe('SSH faults (ssh2 server hosts)', function () {
  this.timeout(30_000);
  let layout: FleetLayout;
  let sandbox: SandboxSshHost;
  let silent: Server;
  let silentPort: number;
  before(async () => {
    layout = await createFleetLayout({ dir: mkdtempSync(join(tmpdir(), 'slipway-faults-')), names: ['fault-1'], firstOctet: 50, user: 'deploy' });
    sandbox = await startSandboxSshHost(layout.hosts[0]!, layout.clientKey.public);
    // Accepts TCP but never speaks SSH: the handshake must time out.
    silentPort = await freePort('127.0.0.51');
    silent = createServer(() => undefined).listen(silentPort, '127.0.0.51');
    writeFileSync(layout.knownHostsPath, `[${layout.hosts[0]!.address}]:${layout.hosts[0]!.port} ${layout.hosts[0]!.hostKey.public}\n[127.0.0.51]:${silentPort} ${layout.hosts[0]!.hostKey.public}\n`);
  });
  after(async () => { await sandbox.close(); silent.close(); });
  afterEach(() => { sandbox.fault = 'none'; });
  const host = () => ({ address: layout.hosts[0]!.address, port: layout.hosts[0]!.port, user: 'deploy' });
  const sshConfig = (retryFor: number): SshConfig => ({
    privateKey: layout.clientKey.private, knownHosts: layout.knownHostsPath, connectTimeout: 1_000, keepaliveInterval: 500, retryFor, commandTimeout: 1_000, maxConcurrentHandshakes: 30, passphrase: undefined,
  });

  it('runs commands on the sandbox host', async () => {
    const runner = new HostRunner(sshConfig(0));
    const out = await runner.withSession(host(), (s) => runner.run(s, { label: 'whoami', argv: ['sh', '-c', 'echo $SLIPWAY_HOST_NAME'] }));
    assert.equal(out.stdoutTail, 'fault-1\n');
  });

  it('turns a hanging command into a non-retryable CommandTimedOut', async () => {
    sandbox.fault = 'hang';
    const runner = new HostRunner(sshConfig(60_000));
    await assert.rejects(runner.withSession(host(), (s) => runner.run(s, { label: 'docker compose pull', argv: ['true'] })),
      (e: { type: string; nonRetryable: boolean; message: string }) => e.type === 'CommandTimedOut' && e.nonRetryable && /did not finish within 1000 ms/.test(e.message));
  });

  it('treats a dropped connection as transient, and as HostUnreachable once retryFor has passed', async () => {
    sandbox.fault = 'drop-after-auth';
    const retrying = new HostRunner(sshConfig(60_000));
    await assert.rejects(retrying.withSession(host(), (s) => retrying.run(s, { label: 'up', argv: ['true'] })), (e: { nonRetryable: boolean }) => !e.nonRetryable);
    const exhausted = new HostRunner(sshConfig(0));
    await assert.rejects(exhausted.withSession({ address: '127.0.0.51', port: silentPort, user: 'deploy' }, async () => undefined),
      (e: { type: string; nonRetryable: boolean; message: string }) => e.type === 'HostUnreachable' && e.nonRetryable && /cannot reach deploy@127\.0\.0\.51/.test(e.message));
  });
});
