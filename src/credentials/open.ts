import { codecFor } from '../codec/data-converter.js';
import { isPostgresUrl, type SlipwayConfig } from '../config/schema.js';
import { FileCredentialBackend } from './file-backend.js';
import { PostgresCredentialBackend } from './postgres-backend.js';
import { CredentialStore } from './store.js';

/** The store `credentialStore` names: a PostgreSQL table for `postgres://…`, else a directory. */
export function openCredentialStore(config: SlipwayConfig): CredentialStore | undefined {
  const where = config.credentialStore;
  if (!where) return undefined;
  if (isPostgresUrl(where)) {
    // The config's check guarantees the keys; this keeps the type honest.
    if (!config.encryption) throw new Error('a PostgreSQL credential store needs encryption.keys');
    return new CredentialStore(new PostgresCredentialBackend(where, codecFor(config.encryption)));
  }
  return new CredentialStore(new FileCredentialBackend(where));
}
