import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import type { EncryptionConfig } from '../config/schema.js';
import { AesGcmCodec } from './aes-gcm.js';

export function codecFor(encryption: EncryptionConfig): AesGcmCodec {
  const keys = encryption.keys.map((k) => ({ id: k.id, key: Buffer.from(k.key, 'base64') }));
  const current = keys.find((k) => k.id === (encryption.current ?? keys[0]!.id))!;
  return new AesGcmCodec(current, keys.filter((k) => k !== current));
}

/**
 * The failure converter that encodes messages and stack traces (see failure-converter.ts): the
 * `.ts` source under tsx, the compiled `.js` in the image.
 */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL(`./failure-converter${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** What clients and workers use: every payload, failure messages included, encrypted when keys are configured. */
export function dataConverterFor(encryption: EncryptionConfig | undefined): DataConverter | undefined {
  return encryption ? { payloadCodecs: [codecFor(encryption)], failureConverterPath: FAILURE_CONVERTER_PATH } : undefined;
}
