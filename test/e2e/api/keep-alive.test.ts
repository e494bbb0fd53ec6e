import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { sharedFixture } from '../../support/fixtures.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * A client under load: it sends each request on its kept-alive connection after its event loop
 * was busy for a while, so its own idle timer (3 s for fetch against Node's default 5 s) never
 * fired. Runs in a worker thread so that the busy loop stalls the client, not the API.
 */
const busyClient = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const results = [];
  for (const idleMs of workerData.idles) {
    await (await fetch(workerData.url)).text();
    await new Promise((resolve) => setTimeout(resolve, idleMs * 0.4));
    const until = Date.now() + idleMs * 0.6;
    while (Date.now() < until) { /* the event loop is busy elsewhere */ }
    try {
      const response = await fetch(workerData.url);
      await response.text();
      results.push({ idleMs, status: response.status });
    } catch (error) {
      results.push({ idleMs, error: String(error.cause ?? error) });
    }
  }
  parentPort.postMessage(results);
})();
`;

describe('the API over kept-alive connections', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });

  it('answers every sequential request, also one sent on a connection idle past the advertised keep-alive timeout', async () => {
    const worker = new Worker(busyClient, { eval: true, workerData: { url: `${h.api}/healthz`, idles: [1_000, 4_900, 5_100, 6_000] } });
    const results = await new Promise<unknown[]>((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
    await worker.terminate();
    assert.deepEqual(results, [1_000, 4_900, 5_100, 6_000].map((idleMs) => ({ idleMs, status: 200 })));
  });

  it('tells clients a keep-alive timeout shorter than the one it closes connections at', async () => {
    const response = await fetch(`${h.api}/healthz`);
    await response.text();
    assert.equal(response.headers.get('keep-alive'), 'timeout=5');
  });
});
