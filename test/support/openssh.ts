import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from '../../src/temporal/dev-server.js';
import { spawnManaged, stopManaged } from './processes.js';
import { createFleetLayout, fakeHostEnv, stopFakeApps, type FleetHost, type FleetLayout } from '../../src/sandbox/fleet.js';

/**
 * Fake hosts served by real OpenSSH: one `sshd -D -e -f <cfg>` per host on 127.0.0.N, each
 * with its own state directory and fake tools on its PATH (through `SetEnv`).
 */
export interface OpenSshFleet extends FleetLayout {
  /** With `authorizedKeysFile`, the host reads the keys it accepts from there instead of `~/.ssh/authorized_keys`. */
  restart(host: FleetHost, options?: { authorizedKeysFile?: string }): Promise<void>;
  /** The login user's home on a host (each host has its own, with its own `~/.ssh/authorized_keys`). */
  homeOf(host: FleetHost): string;
  stopHost(host: FleetHost): Promise<void>;
  /** Gives the host a new host key (as a reinstall or an attacker would) and restarts it; the returned function puts the old one back. */
  changeHostKey(host: FleetHost): Promise<() => Promise<void>>;
  stop(): Promise<void>;
}

const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd'].find(existsSync);

/** Installs OpenSSH from Debian when missing and we are root; otherwise says why not. */
export function ensureOpenSsh(): string | undefined {
  if (SSHD) return undefined;
  if (process.getuid?.() !== 0) return 'OpenSSH server is not installed and we are not root to install it';
  execFileSync('apt-get', ['install', '-y', '-qq', 'openssh-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return undefined;
}

/**
 * `tools: 'real'`: the hosts run the machine's own docker and systemctl instead of the fake
 * ones, with `env` added to every command's environment (the real tier's DOCKER_HOST).
 */
export async function startOpenSshFleet(names: string[], firstOctet: number, options: { tools?: 'fake' | 'real'; env?: Record<string, string> } = {}): Promise<OpenSshFleet> {
  const sshd = ['/usr/sbin/sshd', '/usr/bin/sshd'].find(existsSync);
  if (!sshd) throw new Error('sshd not found');
  if (process.getuid?.() === 0) execFileSync('install', ['-d', '-m', '0755', '/run/sshd']);
  const layout = await createFleetLayout({
    dir: mkdtempSync(join(tmpdir(), 'slipway-fleet-')), names, firstOctet, user: userInfo().username,
    hostKey: (path) => {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path]);
      return { private: readFileSync(path, 'utf8'), public: readFileSync(`${path}.pub`, 'utf8').trim() };
    },
  });
  const processes = new Map<string, ChildProcess>();
  const homeOf = (host: FleetHost) => join(host.stateDir, 'home');
  for (const host of layout.hosts) {
    mkdirSync(join(homeOf(host), '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(join(homeOf(host), '.ssh', 'authorized_keys'), `${layout.clientKey.public}\n`, { mode: 0o600 });
  }

  const hostEnv = (host: FleetHost) => (options.tools === 'real'
    ? { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin', ...options.env }
    : { ...fakeHostEnv(host), ...options.env });
  const start = async (host: FleetHost, restartOptions: { authorizedKeysFile?: string } = {}) => {
    const keyPath = join(host.stateDir, 'ssh_host_ed25519_key');
    // SHLVL=1: bash sources ~/.bashrc for commands run by sshd only at shell level 1, and the
    // tester's own rc file (pyenv, nvm…) would add half a second to every step and change PATH.
    // HOME: every host has its own home, so its own authorized_keys and docker logins.
    const env = Object.entries({ ...hostEnv(host), SHLVL: '1', HOME: homeOf(host) }).map(([k, v]) => `"${k}=${v}"`).join(' ');
    const configPath = join(host.stateDir, 'sshd_config');
    writeFileSync(configPath, [
      `ListenAddress ${host.address}:${host.port}`,
      `HostKey ${keyPath}`,
      `PidFile ${join(host.stateDir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${restartOptions.authorizedKeysFile ?? join(homeOf(host), '.ssh', 'authorized_keys')}`,
      'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes',
      'StrictModes no', 'UsePAM no', 'PermitRootLogin prohibit-password', 'LogLevel ERROR',
      `SetEnv ${env}`,
      '',
    ].join('\n'));
    const child = spawnManaged(sshd, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    processes.set(host.name, child);
    await waitForPort(host.address, host.port, 10_000).catch((error: Error) => {
      throw new Error(`${error.message}; sshd said: ${stderr}`);
    });
  };
  const stopHost = async (host: FleetHost) => {
    const child = processes.get(host.name);
    processes.delete(host.name);
    if (child) await stopManaged(child);
  };

  for (const host of layout.hosts) await start(host);
  return {
    ...layout,
    restart: async (host, options) => { await stopHost(host); await start(host, options); },
    homeOf,
    stopHost,
    changeHostKey: async (host) => {
      const key = join(host.stateDir, 'ssh_host_ed25519_key');
      const kept = readFileSync(key);
      rmSync(key);
      rmSync(`${key}.pub`, { force: true });
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', key]);
      await stopHost(host);
      await start(host);
      return async () => {
        writeFileSync(key, kept, { mode: 0o600 });
        await stopHost(host);
        await start(host);
      };
    },
    stop: async () => {
      for (const host of layout.hosts) await stopHost(host);
      stopFakeApps(layout);
    },
  };
}
