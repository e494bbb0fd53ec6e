import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/sandbox/fleet.js';
import { waitForPort } from '../../src/temporal/dev-server.js';
import { spawnManaged, stopManaged } from './processes.js';

/** Debian's Prometheus on loopback, scraping the given targets every second. */
export interface TestPrometheus {
  url: string;
  stop(): Promise<void>;
}

export function ensurePrometheus(): void {
  if (existsSync('/usr/bin/prometheus')) return;
  if (process.getuid?.() !== 0) throw new Error('prometheus is not installed and we are not root to install it');
  execFileSync('apt-get', ['install', '-y', '-qq', 'prometheus'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export async function startTestPrometheus(targets: string[]): Promise<TestPrometheus> {
  ensurePrometheus();
  const dir = mkdtempSync(join(tmpdir(), 'slipway-prometheus-'));
  writeFileSync(join(dir, 'prometheus.yml'), `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: app
    static_configs: [ { targets: ${JSON.stringify(targets)} } ]
`);
  const port = await freePort('127.0.0.1');
  const child: ChildProcess = spawnManaged('/usr/bin/prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=error',
  ], { stdio: 'ignore' });
  await waitForPort('127.0.0.1', port, 30_000);
  return { url: `http://127.0.0.1:${port}`, stop: () => stopManaged(child) };
}
