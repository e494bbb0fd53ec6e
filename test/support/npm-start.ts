import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../src/sandbox/fleet.js';
import { ensureTemporalCli } from '../../src/temporal/cli.js';
import { spawnManaged, stopManaged } from './processes.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** `npm start` as the README runs it, with no config (demo mode), on ports of its own. */
export interface NpmStart {
  child: ChildProcess;
  home: string;
  api: string;
  port: number;
  temporalPort: number;
  /** The Temporal UI it printed. */
  uiUrl: string;
  /** The demo's admin token. */
  token: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startNpmStart(): Promise<NpmStart> {
  const home = mkdtempSync(join(tmpdir(), 'slipway-home-'));
  const port = await freePort('127.0.0.1');
  const temporalPort = await freePort('127.0.0.1');
  const env = {
    ...process.env, SLIPWAY_HOME: home, PORT: String(port), SLIPWAY_CONFIG: '', TEMPORAL_ADDRESS: '',
    SLIPWAY_TEMPORAL_CLI: ensureTemporalCli(),
    SLIPWAY_TEMPORAL_PORT: String(temporalPort), SLIPWAY_TEMPORAL_UI_PORT: String(await freePort('127.0.0.1')),
  };
  const child = spawnManaged('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
  for (let i = 0; !output.includes('Slipway is up'); i++) {
    if (child.exitCode !== null || i > 1200) {
      await stopManaged(child, 1_000);
      throw new Error(`npm start did not come up:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child, home, port, temporalPort, api: `http://127.0.0.1:${port}`,
    uiUrl: /Temporal UI: (\S+)/.exec(output)![1]!,
    token: readFileSync(join(home, 'demo', 'token'), 'utf8').trim(),
    output: () => output,
    stop: () => stopManaged(child, 5_000),
  };
}
