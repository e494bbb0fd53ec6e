import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EncryptionConfig } from '../config/schema.js';
import { registerSecret } from '../redact.js';

/**
 * `npm start` without an `encryption` section: a key of its own, made on first run and kept
 * (mode 0600) at `path`, so payloads are encrypted on a laptop too. Production configures its
 * keys instead (see README).
 */
export function localEncryption(path: string, uiOrigins: string[]): { encryption: EncryptionConfig; created: boolean } {
  const created = !existsSync(path);
  if (created) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  }
  const key = readFileSync(path, 'utf8').trim();
  registerSecret(key);
  return { encryption: { keys: [{ id: 'local', key }], corsOrigins: uiOrigins }, created };
}
