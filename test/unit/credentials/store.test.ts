import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCredentialBackend } from '../../../src/credentials/file-backend.js';
import { CredentialStore } from '../../../src/credentials/store.js';
import { credentialStoreBehaviour } from '../../support/credential-store-behaviour.js';

describe('credential store in a directory', () => {
  const host = { address: '203.0.113.10', port: 22, user: 'deploy' };
  const entry = { kind: 'ssh' as const, ...host };
  const newDir = () => join(mkdtempSync(join(tmpdir(), 'slipway-store-')), 'credentials');

  credentialStoreBehaviour(async () => new CredentialStore(new FileCredentialBackend(newDir())));

  it('keeps its entries owner-only', async () => {
    const dir = newDir();
    await new CredentialStore(new FileCredentialBackend(dir)).switch([{ entry, text: 'KEY-A' }], 'r1');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'ssh', 'deploy@203.0.113.10:22')).mode & 0o777, 0o600);
  });

  it('writes through a temporary file of its own: another writer with the same pid (another container) is not clobbered', async () => {
    const dir = newDir();
    const store = new CredentialStore(new FileCredentialBackend(dir));
    await store.switch([{ entry, text: 'KEY-A' }], 'r1');
    const theirs = join(dir, 'ssh', `deploy@203.0.113.10:22.tmp-${process.pid}`);
    writeFileSync(theirs, 'KEY-BEING-WRITTEN-ELSEWHERE', { mode: 0o600 });
    await store.switch([{ entry, text: 'KEY-B' }], 'r2');
    await store.forget('r1');
    await store.forget('r2');
    assert.equal(await store.sshKey(host), 'KEY-B');
    assert.equal(readFileSync(theirs, 'utf8'), 'KEY-BEING-WRITTEN-ELSEWHERE');
    assert.deepEqual(readdirSync(join(dir, 'ssh')).sort(), ['deploy@203.0.113.10:22', `deploy@203.0.113.10:22.tmp-${process.pid}`], 'no temporary file of its own left behind');
  });

  it('names a bad registry file without quoting it', async () => {
    const dir = newDir();
    const store = new CredentialStore(new FileCredentialBackend(dir));
    await store.switch([{ entry: { kind: 'registry', registry: 'ghcr.io' }, text: '{}' }], 'r1');
    writeFileSync(join(dir, 'registries', 'ghcr.io.json'), '{"username":"bot","tokn":"s3cret-value"}');
    await assert.rejects(store.registryCredential('ghcr.io'), (e: Error) => /ghcr\.io\.json: expected \{"username", "token"\}/.test(e.message) && !e.message.includes('s3cret-value'));
  });
});
