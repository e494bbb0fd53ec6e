import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from '../../src/temporal/dev-server.js';
import { freePort } from '../../src/sandbox/fleet.js';
import { ensureDebianPackage } from './packages.js';
import { spawnManaged, stopManaged } from './processes.js';

export interface TestCaddy {
  /** Its admin API, `127.0.0.1:<port>`. */
  admin: string;
  /** Where it listens for requests, proxied to the upstreams. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Debian's Caddy on loopback: one reverse_proxy (`"@id": routeId`) in front of `upstreams`
 * (`address:port`), its admin API on a port of its own. Undefined when Caddy (or jq and curl,
 * which deploy/traffic/caddy-upstream needs) is not installed and we are not root to install it.
 */
export async function startCaddy(routeId: string, upstreams: string[]): Promise<TestCaddy | undefined> {
  const binary = ensureDebianPackage('caddy', '/usr/bin/caddy');
  // deploy/traffic/caddy-upstream, which the tests run, needs them.
  if (!binary || !ensureDebianPackage('jq', '/usr/bin/jq') || !ensureDebianPackage('curl', '/usr/bin/curl')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'slipway-caddy-'));
  const [adminPort, port] = [await freePort('127.0.0.1'), await freePort('127.0.0.1')];
  writeFileSync(join(dir, 'caddy.json'), JSON.stringify({
    admin: { listen: `127.0.0.1:${adminPort}` },
    storage: { module: 'file_system', root: dir },
    apps: {
      http: {
        servers: {
          shop: {
            listen: [`127.0.0.1:${port}`],
            automatic_https: { disable: true },
            routes: [{ handle: [{ '@id': routeId, handler: 'reverse_proxy', upstreams: upstreams.map((dial) => ({ dial })) }] }],
          },
        },
      },
    },
  }));
  const child = spawnManaged(binary, ['run', '--config', join(dir, 'caddy.json')], { stdio: 'ignore', env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } });
  await waitForPort('127.0.0.1', port, 10_000);
  return { admin: `127.0.0.1:${adminPort}`, url: `http://127.0.0.1:${port}`, stop: () => stopManaged(child) };
}
