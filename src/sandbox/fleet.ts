import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateEd25519KeyPair, type KeyPair } from '../ssh/keygen.js';

/**
 * A sandbox fleet: fake hosts on 127.0.0.N, each with its own state directory and the fake
 * `docker`/`systemctl`/`git`/`npm` of `fakehost/` on its PATH. Demo mode serves them with
 * ssh2's server; the tests serve the same layout with real OpenSSH.
 */
export const FAKE_BIN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fakehost');

export interface FleetHost {
  name: string;
  address: string;
  port: number;
  user: string;
  /** Where the fake tools record calls and read injected faults. */
  stateDir: string;
  hostKey: KeyPair;
}

export interface FleetLayout {
  dir: string;
  hosts: FleetHost[];
  clientKey: { private: string; public: string };
  knownHostsPath: string;
  authorizedKeysPath: string;
}

export interface HostCall {
  tool: string;
  args: string[];
  step: string;
  cwd: string;
  env: Record<string, string>;
  /** When the call started (ms since the epoch). */
  at: number;
}

export async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The environment every command on a fake host runs with. */
export function fakeHostEnv(host: FleetHost): Record<string, string> {
  return {
    PATH: `${FAKE_BIN_DIR}:${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    SLIPWAY_HOST_STATE: host.stateDir,
    SLIPWAY_HOST_ADDRESS: host.address,
    SLIPWAY_HOST_NAME: host.name,
    SLIPWAY_FLEET_OWNER: String(process.pid),
  };
}

export async function createFleetLayout(options: {
  dir: string; names: string[]; firstOctet: number; user: string;
  /** How host keys are made (the OpenSSH fleet has ssh-keygen make its own). */
  hostKey?: (path: string) => KeyPair;
}): Promise<FleetLayout> {
  mkdirSync(options.dir, { recursive: true });
  const clientKey = generateEd25519KeyPair('slipway-sandbox');
  const hosts: FleetHost[] = [];
  for (const [i, name] of options.names.entries()) {
    const address = `127.0.0.${options.firstOctet + i}`;
    const stateDir = join(options.dir, 'hosts', name);
    mkdirSync(stateDir, { recursive: true });
    const hostKey = options.hostKey ? options.hostKey(join(stateDir, 'ssh_host_ed25519_key')) : generateEd25519KeyPair();
    hosts.push({ name, address, port: await freePort(address), user: options.user, stateDir, hostKey });
  }
  const knownHostsPath = join(options.dir, 'known_hosts');
  writeFileSync(knownHostsPath, hosts.map((h) => `[${h.address}]:${h.port} ${h.hostKey.public}\n`).join(''));
  const authorizedKeysPath = join(options.dir, 'authorized_keys');
  writeFileSync(authorizedKeysPath, `${clientKey.public}\n`, { mode: 0o600 });
  writeFileSync(join(options.dir, 'id_ed25519'), withNewline(clientKey.private), { mode: 0o600 });
  return { dir: options.dir, hosts, clientKey, knownHostsPath, authorizedKeysPath };
}

/** What the fake tools on a host were asked to do, in order. */
export function hostCalls(host: FleetHost): HostCall[] {
  const file = join(host.stateDir, 'calls.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as HostCall);
}

/** Stops the fake apps the hosts started. */
export function stopFakeApps(layout: FleetLayout): void {
  for (const host of layout.hosts) {
    if (!existsSync(host.stateDir)) continue;
    for (const file of readdirSync(host.stateDir).filter((f) => f.endsWith('.pid'))) {
      try {
        process.kill(Number(readFileSync(join(host.stateDir, file), 'utf8')));
      } catch {
        // already gone
      }
    }
  }
}

/** OpenSSH refuses a key file whose last line has no newline. */
export function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
