import pg from 'pg';
import type { PayloadCodec } from '@temporalio/common';
import type { CredentialBackend, CredentialTransaction } from './store.js';

/**
 * The store as a PostgreSQL table, for workers on several machines (the production stack runs
 * PostgreSQL for Temporal already). Each entry is sealed with the payload codec (AES-256-GCM
 * under `encryption.keys`, tagged with the key id, so a key rotation keeps old entries
 * readable). Changes run in transactions: a reader on another worker sees all of a switch, or
 * none of it.
 */
export class PostgresCredentialBackend implements CredentialBackend {
  private readonly pool: pg.Pool;
  private ready: Promise<void> | undefined;
  readonly where: string;

  constructor(url: string, private readonly codec: PayloadCodec, private readonly table = 'slipway_credentials') {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    // A failed idle connection (a restart of the database) is dropped, not thrown.
    this.pool.on('error', () => undefined);
    const shown = new URL(url);
    shown.password = '';
    this.where = `${shown.protocol}//${shown.username ? `${shown.username}@` : ''}${shown.host}${shown.pathname} (table ${table})`;
  }

  private schema(): Promise<void> {
    this.ready ??= this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
      name text PRIMARY KEY,
      sealed jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`).then(() => undefined, (error: unknown) => { this.ready = undefined; throw this.failure(error); });
    return this.ready;
  }

  async get(name: string): Promise<string | undefined> {
    await this.schema();
    return this.queries(this.pool).get(name);
  }

  async transaction<T>(change: (tx: CredentialTransaction) => Promise<T>): Promise<T> {
    await this.schema();
    const client = await this.pool.connect().catch((error: unknown) => { throw this.failure(error); });
    try {
      await client.query('BEGIN');
      const result = await change(this.queries(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async persistenceProblem(): Promise<string | undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private queries(db: pg.Pool | pg.PoolClient): CredentialTransaction {
    const query = async (text: string, values: unknown[]) => db.query(text, values).catch((error: unknown) => { throw this.failure(error); });
    return {
      get: async (name) => {
        const { rows } = await query(`SELECT sealed FROM ${this.table} WHERE name = $1`, [name]);
        return rows[0] ? this.open(rows[0].sealed as Sealed) : undefined;
      },
      put: async (name, text) => {
        await query(`INSERT INTO ${this.table} (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()`, [name, await this.seal(text)]);
      },
      putIfAbsent: async (name, text) => {
        const { rowCount } = await query(`INSERT INTO ${this.table} (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [name, await this.seal(text)]);
        return rowCount === 1;
      },
      delete: async (name) => { await query(`DELETE FROM ${this.table} WHERE name = $1`, [name]); },
      namesEndingWith: async (suffix) => {
        const { rows } = await query(`SELECT name FROM ${this.table} WHERE right(name, length($1)) = $1`, [suffix]);
        return rows.map((r) => r.name as string);
      },
    };
  }

  private async seal(text: string): Promise<Sealed> {
    const [payload] = await this.codec.encode([{ metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.from(text, 'utf8') }]);
    return {
      metadata: Object.fromEntries(Object.entries(payload!.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(payload!.data ?? []).toString('base64'),
    };
  }

  private async open(sealed: Sealed): Promise<string> {
    const [payload] = await this.codec.decode([{
      metadata: Object.fromEntries(Object.entries(sealed.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      data: Buffer.from(sealed.data, 'base64'),
    }]);
    return Buffer.from(payload!.data ?? []).toString('utf8');
  }

  /** A database fault, named without the connection string (it may hold a password). */
  private failure(error: unknown): Error {
    const { message, code } = error as { message?: string; code?: string };
    return new Error(`the credential store at ${this.where} failed: ${code ? `${code} ` : ''}${message ?? String(error)}`);
  }
}

/** An entry as stored: the codec's payload, its metadata and data in base64. */
interface Sealed {
  metadata: Record<string, string>;
  data: string;
}
