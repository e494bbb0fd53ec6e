import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { composePull, composeRecreate, composeUp, imagePrune, type ComposeRuntime } from '../../../src/commands/compose.js';
import { dockerLoginCommand, dockerManifestCommand } from '../../../src/commands/docker.js';
import { backupFileCommand, fileExistsCommand, readFileCommand, removeFileCommand, replaceFileCommand } from '../../../src/commands/files.js';
import { forgetRevokedKeysCommand } from '../../../src/commands/authorized-keys.js';
import { hostScript } from '../../../src/commands/host-process.js';
import type { HostCommand } from '../../../src/commands/shell.js';
import { restartUnit } from '../../../src/commands/systemd.js';
import { forLoginShell } from '../../../src/ssh/session.js';

/** How many generated commands each property runs through a real /bin/sh. */
const RUNS = Number(process.env.SLIPWAY_PROPERTY_RUNS ?? 10_000);

/**
 * Every value that reaches a host command stays one word: generated values, hostile ones
 * among them, go through the builders, and a real /bin/sh runs the exact script Slipway sends
 * (with `set -x`). Stand-ins for docker and systemctl record the argv they get; an injected
 * command would run `slipway_pwned`, which records that it ran.
 */
describe('host commands under generated input (fast-check)', function () {
  this.timeout(600_000);
  const root = mkdtempSync(join(tmpdir(), 'slipway-prop-'));
  const bin = join(root, 'bin');
  const log = join(root, 'calls');
  const pwned = join(root, 'pwned');
  before(() => {
    mkdirSync(bin);
    // Each call: program, its arguments, an empty word, the working directory, then NAME=value of $CHECK_VARS.
    const stub = `#!/bin/sh\n{ printf '%s\\0' "\${0##*/}" "$@" '' "$PWD"; for v in $CHECK_VARS; do eval "printf '%s=%s\\\\0' \\"\\$v\\" \\"\\\${$v}\\""; done; } >> "$STUB_LOG"\n`;
    for (const name of ['docker', 'systemctl']) {
      writeFileSync(join(bin, name), stub);
      chmodSync(join(bin, name), 0o755);
    }
    writeFileSync(join(bin, 'slipway_pwned'), `#!/bin/sh\necho "$0 $*" >> ${pwned}\n`);
    chmodSync(join(bin, 'slipway_pwned'), 0o755);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const hostile = fc.constantFrom(
    '$(slipway_pwned)', '`slipway_pwned`', '; slipway_pwned', '\nslipway_pwned\n', "' ; slipway_pwned ; '", '" ; slipway_pwned ; "',
    '|| slipway_pwned', '&& slipway_pwned', '| slipway_pwned', '$((1+1))', '${HOME}', '$IFS', '*', '?', '~', '-rf', '--', '\\', "'", '"',
    ' ', '\t', '\n', '#', '!', '> x', '< y', '%s', '{a,b}', '$0', '$@',
  );
  /** Any text a config or request could carry, hostile pieces likely (no NUL: `quote` refuses it, tested apart). */
  const value = fc.array(fc.oneof(hostile, fc.string({ unit: 'binary', maxLength: 6 })), { maxLength: 5 })
    .map((parts) => parts.join('').replaceAll('\0', ''));
  /** A file or directory name: any of those that a filesystem takes. */
  const fileName = value.filter((v) => v !== '' && v !== '.' && v !== '..' && !v.includes('/') && Buffer.byteLength(v) < 120);
  const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/).filter((n) => !['PATH', 'HOME', 'PWD', 'IFS', 'PS4', 'CHECK_VARS', 'STUB_LOG', 'OLDPWD'].includes(n));

  /** Runs the exact wire script (base64 through the login shell) with tracing on; returns the calls the stand-ins saw. */
  function runOnHost(command: HostCommand, dir: string, vars: string[] = []) {
    rmSync(log, { force: true });
    const nonce = randomBytes(8).toString('hex');
    const home = join(dir, '..', 'home');
    mkdirSync(home, { recursive: true });
    const wire = forLoginShell(`PS4='+${nonce} '\nset -x\n${hostScript(command, nonce)}`);
    const result = spawnSync('/bin/sh', ['-c', wire], {
      cwd: dir, input: command.stdin ?? '', encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home, STUB_LOG: log, CHECK_VARS: vars.join(' ') },
    });
    const traced = result.stderr.split('\n').filter((line) => line.startsWith(`+${nonce} `)).map((line) => line.slice(nonce.length + 2));
    const calls = existsSync(log) ? readFileSync(log, 'utf8').split('\0').slice(0, -1) : [];
    return { status: result.status, stdout: result.stdout, traced, calls };
  }

  type Case = { command: HostCommand; vars?: string[]; check(seen: ReturnType<typeof runOnHost>, dir: string): void };
  const inDir = (name: string) => {
    const caseDir = mkdtempSync(join(root, 'case-'));
    const dir = join(caseDir, name);
    mkdirSync(dir);
    return dir;
  };
  const stubbed = (program: string, argv: string[], dir: string, env: Record<string, string> = {}) =>
    [program, ...argv, '', realpathSync(dir), ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];

  const cases: fc.Arbitrary<(dir: string) => Case>[] = [
    fc.record({ file: fileName, envFile: fileName, env: fc.dictionary(envName, value, { maxKeys: 3 }), step: fc.constantFrom('pull', 'up', 'recreate') }).map(({ file, envFile, env, step }) => (dir: string) => {
      const runtime: ComposeRuntime = { kind: 'compose', dir, file, envFile, imageVars: {}, prune: false, keepReleases: 5 };
      const command = step === 'pull' ? composePull(runtime, dir, env) : step === 'up' ? composeUp(runtime, dir, env) : composeRecreate(runtime, dir, env);
      const args = step === 'pull' ? ['pull', '--policy', 'missing'] : step === 'up' ? ['up', '-d', '--remove-orphans'] : ['up', '-d', '--force-recreate', '--remove-orphans'];
      return { command, vars: Object.keys(env), check: (seen) => assert.deepEqual(seen.calls, stubbed('docker', ['compose', '-f', file, '--env-file', envFile, ...args], dir, env)) };
    }),
    fc.constant((dir: string) => ({ command: imagePrune(dir), check: (seen) => assert.deepEqual(seen.calls, stubbed('docker', ['image', 'prune', '-f'], dir)) })),
    value.map((unit) => (dir: string) => ({ command: restartUnit(dir, unit), check: (seen) => assert.deepEqual(seen.calls, stubbed('systemctl', ['restart', unit], dir)) })),
    value.map((reference) => (dir: string) => ({ command: { ...dockerManifestCommand(reference, true), cwd: dir }, check: (seen) => assert.deepEqual(seen.calls, stubbed('docker', ['manifest', 'inspect', '--insecure', reference], dir)) })),
    // The token goes on standard input: no traced command line may hold it.
    fc.tuple(value, value, value.map((v) => `slipway-token:${v}`)).map(([registry, username, token]) => (dir: string) => ({
      command: { ...dockerLoginCommand(registry, username, token), cwd: dir },
      check: (seen) => {
        assert.deepEqual(seen.calls, stubbed('docker', ['login', registry, '--username', username, '--password-stdin'], dir));
        assert.ok(!seen.traced.some((line) => line.includes('slipway-token:')), 'the token is not on a command line');
      },
    })),
    fc.tuple(fileName, value).map(([file, content]) => (dir: string) => ({
      command: replaceFileCommand(dir, file, content),
      check: (seen) => {
        assert.equal(seen.status, 0);
        assert.equal(readFileSync(join(dir, file), 'utf8'), content, 'the file of exactly that name holds the content');
      },
    })),
    fc.tuple(fileName, value).map(([file, content]) => (dir: string) => {
      writeFileSync(join(dir, file), content);
      return { command: readFileCommand(dir, file), check: (seen) => assert.equal(seen.stdout, content) };
    }),
    fc.tuple(fileName, fileName, value).filter(([f, b]) => f !== b).map(([file, backup, content]) => (dir: string) => {
      writeFileSync(join(dir, file), content);
      return { command: backupFileCommand(dir, file, backup), check: () => assert.equal(readFileSync(join(dir, backup), 'utf8'), content) };
    }),
    fileName.map((file) => (dir: string) => {
      writeFileSync(join(dir, file), 'x');
      return { command: removeFileCommand(dir, file), check: (seen) => { assert.equal(seen.status, 0); assert.ok(!existsSync(join(dir, file))); } };
    }),
    fileName.map((file) => (dir: string) => {
      writeFileSync(join(dir, file), 'x');
      return { command: fileExistsCommand(dir, file), check: (seen) => assert.equal(seen.status, 0) };
    }),
    fileName.map((keepAs) => (dir: string) => {
      const kept = join(dir, '..', 'home', '.ssh', keepAs);
      mkdirSync(join(kept, '..'), { recursive: true });
      writeFileSync(kept, 'ssh-ed25519 AAAA kept\n');
      return { command: forgetRevokedKeysCommand(keepAs), check: (seen) => { assert.equal(seen.status, 0); assert.ok(!existsSync(kept)); } };
    }),
  ];

  it(`keeps every generated value in its word: ${RUNS} commands through /bin/sh with set -x`, () => {
    fc.assert(fc.property(fileName, fc.oneof(...cases), (dirName, build) => {
      const dir = inDir(dirName);
      const { command, vars, check } = build(dir);
      const seen = runOnHost(command, dir, vars);
      assert.ok(!existsSync(pwned), `an injected command ran: ${existsSync(pwned) ? readFileSync(pwned, 'utf8') : ''}`);
      assert.ok(!seen.traced.some((line) => /^slipway_pwned\b/.test(line)), 'no traced command is an injected one');
      assert.ok(seen.traced.length > 0, 'the script ran with tracing on');
      check(seen, dir);
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }), { numRuns: RUNS });
  });
});
