import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  authorizeKeyCommand, forgetRevokedKeysCommand, publicKeyBlob, restoreRevokedKeysCommand, revokeKeyCommand,
} from '../../../src/commands/authorized-keys.js';
import { dockerLoginCommand } from '../../../src/commands/docker.js';
import { toShell, type HostCommand } from '../../../src/commands/shell.js';
import { generateEd25519KeyPair } from '../../../src/ssh/keygen.js';

/** Runs a command as the host would, with `home` as the login user's home. */
function runAt(home: string, command: HostCommand): void {
  execFileSync('sh', ['-c', toShell(command)], { env: { PATH: process.env.PATH, HOME: home }, input: command.stdin ?? '' });
}

describe('authorized_keys edits', () => {
  const oldKey = generateEd25519KeyPair('old').public;
  const newKey = generateEd25519KeyPair('slipway-rotation').public;
  const other = generateEd25519KeyPair('alice@laptop').public;
  let home: string;
  const file = () => join(home, '.ssh', 'authorized_keys');
  beforeEach(() => { home = mkdtempSync(join(tmpdir(), 'slipway-home-')); });

  it('creates ~/.ssh and the file with owner-only modes, and adds a key once', () => {
    runAt(home, authorizeKeyCommand(newKey));
    runAt(home, authorizeKeyCommand(newKey));
    assert.equal(readFileSync(file(), 'utf8'), `${newKey}\n`);
    assert.equal(statSync(join(home, '.ssh')).mode & 0o777, 0o700);
    assert.equal(statSync(file()).mode & 0o777, 0o600);
  });

  it('appends after a last line without a newline, and knows a key by its blob whatever its options', () => {
    mkdirSync(join(home, '.ssh'));
    const original = `from="10.0.0.0/8" ${newKey.replace('slipway-rotation', 'renamed')}\n${other}`;
    writeFileSync(file(), original);
    runAt(home, authorizeKeyCommand(newKey));
    assert.equal(readFileSync(file(), 'utf8'), original, 'the key was there already');
    runAt(home, authorizeKeyCommand(oldKey));
    assert.deepEqual(readFileSync(file(), 'utf8').split('\n').slice(1), [other, oldKey, '']);
  });

  it('removes a key keeping the other lines and the mode, then puts its lines back exactly on compensation', () => {
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    const original = `# managed by ops\nno-pty,from="192.0.2.1" ${oldKey}\n${other}\n${newKey}\n`;
    writeFileSync(file(), original, { mode: 0o640 });
    runAt(home, revokeKeyCommand(oldKey, 'authorized_keys.slipway-revoked-r1'));
    runAt(home, revokeKeyCommand(oldKey, 'authorized_keys.slipway-revoked-r1'));
    assert.equal(readFileSync(file(), 'utf8'), `# managed by ops\n${other}\n${newKey}\n`);
    assert.equal(statSync(file()).mode & 0o777, 0o640);
    assert.equal(readFileSync(join(home, '.ssh', 'authorized_keys.slipway-revoked-r1'), 'utf8'), `no-pty,from="192.0.2.1" ${oldKey}\n`, 'a retry keeps the first copy');

    runAt(home, restoreRevokedKeysCommand('authorized_keys.slipway-revoked-r1'));
    runAt(home, restoreRevokedKeysCommand('authorized_keys.slipway-revoked-r1'));
    assert.equal(readFileSync(file(), 'utf8'), `# managed by ops\n${other}\n${newKey}\nno-pty,from="192.0.2.1" ${oldKey}\n`);
    assert.ok(!existsSync(join(home, '.ssh', 'authorized_keys.slipway-revoked-r1')));

    runAt(home, revokeKeyCommand(newKey));
    assert.ok(!readFileSync(file(), 'utf8').includes(publicKeyBlob(newKey)));
    runAt(home, forgetRevokedKeysCommand('authorized_keys.slipway-revoked-r1'));
  });

  it('does nothing to a host without the file', () => {
    runAt(home, revokeKeyCommand(oldKey, 'kept'));
    runAt(home, restoreRevokedKeysCommand('kept'));
    assert.ok(!existsSync(file()));
  });

  it('refuses anything but a public key line before it gets near a shell', () => {
    assert.throws(() => authorizeKeyCommand(`${newKey}\nssh-ed25519 AAAAinjected`), /expected an OpenSSH public key line/);
    assert.throws(() => revokeKeyCommand("ssh-ed25519 AAAA' ; rm -rf / '"), /expected an OpenSSH public key line/);
  });

  it('logs in to a registry with the token on standard input only', () => {
    const command = dockerLoginCommand('ghcr.io', 'bot', 's3cr3t-token');
    assert.equal(toShell(command), 'docker login ghcr.io --username bot --password-stdin');
    assert.equal(command.stdin, 's3cr3t-token');
  });
});
