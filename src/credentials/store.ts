import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/**
 * Credentials Slipway rotated, kept on the worker's disk and preferred over the config's:
 * the SSH key it uses per host and user, and its token per registry. Every worker must see
 * the same directory (one machine, or shared storage): a worker that never saw a rotated key
 * would be locked out once the old key is removed from the hosts.
 *
 *   <dir>/                                  0700
 *     ssh/<user>@<address>:<port>           the private key (OpenSSH format), 0600
 *     locks/<user>@<address>:<port>         the ssh-key rotation rotating that login now
 *     registries/<registry>.json            {"username", "token"}, 0600
 *     staged/<rotation>                     a new key between its generation and the switch
 *     …/<entry>.before-<rotation>           what an entry held before a rotation switched it
 *
 * Files are replaced by rename, so a reader sees the old credential or the new one, never half.
 */
export type CredentialEntry = { kind: 'ssh'; address: string; port: number; user: string } | { kind: 'registry'; registry: string };

const registryCredential = z.strictObject({ username: z.string().min(1), token: z.string().min(1) });
export type RegistryCredential = z.output<typeof registryCredential>;

/** Written into a snapshot when the entry did not exist (the config's credential was in use). */
const ABSENT = 'slipway:absent\n';

const safeName = (name: string) => name.replace(/[^A-Za-z0-9_.:@-]/g, '_');

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

type Login = { address: string; port: number; user: string };

export class CredentialStore {
  constructor(readonly dir: string) {}

  private path(entry: CredentialEntry): string {
    return entry.kind === 'ssh'
      ? join(this.dir, 'ssh', safeName(`${entry.user}@${entry.address}:${entry.port}`))
      : join(this.dir, 'registries', `${safeName(entry.registry)}.json`);
  }

  private snapshotPath(entry: CredentialEntry, rotationId: string): string {
    return `${this.path(entry)}.before-${safeName(rotationId)}`;
  }

  private stagedPath(rotationId: string): string {
    return join(this.dir, 'staged', safeName(rotationId));
  }

  /**
   * Written to a temporary file of its own (workers on shared storage may even share a pid,
   * one per container), flushed to disk, renamed over the entry, and the rename flushed too:
   * after a crash the entry holds the old credential or the new one, whole.
   */
  private writeFile(path: string, text: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
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

  private readFile(path: string): string | undefined {
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  }

  /** The SSH private key Slipway uses for this host and user, when a rotation set one. */
  sshKey(host: Login): string | undefined {
    return this.readFile(this.path({ kind: 'ssh', ...host }));
  }

  /** The registry credential a rotation set, when one did. */
  registryCredential(registry: string): RegistryCredential | undefined {
    const path = this.path({ kind: 'registry', registry });
    const text = this.readFile(path);
    return text === undefined ? undefined : parseRegistryCredential(text, path);
  }

  read(entry: CredentialEntry): string | undefined {
    return this.readFile(this.path(entry));
  }

  write(entry: CredentialEntry, text: string): void {
    this.writeFile(this.path(entry), text);
  }

  /** Keeps what the entry holds now, once per rotation, so a retried switch keeps the first. */
  snapshot(entry: CredentialEntry, rotationId: string): void {
    const path = this.snapshotPath(entry, rotationId);
    if (!existsSync(path)) this.writeFile(path, this.read(entry) ?? ABSENT);
  }

  /** What the entry held before the rotation switched it: null when it did not exist, undefined without a snapshot. */
  before(entry: CredentialEntry, rotationId: string): string | null | undefined {
    const text = this.readFile(this.snapshotPath(entry, rotationId));
    return text === ABSENT ? null : text;
  }

  /** Puts the entry back as the snapshot has it (a compensation); no snapshot, nothing to undo. */
  restore(entry: CredentialEntry, rotationId: string): void {
    const before = this.before(entry, rotationId);
    if (before === undefined) return;
    if (before === null) rmSync(this.path(entry), { force: true });
    else this.write(entry, before);
  }

  /** A rotation has ended: its snapshots and staged key go (they hold old or unused secrets). */
  forget(rotationId: string): void {
    const suffix = `.before-${safeName(rotationId)}`;
    for (const sub of ['ssh', 'registries']) {
      const dir = join(this.dir, sub);
      if (!existsSync(dir)) continue;
      for (const file of readdirSync(dir).filter((f) => f.endsWith(suffix))) rmSync(join(dir, file), { force: true });
    }
    rmSync(this.stagedPath(rotationId), { force: true });
  }

  /**
   * Takes the rotation lock of each login for `rotationId`, all or none: an ssh-key rotation
   * of a host shared by two environments must not run twice at once. Answers the rotation that
   * holds one of them when it is another; taking a lock twice for the same rotation is fine.
   */
  lockLogins(logins: Login[], rotationId: string): { holder: string; path: string } | undefined {
    mkdirSync(join(this.dir, 'locks'), { recursive: true, mode: 0o700 });
    const taken: string[] = [];
    for (const login of logins) {
      const path = this.lockPath(login);
      try {
        createFlushed(path, rotationId);
        taken.push(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = readFileSync(path, 'utf8').trim();
        if (holder === rotationId) continue;
        for (const mine of taken) rmSync(mine, { force: true });
        return { holder, path };
      }
    }
    return undefined;
  }

  /** Releases the locks `rotationId` holds (a lock of another rotation stays). */
  unlockLogins(logins: Login[], rotationId: string): void {
    for (const login of logins) {
      const path = this.lockPath(login);
      if (this.readFile(path)?.trim() === rotationId) rmSync(path, { force: true });
    }
  }

  private lockPath(login: Login): string {
    return join(this.dir, 'locks', safeName(`${login.user}@${login.address}:${login.port}`));
  }

  /** The rotation's new secret, made by `make` on the first call and the same on every retry. */
  stage(rotationId: string, make: () => string): string {
    const existing = this.staged(rotationId);
    if (existing !== undefined) return existing;
    const made = make();
    this.writeFile(this.stagedPath(rotationId), made);
    return made;
  }

  staged(rotationId: string): string | undefined {
    return this.readFile(this.stagedPath(rotationId));
  }
}

export function parseRegistryCredential(text: string, where: string): RegistryCredential {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not JSON: expected {"username", "token"}`);
  }
  const parsed = registryCredential.safeParse(json);
  if (!parsed.success) throw new Error(`${where}: expected {"username", "token"} (${parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')})`);
  return parsed.data;
}
