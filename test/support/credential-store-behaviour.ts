import assert from 'node:assert/strict';
import type { CredentialStore } from '../../src/credentials/store.js';

/**
 * What every credential store backend must do, run against each (a directory in the unit
 * tests, PostgreSQL in the integration tests).
 */
export function credentialStoreBehaviour(open: () => Promise<CredentialStore>): void {
  const host = { address: '203.0.113.10', port: 22, user: 'deploy' };
  const other = { address: '203.0.113.11', port: 22, user: 'deploy' };
  const entry = { kind: 'ssh' as const, ...host };
  let store: CredentialStore;
  beforeEach(async () => { store = await open(); });
  afterEach(async () => { await store.close(); });
  /** Sets entries as a finished rotation would leave them. */
  const set = async (changes: Parameters<CredentialStore['switch']>[0]) => {
    await store.switch(changes, 'setup');
    await store.forget('setup');
  };

  it('keeps a key per host and user', async () => {
    await set([{ entry, text: 'KEY-A' }]);
    assert.equal(await store.sshKey(host), 'KEY-A');
    assert.equal(await store.sshKey({ ...host, user: 'other' }), undefined, 'another user on the same host keeps the config key');
    assert.equal(await store.sshKey({ ...host, port: 2222 }), undefined);
  });

  it('locks logins for one rotation at a time, all or none', async () => {
    assert.equal(await store.lockLogins([host], 'r1'), undefined);
    assert.equal(await store.lockLogins([host], 'r1'), undefined, 'a retry of the same rotation keeps its lock');
    const refused = await store.lockLogins([other, host], 'r2');
    assert.equal(refused?.holder, 'r1');
    assert.equal(await store.lockLogins([other], 'r3'), undefined, 'r2 took nothing when it could not take all');
    await store.unlockLogins([host, other], 'r2');
    assert.equal((await store.lockLogins([host], 'r2'))?.holder, 'r1', 'a rotation releases only its own locks');
    await store.unlockLogins([host], 'r1');
    assert.equal(await store.lockLogins([host], 'r2'), undefined);
    await store.unlockLogins([host], 'r2');
    await store.unlockLogins([other], 'r3');
  });

  it('switches several entries at once, keeps what each held once per rotation, and restores it, including "there was none"', async () => {
    const second = { kind: 'ssh' as const, ...other };
    await set([{ entry: second, text: 'KEY-OLD' }]);
    await store.switch([{ entry, text: 'KEY-NEW' }, { entry: second, text: 'KEY-NEW' }], 'r1');
    await store.switch([{ entry, text: 'KEY-NEWER' }, { entry: second, text: 'KEY-NEWER' }], 'r1');
    assert.equal(await store.before(entry, 'r1'), null, 'there was none');
    assert.equal(await store.before(second, 'r1'), 'KEY-OLD', 'a retried switch keeps the first snapshot');
    assert.equal(await store.sshKey(other), 'KEY-NEWER');
    await store.restore([entry, second], 'r1');
    assert.equal(await store.sshKey(host), undefined);
    assert.equal(await store.sshKey(other), 'KEY-OLD');
    await store.restore([entry], 'r3');
    assert.equal(await store.sshKey(other), 'KEY-OLD', 'no snapshot: nothing to undo');
    await store.forget('r1');
  });

  it('stages a new secret once, and forgets a rotation\'s snapshots and staged secret', async () => {
    assert.equal(await store.stage('r1', () => 'first'), 'first');
    assert.equal(await store.stage('r1', () => 'second'), 'first', 'a retried step gets the same key');
    await store.switch([{ entry, text: 'KEY-A' }], 'r1');
    await store.forget('r1');
    assert.equal(await store.staged('r1'), undefined);
    assert.equal(await store.before(entry, 'r1'), undefined);
    assert.equal(await store.sshKey(host), 'KEY-A', 'the entry itself stays');
  });

  it('clears what an abandoned rotation held, and only that, naming it without its secrets', async () => {
    await store.lockLogins([host], 'r1');
    await store.lockLogins([other], 'r2');
    await store.stage('r1', () => 'STAGED-SECRET');
    await store.switch([{ entry, text: 'KEY-NEW' }], 'r1');
    const { removed, kept } = await store.abandon('r1');
    assert.deepEqual(removed, ['the rotation lock of deploy@203.0.113.10:22', 'its staged key']);
    assert.deepEqual(kept, ['ssh/deploy@203.0.113.10:22.before-r1'], 'what a fix by hand may need stays');
    assert.ok(!JSON.stringify({ removed, kept }).match(/SECRET|KEY-/), 'no secret in what it names');
    assert.equal(await store.lockLogins([host], 'r3'), undefined, 'the login is free for the next rotation');
    assert.equal((await store.lockLogins([other], 'r3'))?.holder, 'r2', 'another rotation keeps its lock');
    assert.equal(await store.staged('r1'), undefined);
    assert.equal(await store.sshKey(host), 'KEY-NEW', 'the credential in use stays');
    assert.deepEqual((await store.abandon('r1')).removed, [], 'nothing left to remove the second time');
  });

  it('reads registry credentials', async () => {
    await set([{ entry: { kind: 'registry', registry: 'ghcr.io' }, text: JSON.stringify({ username: 'bot', token: 'tok' }) }]);
    assert.deepEqual(await store.registryCredential('ghcr.io'), { username: 'bot', token: 'tok' });
    assert.equal(await store.registryCredential('quay.io'), undefined);
  });
}
