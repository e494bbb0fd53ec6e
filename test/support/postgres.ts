import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from '../../src/sandbox/fleet.js';
import { ensureDebianPackage } from './packages.js';
import { spawnManaged, stopManaged } from './processes.js';

export interface TestPostgres {
  /** postgres://slipway:<password>@127.0.0.1:<port>/slipway */
  url: string;
  stop(): Promise<void>;
}

/**
 * Debian's PostgreSQL, a cluster of its own in a temp dir on a free loopback port, with a
 * password-protected `slipway` user and database. Undefined (with the reason printed) where it
 * cannot run: PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
export async function startTestPostgres(): Promise<TestPostgres | undefined> {
  if (!ensureDebianPackage('postgresql', '/usr/bin/pg_lsclusters')) return undefined;
  const version = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))[0];
  const bin = (name: string) => `/usr/lib/postgresql/${version}/bin/${name}`;
  const asRoot = userInfo().uid === 0;
  const owner = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString()) : userInfo().uid;
  const as = (argv: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', ...argv]] as const : [argv[0]!, argv.slice(1)] as const);

  const dir = mkdtempSync(join(tmpdir(), 'slipway-postgres-'));
  chmodSync(dir, 0o755);
  const password = randomBytes(12).toString('hex');
  writeFileSync(join(dir, 'pw'), password, { mode: 0o600 });
  if (asRoot) {
    chownSync(dir, owner, owner);
    chownSync(join(dir, 'pw'), owner, owner);
  }
  const [initCmd, initArgs] = as([bin('initdb'), '-D', join(dir, 'data'), '-U', 'slipway', `--pwfile=${join(dir, 'pw')}`, '-A', 'scram-sha-256', '--no-sync']);
  execFileSync(initCmd, [...initArgs], { stdio: 'ignore' });
  const port = await freePort('127.0.0.1');
  const [cmd, args] = as([bin('postgres'), '-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']);
  const server = spawnManaged(cmd, [...args], { stdio: 'ignore' });
  const admin = `postgres://slipway:${password}@127.0.0.1:${port}/postgres`;
  for (let i = 0; ; i++) {
    const client = new pg.Client(admin);
    try {
      await client.connect();
      await client.query('CREATE DATABASE slipway');
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (i > 100 || server.exitCode !== null) throw new Error(`PostgreSQL did not start: ${(error as Error).message}`, { cause: error });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url: `postgres://slipway:${password}@127.0.0.1:${port}/slipway`, stop: () => stopManaged(server, 5_000) };
}
