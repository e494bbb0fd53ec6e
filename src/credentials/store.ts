import { z } from 'zod';

/**
 * Credentials Slipway rotated, preferred over the config's: the SSH key it uses per host and
 * user, and its token per registry. Every worker must see the same store: a worker that never
 * saw a rotated key would be locked out once the old key is removed from the hosts. The store
 * is a directory (one machine, or shared storage; `file-backend.ts`) or a PostgreSQL table
 * (any number of machines; `postgres-backend.ts`). Its entries, by name:
 *
 *   ssh/<user>@<address>:<port>       the private key (OpenSSH format)
 *   locks/<user>@<address>:<port>     the ssh-key rotation rotating that login now
 *   registries/<registry>.json        {"username", "token"}
 *   staged/<rotation>                 a new key between its generation and the switch
 *   <entry>.before-<rotation>         what an entry held before a rotation switched it
 *
 * A change of several entries (a switch of every host's key) is one transaction: a reader sees
 * the old credentials or the new ones, never a mix.
 */
export type CredentialEntry = { kind: 'ssh'; address: string; port: number; user: string } | { kind: 'registry'; registry: string };

const registryCredential = z.strictObject({ username: z.string().min(1), token: z.string().min(1) });
export type RegistryCredential = z.output<typeof registryCredential>;

/** What a backend does inside one transaction. */
export interface CredentialTransaction {
  get(name: string): Promise<string | undefined>;
  put(name: string, text: string): Promise<void>;
  /** False when the entry exists already (then it is left as it is). */
  putIfAbsent(name: string, text: string): Promise<boolean>;
  delete(name: string): Promise<void>;
  /** The names that end with `suffix`. */
  namesEndingWith(suffix: string): Promise<string[]>;
}

export interface CredentialBackend {
  /** Where the entries live, for messages: never with a password. */
  readonly where: string;
  get(name: string): Promise<string | undefined>;
  /** Runs `change` as one transaction: all of it or nothing, and nobody sees a part of it. */
  transaction<T>(change: (tx: CredentialTransaction) => Promise<T>): Promise<T>;
  /** Why the entries would not outlive this worker, if they would not. */
  persistenceProblem(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Written into a snapshot when the entry did not exist (the config's credential was in use). */
const ABSENT = 'slipway:absent\n';

type Login = { address: string; port: number; user: string };

const safeName = (name: string) => name.replace(/[^A-Za-z0-9_.:@-]/g, '_');
const loginName = (login: Login) => safeName(`${login.user}@${login.address}:${login.port}`);
const entryName = (entry: CredentialEntry) => (entry.kind === 'ssh' ? `ssh/${loginName(entry)}` : `registries/${safeName(entry.registry)}.json`);
const snapshotName = (entry: CredentialEntry, rotationId: string) => `${entryName(entry)}.before-${safeName(rotationId)}`;
const stagedName = (rotationId: string) => `staged/${safeName(rotationId)}`;
const lockName = (login: Login) => `locks/${loginName(login)}`;

export class CredentialStore {
  constructor(private readonly backend: CredentialBackend) {}

  get where(): string {
    return this.backend.where;
  }

  /** The SSH private key Slipway uses for this host and user, when a rotation set one. */
  sshKey(host: Login): Promise<string | undefined> {
    return this.backend.get(entryName({ kind: 'ssh', ...host }));
  }

  /** The registry credential a rotation set, when one did. */
  async registryCredential(registry: string): Promise<RegistryCredential | undefined> {
    const name = entryName({ kind: 'registry', registry });
    const text = await this.backend.get(name);
    return text === undefined ? undefined : parseRegistryCredential(text, `${this.where}: ${name}`);
  }

  read(entry: CredentialEntry): Promise<string | undefined> {
    return this.backend.get(entryName(entry));
  }

  /**
   * Sets the entries to their new values in one transaction, keeping what each held before, once
   * per rotation (a retried switch keeps the first snapshot).
   */
  async switch(changes: Array<{ entry: CredentialEntry; text: string }>, rotationId: string): Promise<void> {
    await this.backend.transaction(async (tx) => {
      for (const { entry, text } of changes) {
        await tx.putIfAbsent(snapshotName(entry, rotationId), (await tx.get(entryName(entry))) ?? ABSENT);
        await tx.put(entryName(entry), text);
      }
    });
  }

  /** What the entry held before the rotation switched it: null when it did not exist, undefined without a snapshot. */
  async before(entry: CredentialEntry, rotationId: string): Promise<string | null | undefined> {
    const text = await this.backend.get(snapshotName(entry, rotationId));
    return text === ABSENT ? null : text;
  }

  /** Puts the entries back as their snapshots have them (a compensation), in one transaction; no snapshot, nothing to undo. */
  async restore(entries: CredentialEntry[], rotationId: string): Promise<void> {
    await this.backend.transaction(async (tx) => {
      for (const entry of entries) {
        const before = await tx.get(snapshotName(entry, rotationId));
        if (before === undefined) continue;
        if (before === ABSENT) await tx.delete(entryName(entry));
        else await tx.put(entryName(entry), before);
      }
    });
  }

  /** A rotation has ended: its snapshots and staged key go (they hold old or unused secrets). */
  async forget(rotationId: string): Promise<void> {
    await this.backend.transaction(async (tx) => {
      for (const name of await tx.namesEndingWith(`.before-${safeName(rotationId)}`)) await tx.delete(name);
      await tx.delete(stagedName(rotationId));
    });
  }

  /**
   * Takes the rotation lock of each login for `rotationId`, all or none: an ssh-key rotation
   * of a host shared by two environments must not run twice at once. Answers the rotation that
   * holds one of them when it is another; taking a lock twice for the same rotation is fine.
   */
  async lockLogins(logins: Login[], rotationId: string): Promise<{ holder: string; entry: string } | undefined> {
    const refused = new Error('refused');
    let taken: { holder: string; entry: string } | undefined;
    try {
      await this.backend.transaction(async (tx) => {
        for (const login of logins) {
          if (await tx.putIfAbsent(lockName(login), rotationId)) continue;
          const holder = (await tx.get(lockName(login)))?.trim() ?? '';
          if (holder === rotationId) continue;
          taken = { holder, entry: `${this.where}: ${lockName(login)}` };
          throw refused;
        }
      });
    } catch (error) {
      if (error !== refused) throw error;
    }
    return taken;
  }

  /** Releases the locks `rotationId` holds (a lock of another rotation stays). */
  async unlockLogins(logins: Login[], rotationId: string): Promise<void> {
    await this.backend.transaction(async (tx) => {
      for (const login of logins) if ((await tx.get(lockName(login)))?.trim() === rotationId) await tx.delete(lockName(login));
    });
  }

  /**
   * What a rotation that ended without its own cleanup (terminated, or released by an admin)
   * left in the store: its login locks, on which every later ssh-key rotation of those logins
   * would fail, and its staged key go. Its snapshots stay: they hold the credentials from before
   * it, which a fix by hand may need. The answer names both (never a secret).
   */
  async abandon(rotationId: string): Promise<{ removed: string[]; kept: string[] }> {
    return this.backend.transaction(async (tx) => {
      const removed: string[] = [];
      for (const name of await tx.namesEndingWith('')) {
        if (!name.startsWith('locks/') || (await tx.get(name))?.trim() !== rotationId) continue;
        await tx.delete(name);
        removed.push(`the rotation lock of ${name.slice('locks/'.length)}`);
      }
      if ((await tx.get(stagedName(rotationId))) !== undefined) {
        await tx.delete(stagedName(rotationId));
        removed.push('its staged key');
      }
      return { removed, kept: await tx.namesEndingWith(`.before-${safeName(rotationId)}`) };
    });
  }

  /** The rotation's new secret, made by `make` on the first call and the same on every retry. */
  async stage(rotationId: string, make: () => string): Promise<string> {
    return this.backend.transaction(async (tx) => {
      const made = make();
      return (await tx.putIfAbsent(stagedName(rotationId), made)) ? made : (await tx.get(stagedName(rotationId)))!;
    });
  }

  staged(rotationId: string): Promise<string | undefined> {
    return this.backend.get(stagedName(rotationId));
  }

  persistenceProblem(): Promise<string | undefined> {
    return this.backend.persistenceProblem();
  }

  close(): Promise<void> {
    return this.backend.close();
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
