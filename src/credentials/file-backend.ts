import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkPersistentStore } from './persistence.js';
import type { CredentialBackend, CredentialTransaction } from './store.js';

/** A new file (EEXIST when there is one), owner-only, its content on disk before this returns. */
function createFlushed(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The store as a directory (0700), one file per entry (0600). Files are replaced by rename, so
 * a reader sees an entry's old value or its new one, never half. A transaction is its changes
 * one after the other, each whole, undone if it throws; another worker may see a part of it
 * meanwhile. Several machines need shared storage, or the PostgreSQL backend.
 */
export class FileCredentialBackend implements CredentialBackend {
  constructor(readonly dir: string) {}

  get where(): string {
    return this.dir;
  }

  async get(name: string): Promise<string | undefined> {
    const path = join(this.dir, name);
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  }

  /** Undone on a throw, entry by entry (not across a crash: each entry stays whole, that is all). */
  async transaction<T>(change: (tx: CredentialTransaction) => Promise<T>): Promise<T> {
    const previous = new Map<string, string | undefined>();
    const remember = async (name: string) => { if (!previous.has(name)) previous.set(name, await this.get(name)); };
    try {
      return await change({
        get: (name) => this.get(name),
        put: async (name, text) => {
          await remember(name);
          this.writeFile(join(this.dir, name), text);
        },
        putIfAbsent: async (name, text) => {
          const path = join(this.dir, name);
          this.ensureDir(dirname(path));
          try {
            createFlushed(path, text);
            if (!previous.has(name)) previous.set(name, undefined);
            return true;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
            throw error;
          }
        },
        delete: async (name) => {
          await remember(name);
          rmSync(join(this.dir, name), { force: true });
        },
        namesEndingWith: async (suffix) => ['ssh', 'registries', 'staged', 'locks'].flatMap((sub) => {
          const dir = join(this.dir, sub);
          return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(suffix)).map((f) => `${sub}/${f}`) : [];
        }),
      });
    } catch (error) {
      for (const [name, text] of previous) {
        if (text === undefined) rmSync(join(this.dir, name), { force: true });
        else this.writeFile(join(this.dir, name), text);
      }
      throw error;
    }
  }

  async persistenceProblem(): Promise<string | undefined> {
    return checkPersistentStore(this.dir);
  }

  async close(): Promise<void> {}

  private ensureDir(dir: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Written to a temporary file of its own (workers on shared storage may even share a pid,
   * one per container), flushed to disk, renamed over the entry, and the rename flushed too:
   * after a crash the entry holds the old credential or the new one, whole.
   */
  private writeFile(path: string, text: string): void {
    this.ensureDir(dirname(path));
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    createFlushed(tmp, text);
    renameSync(tmp, path);
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}
