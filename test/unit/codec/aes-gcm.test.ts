import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec, ENCRYPTED } from '../../../src/codec/aes-gcm.js';

describe('payload codec', () => {
  const older = { id: '2026-05', key: randomBytes(32) };
  const newer = { id: '2026-11', key: randomBytes(32) };
  const payload = defaultPayloadConverter.toPayload({ variables: { API_KEY: 'value-that-must-not-leak' } });

  it('encrypts with AES-256-GCM, naming the key, and decrypts back', async () => {
    const codec = new AesGcmCodec(newer);
    const [sealed] = await codec.encode([payload]);
    assert.equal(Buffer.from(sealed!.metadata!.encoding!).toString(), ENCRYPTED);
    assert.equal(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString(), '2026-11');
    assert.ok(!Buffer.from(sealed!.data!).toString('latin1').includes('value-that-must-not-leak'));
    const [opened] = await codec.decode([sealed!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(opened!), { variables: { API_KEY: 'value-that-must-not-leak' } });
  });

  it('reads payloads of an older key after the key rotates, and refuses unknown or tampered ones', async () => {
    const [old] = await new AesGcmCodec(older).encode([payload]);
    const rotated = new AesGcmCodec(newer, [older]);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!), { variables: { API_KEY: 'value-that-must-not-leak' } });
    await assert.rejects(new AesGcmCodec(newer).decode([old!]), /encrypted with key "2026-05", which is not configured/);
    const tampered = { ...old!, data: Buffer.from(old!.data!).map((b, i) => (i === 20 ? b ^ 1 : b)) };
    await assert.rejects(rotated.decode([tampered]), /authenticate|Unsupported state/);
    assert.throws(() => new AesGcmCodec({ id: 'short', key: randomBytes(16) }), /is 16 bytes, not 32/);
  });

  it('leaves payloads that are not encrypted as they are', async () => {
    assert.deepEqual(await new AesGcmCodec(newer).decode([payload]), [payload]);
  });
});
