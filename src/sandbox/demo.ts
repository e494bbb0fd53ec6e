import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import type { SlipwayConfig } from '../config/schema.js';
import { createFleetLayout, stopFakeApps, type FleetLayout } from './fleet.js';
import { startSandboxSshHost, type SandboxSshHost } from './ssh-server.js';

/**
 * Demo mode (no config at all): three sandbox hosts on 127.0.0.61-63 reachable over SSH, and
 * a sample service `demo` built from a git checkout and run as a (fake) systemd unit whose
 * health endpoint reports the commit it runs. Its config is written next to the state, so
 * it doubles as an example.
 */
export interface Demo {
  config: SlipwayConfig;
  configPath: string;
  token: string;
  layout: FleetLayout;
  stop(): Promise<void>;
}

export async function startDemo(home: string): Promise<Demo> {
  const dir = join(home, 'demo');
  mkdirSync(dir, { recursive: true });
  // An admin token, and one that may only read (the console shows what it cannot press, and why).
  const tokenIn = (name: string) => {
    const file = join(dir, name);
    if (!existsSync(file)) writeFileSync(file, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
    return readFileSync(file, 'utf8').trim();
  };
  const token = tokenIn('token');
  const readToken = tokenIn('read-token');

  const layout = await createFleetLayout({ dir: join(dir, 'fleet'), names: ['demo-1', 'demo-2', 'demo-3'], firstOctet: 61, user: userInfo().username });
  const hosts: SandboxSshHost[] = [];
  for (const host of layout.hosts) {
    mkdirSync(join(host.stateDir, 'srv', 'demo'), { recursive: true });
    hosts.push(await startSandboxSshHost(host, layout.clientKey.public));
  }

  const configText = `# Written by \`npm start\` in demo mode: the sandbox fleet and its sample service.
ssh:
  privateKey: \${file:${join(layout.dir, 'id_ed25519')}}
  knownHosts: ${layout.knownHostsPath}
  retryFor: 10s
api:
  tokens:
    - { name: demo, sha256: "${createHash('sha256').update(token).digest('hex')}", scopes: [admin] }
    - { name: viewer, sha256: "${createHash('sha256').update(readToken).digest('hex')}", scopes: [read] }
services:
  demo:
    runtime:
      kind: systemd
      dir: ${layout.dir}/hosts/{name}/srv/demo
      unit: demo.service
      build: ["git checkout --force {sha}", "npm ci", "npm run build"]
    health:
      timeout: 10s
      interval: 500ms
      checks:
        - http: { url: "http://{host}:3100/healthz", bodyContains: "{sha}" }
    environments:
      sandbox:
        targets:
${layout.hosts.map((h) => `          - { name: ${h.name}, address: ${h.address}, port: ${h.port}, user: ${h.user} }`).join('\n')}
      # The same hosts, with an approval after the canary.
      gated:
        rollout: { canary: 1, batchSize: 2, approval: true }
        targets:
${layout.hosts.map((h) => `          - { name: ${h.name}, address: ${h.address}, port: ${h.port}, user: ${h.user} }`).join('\n')}
`;
  const configPath = join(dir, 'slipway.yaml');
  writeFileSync(configPath, configText);
  return {
    config: parseConfig(configText, { source: configPath, baseDir: dir }),
    configPath,
    token,
    layout,
    async stop() {
      for (const host of hosts) await host.close();
      stopFakeApps(layout);
    },
  };
}
