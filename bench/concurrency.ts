/**
 * 100 concurrent deployments on one worker (SPEC §6): 100 environments of two targets each,
 * deployed at once through the HTTP API, with a fast fake runtime (1 s host steps). Reports
 * the latency of `POST /v1/deployments`, for the first 100 and for another 100 sent while
 * those run (queued behind them), and how long until all 200 have finished.
 *
 *   npm run bench:concurrency
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Worker } from '@temporalio/worker';
import { createApi } from '../src/api/app.js';
import { parseConfig } from '../src/config/load.js';
import { stopAllFixtures } from '../test/support/fixtures.js';
import { testTemporal } from '../test/support/temporal.js';
import { fakeActivities } from '../test/support/fake-activities.js';

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
  const worker = await Worker.create({
    connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue, workflowBundle: temporal.workflowBundle,
    activities: fakeActivities(1_000), maxConcurrentActivityTaskExecutions: 1_000, shutdownGraceTime: '1s',
  });
  const running = worker.run();
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
  for (const id of ids) {
    for (;;) {
      const run = await (await fetch(`${api}/v1/deployments/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { status: string };
      if (['succeeded', 'failed', 'rolled_back', 'aborted'].includes(run.status)) {
        if (run.status !== 'succeeded') throw new Error(`${id} ended ${run.status}`);
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
  server.close();
  worker.shutdown();
  await running;
} finally {
  await stopAllFixtures();
}
process.exit(0);
