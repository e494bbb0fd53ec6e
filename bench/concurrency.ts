/**
 * 100 concurrent deployments on one worker (docs/benchmarks.md): 100 environments of two targets each,
 * deployed at once through the HTTP API, with a fast fake runtime (1 s host steps). Reports
 * the latency of `POST /v1/deployments`, for the first 100 and for another 100 sent while
 * those run (queued behind them), and how long until all 200 have finished. The last line,
 * for a script to check, gives the latency of the POSTs sent while the 100 run, and how many
 * of the 200 runs succeeded:
 *
 *   bench: concurrency=100 post_p50_ms=9 post_p99_ms=41 post_max_ms=60 ok=200
 *
 *   npm run bench:concurrency
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createApi } from '../src/api/app.js';
import { parseConfig } from '../src/config/load.js';
import { stopAllFixtures } from '../test/support/fixtures.js';
import { testTemporal } from '../test/support/temporal.js';

const ENVIRONMENTS = 100;
const TOKEN = 'bench-token';
const environments = Array.from({ length: ENVIRONMENTS }, (_, i) => `      e${i}: { targets: [ { name: a, address: 10.1.${i}.1 }, { name: b, address: 10.1.${i}.2 } ] }`).join('\n');
const config = parseConfig(`
ssh: { privateKey: unused, knownHosts: /dev/null }
api: { tokens: [ { name: bench, sha256: "${createHash('sha256').update(TOKEN).digest('hex')}", scopes: [admin] } ] }
services:
  bench:
    runtime: { kind: compose, dir: /srv/bench }
    environments:
${environments}
`, { env: {} });

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;

const temporal = await testTemporal();
try {
  const taskQueue = `bench-concurrency-${Date.now().toString(36)}`;
  // The worker runs apart, as in production: its workflow tasks do not share the API's event loop.
  const worker = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fake-worker.ts', import.meta.url)), temporal.address, temporal.namespace, taskQueue, '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    worker.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve(); });
    worker.once('exit', (code) => reject(new Error(`the worker exited with ${code}`)));
  });
  const app = createApi({ config, client: temporal.client, taskQueue, namespace: temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://localhost:8233' });
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const post = async (environment: string, sha: string) => {
    const started = performance.now();
    const response = await fetch(`${api}/v1/deployments`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'bench', environment, sha }),
    });
    const body = await response.json() as { id: string };
    if (response.status !== 202) throw new Error(`POST answered ${response.status}: ${JSON.stringify(body)}`);
    return { id: body.id, ms: performance.now() - started };
  };

  const t0 = Date.now();
  const first = await Promise.all(Array.from({ length: ENVIRONMENTS }, (_, i) => post(`e${i}`, 'aaaaaaa')));
  const second = [];
  for (let i = 0; i < ENVIRONMENTS; i++) second.push(await post(`e${i}`, 'bbbbbbb'));
  const ids = [...first, ...second].map((r) => r.id);
  let ok = 0;
  for (const id of ids) {
    for (;;) {
      const run = await (await fetch(`${api}/v1/deployments/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { status: string };
      if (['succeeded', 'failed', 'rolled_back', 'aborted'].includes(run.status)) {
        if (run.status === 'succeeded') ok++;
        else console.error(`${id} ended ${run.status}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const report = (label: string, values: number[]) => ({ [label]: { p50: Math.round(percentile(values, 50)), p99: Math.round(percentile(values, 99)), max: Math.round(Math.max(...values)) } });
  console.log(JSON.stringify({
    deployments: ids.length,
    ...report('postMsConcurrentBurst', first.map((r) => r.ms)),
    ...report('postMsWhileRunning', second.map((r) => r.ms)),
    allFinishedAfterMs: Date.now() - t0,
  }));
  const whileRunning = second.map((r) => r.ms);
  console.log(`bench: concurrency=${ENVIRONMENTS} post_p50_ms=${Math.round(percentile(whileRunning, 50))} post_p99_ms=${Math.round(percentile(whileRunning, 99))} post_max_ms=${Math.round(Math.max(...whileRunning))} ok=${ok}`);
  server.close();
  worker.kill('SIGTERM');
  await new Promise((resolve) => worker.once('exit', resolve));
} finally {
  await stopAllFixtures();
}
process.exit(0);
