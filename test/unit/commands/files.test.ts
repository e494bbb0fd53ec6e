import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupFileCommand, readFileCommand, replaceFileCommand } from '../../../src/commands/files.js';
import { toShell } from '../../../src/commands/shell.js';

/** Files on a host: replaced atomically, backed up once, read without reaching an error. */
describe('files on a host', () => {
  it('replaces a file atomically, keeping the previous one and its mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-envfile-'));
    const target = join(dir, '.env');
    writeFileSync(target, 'OLD=1\n');
    chmodSync(target, 0o640);
    const command = replaceFileCommand(dir, '.env', 'NEW=2\n');
    execFileSync('sh', ['-c', toShell(command)], { input: command.stdin });
    assert.equal(readFileSync(target, 'utf8'), 'NEW=2\n');
    assert.equal(readFileSync(`${target}.slipway-prev`, 'utf8'), 'OLD=1\n');
    assert.equal(statSync(target).mode & 0o777, 0o640);
  });

  it('backs a file up once, so a retried rotation keeps what was there before it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-backup-'));
    writeFileSync(join(dir, '.env'), 'API_KEY=old\n');
    const backup = backupFileCommand(dir, '.env', '.env.slipway-rotation-r1');
    execFileSync('sh', ['-c', toShell(backup)]);
    writeFileSync(join(dir, '.env'), 'API_KEY=new\n');
    execFileSync('sh', ['-c', toShell(backup)]);
    assert.equal(readFileSync(join(dir, '.env.slipway-rotation-r1'), 'utf8'), 'API_KEY=old\n');
    execFileSync('sh', ['-c', toShell(backupFileCommand(dir, '.missing', '.missing.bak'))]);
    assert.equal(readFileSync(join(dir, '.missing.bak'), 'utf8'), '', 'a missing file is backed up as empty');
    assert.equal(statSync(join(dir, '.missing.bak')).mode & 0o777, 0o600);
    assert.equal(readFileCommand(dir, '.env').sensitiveOutput, true, 'what a read prints never reaches an error');
  });
});
