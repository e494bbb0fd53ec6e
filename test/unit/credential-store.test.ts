import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore } from '../../src/credentials/store.js';

describe('credential store', () => {
  const host = { address: '203.0.113.10', port: 22, user: 'deploy' };
  const entry = { kind: 'ssh' as const, ...host };
  let store: CredentialStore;
  beforeEach(() => { store = new CredentialStore(join(mkdtempSync(join(tmpdir(), 'slipway-store-')), 'credentials')); });

  it('keeps a key per host and user, owner-only', () => {
    store.write(entry, 'KEY-A');
    assert.equal(store.sshKey(host), 'KEY-A');
    assert.equal(store.sshKey({ ...host, user: 'other' }), undefined, 'another user on the same host keeps the config key');
    assert.equal(store.sshKey({ ...host, port: 2222 }), undefined);
    assert.equal(statSync(store.dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(store.dir, 'ssh', 'deploy@203.0.113.10:22')).mode & 0o777, 0o600);
  });

  it('writes through a temporary file of its own: another writer with the same pid (another container) is not clobbered', () => {
    store.write(entry, 'KEY-A');
    const theirs = join(store.dir, 'ssh', `deploy@203.0.113.10:22.tmp-${process.pid}`);
    writeFileSync(theirs, 'KEY-BEING-WRITTEN-ELSEWHERE', { mode: 0o600 });
    store.write(entry, 'KEY-B');
    assert.equal(store.sshKey(host), 'KEY-B');
    assert.equal(readFileSync(theirs, 'utf8'), 'KEY-BEING-WRITTEN-ELSEWHERE');
    assert.deepEqual(readdirSync(join(store.dir, 'ssh')).sort(), ['deploy@203.0.113.10:22', `deploy@203.0.113.10:22.tmp-${process.pid}`], 'no temporary file of its own left behind');
  });

  it('locks logins for one rotation at a time, all or none', () => {
    const other = { address: '203.0.113.11', port: 22, user: 'deploy' };
    assert.equal(store.lockLogins([host], 'r1'), undefined);
    assert.equal(store.lockLogins([host], 'r1'), undefined, 'a retry of the same rotation keeps its lock');
    const refused = store.lockLogins([other, host], 'r2');
    assert.equal(refused?.holder, 'r1');
    assert.equal(store.lockLogins([other], 'r3'), undefined, 'r2 took nothing when it could not take all');
    store.unlockLogins([host, other], 'r2');
    assert.equal(store.lockLogins([host], 'r2')?.holder, 'r1', 'a rotation releases only its own locks');
    store.unlockLogins([host], 'r1');
    assert.equal(store.lockLogins([host], 'r2'), undefined);
  });

  it('snapshots an entry once per rotation and restores it, including "there was none"', () => {
    store.snapshot(entry, 'r1');
    store.write(entry, 'KEY-NEW');
    store.snapshot(entry, 'r1');
    assert.equal(store.before(entry, 'r1'), null);
    store.restore(entry, 'r1');
    assert.equal(store.sshKey(host), undefined);

    store.write(entry, 'KEY-A');
    store.snapshot(entry, 'r2');
    store.write(entry, 'KEY-B');
    store.restore(entry, 'r2');
    assert.equal(store.sshKey(host), 'KEY-A');
    store.restore(entry, 'r3');
    assert.equal(store.sshKey(host), 'KEY-A', 'no snapshot: nothing to undo');
  });

  it('stages a new secret once, and forgets a rotation\'s snapshots and staged secret', () => {
    assert.equal(store.stage('r1', () => 'first'), 'first');
    assert.equal(store.stage('r1', () => 'second'), 'first', 'a retried step gets the same key');
    store.write(entry, 'KEY-A');
    store.snapshot(entry, 'r1');
    store.forget('r1');
    assert.equal(store.staged('r1'), undefined);
    assert.deepEqual(readdirSync(join(store.dir, 'ssh')), ['deploy@203.0.113.10:22']);
  });

  it('reads registry credentials and names a bad file without quoting it', () => {
    store.write({ kind: 'registry', registry: 'ghcr.io' }, JSON.stringify({ username: 'bot', token: 'tok' }));
    assert.deepEqual(store.registryCredential('ghcr.io'), { username: 'bot', token: 'tok' });
    assert.equal(store.registryCredential('quay.io'), undefined);
    writeFileSync(join(store.dir, 'registries', 'ghcr.io.json'), '{"username":"bot","tokn":"s3cret-value"}');
    assert.throws(() => store.registryCredential('ghcr.io'), (e: Error) => /ghcr\.io\.json: expected \{"username", "token"\}/.test(e.message) && !e.message.includes('s3cret-value'));
  });
});
