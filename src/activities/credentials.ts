import ssh2 from 'ssh2';
import { loginCheckCommand } from '../commands/authorized-keys.js';
import { dockerLoginCommand } from '../commands/docker.js';
import { own, type SlipwayConfig } from '../config/schema.js';
import { parseRegistryCredential, type CredentialStore, type RegistryCredential } from '../credentials/store.js';
import { FailureType } from '../domain/failures.js';
import type { HostRef } from '../domain/plan.js';
import { generateEd25519KeyPair } from '../ssh/keygen.js';
import { hidingSecrets, permanentFailure } from './failure.js';
import type { HostRunner } from '../ssh/runner.js';

/** A secret a GitHub step sets without it passing through history: named, then read on the worker. */
export type StoredSecret =
  | { kind: 'new-ssh-key'; rotationId: string }
  | { kind: 'old-ssh-key'; host: HostRef; rotationId: string }
  | { kind: 'old-registry-token'; registry: string; rotationId: string };

export interface CredentialDeps {
  config: SlipwayConfig;
  store: CredentialStore | undefined;
  runner: HostRunner;
}

/** `ssh-ed25519 AAAA…` of a private key (the config's may have a passphrase). */
export function publicKeyOf(privateKey: string, passphrase?: string): string {
  const parsed = ssh2.utils.parseKey(privateKey, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw permanentFailure(FailureType.InvalidInput, 'the SSH private key in use cannot be read');
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}

/** Reads credentials for rotations: the staged new key, and what Slipway used before a switch. */
export class RotatedCredentials {
  constructor(private readonly deps: CredentialDeps) {}

  get store(): CredentialStore {
    if (!this.deps.store) throw permanentFailure(FailureType.InvalidInput, 'credentialStore is not configured: rotated credentials need a place to live');
    return this.deps.store;
  }

  async newSshKey(rotationId: string): Promise<string> {
    const key = await this.store.staged(rotationId);
    if (key === undefined) throw permanentFailure(FailureType.InvalidInput, `the new key of ${rotationId} is not in ${this.store.where}: does every worker see the same credentialStore?`);
    return key;
  }

  /** The key Slipway logged in to `host` with before the rotation switched it (the config's, if none was stored). */
  async oldSshKey(host: HostRef, rotationId: string): Promise<{ privateKey: string; passphrase?: string | undefined }> {
    const before = await this.store.before({ kind: 'ssh', ...host }, rotationId);
    if (before === undefined) return this.deps.runner.keyFor(host);
    return before === null ? { privateKey: this.deps.config.ssh.privateKey, passphrase: this.deps.config.ssh.passphrase } : { privateKey: before };
  }

  /** The registry credential Slipway had before the rotation switched it. */
  async oldRegistryCredential(registry: string, rotationId: string): Promise<RegistryCredential> {
    const before = await this.store.before({ kind: 'registry', registry }, rotationId);
    if (typeof before === 'string') return parseRegistryCredential(before, `the ${registry} snapshot of ${rotationId}`);
    const current = before === undefined ? await this.store.registryCredential(registry) : undefined;
    const configured = own(this.deps.config.registries, registry);
    const credential = current ?? (configured?.username && configured.token ? { username: configured.username, token: configured.token } : undefined);
    if (!credential) throw permanentFailure(FailureType.InvalidInput, `Slipway has no credential for ${registry} to go back to`);
    return credential;
  }

  async secret(source: StoredSecret): Promise<string> {
    switch (source.kind) {
      case 'new-ssh-key': return this.newSshKey(source.rotationId);
      case 'old-ssh-key': return (await this.oldSshKey(source.host, source.rotationId)).privateKey;
      case 'old-registry-token': return (await this.oldRegistryCredential(source.registry, source.rotationId)).token;
    }
  }
}

/** The steps of `ssh-key` and `registry-token` rotations that touch the credential store (and log in with it). */
export function credentialActivities({ runner, store, rotated }: { runner: HostRunner; store: CredentialStore | undefined; rotated: RotatedCredentials }) {
  const dockerLogin = (host: HostRef, registry: string, { username, token }: RegistryCredential) =>
    hidingSecrets([token], () => runner.withSession(host, (session, signal) => runner.run(session, dockerLoginCommand(registry, username, token), signal)));
  const sshEntry = (host: HostRef) => ({ kind: 'ssh' as const, address: host.address, port: host.port, user: host.user });
  return {
    /** The rotation's new key pair, made once (a retry gets the same); only its public half leaves the worker. */
    async stageSshKey(rotationId: string): Promise<{ publicKey: string }> {
      const privateKey = await rotated.store.stage(rotationId, () => generateEd25519KeyPair(`slipway-${new Date().toISOString().slice(0, 10)}`).private);
      return { publicKey: publicKeyOf(privateKey) };
    },

    /**
     * Before a rotation that changes Slipway's own credentials starts: the store they go to
     * must outlive this worker, or the hosts would be left with a key nobody has.
     */
    async checkCredentialStore(): Promise<void> {
      const problem = await rotated.store.persistenceProblem();
      if (problem) throw permanentFailure(FailureType.CredentialStoreNotPersistent, problem);
    },

    /** One ssh-key rotation at a time per login: the logins of `hosts` are this rotation's until it ends. */
    async lockSshLogins(hosts: HostRef[], rotationId: string): Promise<void> {
      const taken = await rotated.store.lockLogins(hosts, rotationId);
      if (taken) {
        throw permanentFailure(FailureType.LoginLocked, `an ssh-key rotation of a login of these hosts is under way (${taken.holder}): one at a time per login; if that rotation is gone, remove the entry ${taken.entry}`);
      }
    },

    async unlockSshLogins(hosts: HostRef[], rotationId: string): Promise<void> {
      await rotated.store.unlockLogins(hosts, rotationId);
    },

    /** The public half of the key Slipway logs in to `host` with now. */
    async sshPublicKeyInUse(host: HostRef): Promise<{ publicKey: string }> {
      const { privateKey, passphrase } = await runner.keyFor(host);
      return { publicKey: publicKeyOf(privateKey, passphrase) };
    },

    /** Logs in to `host` with the staged key: the switch waits until this worked on every host. */
    async verifySshLogin(host: HostRef, rotationId: string): Promise<void> {
      const privateKey = await rotated.newSshKey(rotationId);
      await runner.withSession(host, (session, signal) => runner.run(session, loginCheckCommand(), signal), { privateKey });
    },

    /** Slipway uses the staged key for these hosts from now on; what each used before is kept for a compensation. */
    async switchSshKey(hosts: HostRef[], rotationId: string): Promise<void> {
      const privateKey = await rotated.newSshKey(rotationId);
      await rotated.store.switch(hosts.map((host) => ({ entry: sshEntry(host), text: privateKey })), rotationId);
    },

    async restoreSshKey(hosts: HostRef[], rotationId: string): Promise<void> {
      await rotated.store.restore(hosts.map(sshEntry), rotationId);
    },

    /** Slipway's own registry credential becomes the new token (registry API calls use it from now on). */
    async switchRegistryCredential(registry: string, username: string, token: string, rotationId: string): Promise<void> {
      await rotated.store.switch([{ entry: { kind: 'registry', registry }, text: JSON.stringify({ username, token }) }], rotationId);
    },

    async restoreRegistryCredential(registry: string, rotationId: string): Promise<void> {
      await rotated.store.restore([{ kind: 'registry', registry }], rotationId);
    },

    /** The rotation has ended: its snapshots and staged key are removed from the store. */
    async forgetRotation(rotationId: string): Promise<void> {
      await store?.forget(rotationId);
    },

    /** A rotation ended without finishing (terminated): its locks and staged key go; the answer says what went and what stays. */
    async abandonRotation(rotationId: string): Promise<string | undefined> {
      const { removed, kept } = (await store?.abandon(rotationId)) ?? { removed: [], kept: [] };
      const parts = [
        ...(removed.length ? [`removed from the credential store: ${removed.join(', ')}`] : []),
        ...(kept.length ? [`kept for a fix by hand (the credentials from before it; remove them once done): ${kept.join(', ')}`] : []),
      ];
      return parts.length ? parts.join('; ') : undefined;
    },

    async registryLogin(host: HostRef, registry: string, username: string, token: string): Promise<void> {
      await dockerLogin(host, registry, { username, token });
    },

    /** A compensation: the host logs in again with the credential Slipway had before the rotation. */
    async registryLoginAsBefore(host: HostRef, registry: string, rotationId: string): Promise<void> {
      await dockerLogin(host, registry, await rotated.oldRegistryCredential(registry, rotationId));
    },
  };
}
