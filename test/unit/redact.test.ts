import assert from 'node:assert/strict';
import { redact, registerSecret } from '../../src/redact.js';

describe('redaction', () => {
  it('hides a secret whole when a shorter one sits inside it, whichever was registered first', () => {
    registerSecret('k-old-1234');
    registerSecret('bk-old-1234-feed');
    assert.equal(redact('no active key bk-old-1234-feed, nor k-old-1234'), 'no active key [REDACTED], nor [REDACTED]');
  });

  it('removes registered secrets and credential shapes from text', () => {
    registerSecret('s3cr3t-registry-token');
    const text = [
      'login failed for s3cr3t-registry-token',
      'GET https://ci:hunter2@registry.example.com/v2/',
      'Authorization: Bearer abcdefghijklmnop',
      'password=letmein token: abc123',
      'ghp_0123456789abcdefghijABCDEFGHIJ012345',
      // Assembled here so that the repository holds nothing that looks like a key file.
      `-----BEGIN OPENSSH ${'PRIVATE'} KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH ${'PRIVATE'} KEY-----`,
    ].join('\n');
    const out = redact(text);
    for (const leaked of ['s3cr3t-registry-token', 'hunter2', 'abcdefghijklmnop', 'letmein', 'abc123', 'ghp_0123', 'b3BlbnNzaC1rZXk']) {
      assert.ok(!out.includes(leaked), `${leaked} leaked in:\n${out}`);
    }
    assert.match(out, /https:\/\/ci:\[REDACTED\]@registry\.example\.com/);
  });
});
