import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { fingerprint, hostKeyAlgorithms, keysForHost, knownHostsName, parseKnownHosts } from '../../../src/ssh/known-hosts.js';

const ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIO7dYv5QcHa62zt2Ol2XW2uwv22Gx+fggnwwz9+BtOi6';
const ED2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIB5f0m5iN1lq3W2qYb0cA3G6B3l8X0u1tP1b9r2c4d5e';

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  it('matches plain names, [host]:port names and wildcards', () => {
    const entries = parseKnownHosts([
      '# comment', '',
      `web-1.example.com,203.0.113.10 ssh-ed25519 ${ED}`,
      `[203.0.113.11]:2222 ssh-ed25519 ${ED2}`,
      `*.lab.example.com ssh-ed25519 ${ED}`,
    ].join('\n'));
    assert.equal(keysForHost(entries, '203.0.113.10', 22).length, 1);
    assert.equal(keysForHost(entries, '203.0.113.10', 2222).length, 0, 'a non-standard port needs its own entry');
    assert.equal(keysForHost(entries, '203.0.113.11', 2222)[0]!.key.toString('base64'), ED2);
    assert.equal(keysForHost(entries, 'db.lab.example.com', 22).length, 1);
    assert.equal(knownHostsName('h', 22), 'h');
    assert.equal(knownHostsName('h', 2200), '[h]:2200');
  });

  it('matches hashed entries, honours negation and @revoked, skips @cert-authority', () => {
    const entries = parseKnownHosts([
      `${hashed('[127.0.0.5]:2222')} ssh-ed25519 ${ED}`,
      `*.example.com,!bad.example.com ssh-ed25519 ${ED}`,
      `@revoked old.example.com ssh-ed25519 ${ED2}`,
      `@cert-authority *.example.com ssh-ed25519 ${ED2}`,
    ].join('\n'));
    assert.equal(keysForHost(entries, '127.0.0.5', 2222).length, 1);
    assert.equal(keysForHost(entries, '127.0.0.5', 22).length, 0);
    assert.equal(keysForHost(entries, 'bad.example.com', 22).length, 0);
    assert.equal(keysForHost(entries, 'old.example.com', 22).find((k) => k.revoked)?.key.toString('base64'), ED2);
  });

  it('refuses a key on an @revoked line wherever it appears, whatever host that line names', () => {
    const entries = parseKnownHosts([
      `web.example.com ssh-ed25519 ${ED}`,
      `@revoked retired-host.example.com ssh-ed25519 ${ED}`,
      `db.example.com ssh-ed25519 ${ED2}`,
    ].join('\n'));
    assert.deepEqual(keysForHost(entries, 'web.example.com', 22).map((k) => k.revoked), [true], 'pinned for web, revoked elsewhere: refused');
    assert.deepEqual(keysForHost(entries, 'db.example.com', 22).map((k) => k.revoked), [false]);
  });

  it('prints fingerprints as ssh-keygen does and offers only pinned key types', () => {
    assert.match(fingerprint(Buffer.from(ED, 'base64')), /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.deepEqual(hostKeyAlgorithms([{ keyType: 'ssh-rsa', key: Buffer.alloc(1), revoked: false }, { keyType: 'ssh-ed25519', key: Buffer.alloc(1), revoked: false }]),
      ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
  });
});
