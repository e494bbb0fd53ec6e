import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import { generateEd25519KeyPair } from '../../../src/ssh/keygen.js';

describe('key generation', () => {
  it('makes ed25519 keys that always parse back, public and private', () => {
    // ssh2's own generator fails about 1 in 256; 2,000 keys would meet that about 8 times.
    for (let i = 0; i < 2_000; i++) {
      const pair = generateEd25519KeyPair('slipway');
      const parsed = ssh2.utils.parseKey(pair.private);
      assert.ok(!(parsed instanceof Error), `key ${i}: ${String(parsed)}`);
      assert.ok(!(ssh2.utils.parseKey(pair.public) instanceof Error));
      assert.match(pair.public, /^ssh-ed25519 AAAA\S+ slipway$/);
    }
  });
});
