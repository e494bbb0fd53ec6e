import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { evaluateGate, takeBaseline, type AnalysisGate } from '../../../src/analysis/gates.js';
import { freePort } from '../../../src/sandbox/fleet.js';
import { sharedFixture } from '../../support/fixtures.js';
import { startTestPrometheus, type TestPrometheus } from '../../support/prometheus.js';

/** Analysis gates against a real metrics endpoint and Debian's Prometheus scraping it. */
describe('analysis gates', function () {
  this.timeout(60_000);
  let app: Server;
  let target: string;
  let errors = 0;
  let prometheus: TestPrometheus;
  before(async () => {
    const port = await freePort('127.0.0.1');
    target = `127.0.0.1:${port}`;
    app = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`# TYPE http_errors_total counter\nhttp_errors_total{code="500",route="/a"} ${errors}\nhttp_errors_total{code="502",route="/b"} 1\n`);
    });
    await new Promise<void>((r) => app.listen(port, '127.0.0.1', r));
    prometheus = await sharedFixture('prometheus', () => startTestPrometheus([target]), (p) => p.stop());
  });
  after(() => app.close());

  async function eventually(gate: AnalysisGate, ok: boolean) {
    let verdict;
    for (let i = 0; i < 100; i++) {
      verdict = await evaluateGate(gate, undefined, Date.now());
      if (verdict.ok === ok && !/no data/.test(verdict.evidence)) return verdict;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.fail(`gate ${gate.name} never became ${ok ? 'green' : 'red'}: ${JSON.stringify(verdict)}`);
  }

  it('passes and fails a PromQL gate as the scraped counter moves', async () => {
    errors = 0;
    const gate: AnalysisGate = { name: 'error-count', prometheus: { url: prometheus.url, query: `sum(http_errors_total{instance="${target}",code="500"})` }, max: 0.5 };
    assert.match((await eventually(gate, true)).evidence, /= 0$/);
    errors = 5;
    const red = await eventually(gate, false);
    assert.match(red.evidence, /5 is above the maximum 0\.5/);
  });

  it('reports a bad query with Prometheus\'s own words, and no data as passing a max gate', async () => {
    const bad = await evaluateGate({ name: 'bad', prometheus: { url: prometheus.url, query: 'sum(' }, max: 1 }, undefined, Date.now());
    assert.equal(bad.ok, false);
    assert.match(bad.evidence, /Prometheus answered 400: .*parse error/);
    const none = await evaluateGate({ name: 'none', prometheus: { url: prometheus.url, query: 'absent_metric_total' }, max: 1 }, undefined, Date.now());
    assert.deepEqual([none.ok, none.evidence], [true, 'absent_metric_total: no data']);
    const needsData = await evaluateGate({ name: 'min', prometheus: { url: prometheus.url, query: 'absent_metric_total' }, min: 1 }, undefined, Date.now());
    assert.equal(needsData.ok, false);
  });

  it('scrapes the endpoint itself: no-increase, increase, and max on a rate', async () => {
    errors = 2;
    const scrape = { url: `http://${target}/metrics`, metric: 'http_errors_total{code="500"}' };
    const flat: AnalysisGate = { name: 'flat', scrape, expect: 'no-increase' };
    const baseline = await takeBaseline(flat, Date.now() - 10_000);
    assert.deepEqual((await evaluateGate(flat, baseline, Date.now())).ok, true);
    errors = 12;
    const moved = await evaluateGate(flat, baseline, Date.now());
    assert.equal(moved.ok, false);
    assert.match(moved.evidence, /increased by 10/);
    assert.equal((await evaluateGate({ name: 'up', scrape, expect: 'increase' }, baseline, Date.now())).ok, true);
    const rate = await evaluateGate({ name: 'rate', scrape: { ...scrape, rate: true }, max: 0.5 }, baseline, Date.now());
    assert.equal(rate.ok, false, 'ten errors in ten seconds is 1/s');
    assert.match(rate.evidence, /1\.0\d*\/s|0\.9\d*\/s/);
    const missing = await evaluateGate({ name: 'missing', scrape: { ...scrape, metric: 'nope_total' }, max: 1 }, undefined, Date.now());
    assert.match(missing.evidence, /has no series nope_total/);
  });
});
