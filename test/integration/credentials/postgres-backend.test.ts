import assert from 'node:assert/strict';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { codecFor } from '../../../src/codec/data-converter.js';
import { PostgresCredentialBackend } from '../../../src/credentials/postgres-backend.js';
import { generateEd25519KeyPair } from '../../../src/ssh/keygen.js';
import { CredentialStore } from '../../../src/credentials/store.js';
import { credentialStoreBehaviour } from '../../support/credential-store-behaviour.js';
import { sharedFixture } from '../../support/fixtures.js';
import { startTestPostgres, type TestPostgres } from '../../support/postgres.js';

const encryption = { keys: [{ id: 'k1', key: randomBytes(32).toString('base64') }], corsOrigins: [] };

describe('credential store in PostgreSQL (Debian\'s postgresql)', function () {
  this.timeout(60_000);
  let postgres: TestPostgres;
  let table = '';
  before(async function () {
    const started = await sharedFixture('postgres', startTestPostgres, async (p) => p?.stop());
    if (!started) this.skip();
    postgres = started;
  });

  // Each test its own table: the behaviour starts from an empty store.
  credentialStoreBehaviour(async () => {
    table = `credentials_${randomBytes(4).toString('hex')}`;
    return new CredentialStore(new PostgresCredentialBackend(postgres.url, codecFor(encryption), table));
  });

  it('keeps entries sealed with the payload key: the table holds no secret, and another key cannot read them', async () => {
    table = `credentials_${randomBytes(4).toString('hex')}`;
    const store = new CredentialStore(new PostgresCredentialBackend(postgres.url, codecFor(encryption), table));
    // A key made now, as a rotation would: nothing secret lives in the repository.
    const secret = generateEd25519KeyPair('store-test').private;
    await store.switch([{ entry: { kind: 'ssh', address: '203.0.113.10', port: 22, user: 'deploy' }, text: secret }], 'r1');
    await store.close();
    const client = new pg.Client(postgres.url);
    await client.connect();
    const { rows } = await client.query(`SELECT name, sealed::text AS sealed FROM ${table}`);
    await client.end();
    assert.deepEqual(rows.map((r) => r.name).sort(), ['ssh/deploy@203.0.113.10:22', 'ssh/deploy@203.0.113.10:22.before-r1']);
    const body = secret.split('\n')[1]!;
    assert.ok(rows.every((r) => !r.sealed.includes(body) && !r.sealed.includes(Buffer.from(secret).toString('base64').slice(0, 40))), 'no secret in the table');
    const stranger = new CredentialStore(new PostgresCredentialBackend(postgres.url, codecFor({ keys: [{ id: 'k2', key: randomBytes(32).toString('base64') }], corsOrigins: [] }), table));
    await assert.rejects(stranger.sshKey({ address: '203.0.113.10', port: 22, user: 'deploy' }), /encrypted with key "k1", which is not configured/);
    await stranger.close();
  });

  it('names a database it cannot reach without its password', async () => {
    const url = postgres.url.replace(/:(\d+)\//, ':1/');
    const store = new CredentialStore(new PostgresCredentialBackend(url, codecFor(encryption)));
    const password = new URL(postgres.url).password;
    await assert.rejects(store.staged('r1'), (e: Error) => /the credential store at postgres:\/\/slipway@127\.0\.0\.1:1\/slipway \(table slipway_credentials\) failed/.test(e.message) && !e.message.includes(password));
    await store.close();
  });
});
