import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scrapeValue } from '../../../src/analysis/gates.js';
import { MAX_HEALTH_BODY, probeHttp } from '../../../src/health/checks.js';

/**
 * What the worker reads of a canary it probes: never more than it can hold, and never from
 * another address than the one the check names.
 */
describe('probing a service', function () {
  this.timeout(30_000);
  let server: Server;
  let base = '';
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/endless') {
        // A service that answers forever: 64 KiB at a time until the client stops reading.
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        const write = () => { while (res.write(chunk)); };
        res.on('drain', write);
        write();
        req.on('close', () => res.destroy());
        return;
      }
      if (req.url === '/metrics') {
        res.writeHead(302, { location: '/elsewhere' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('# TYPE app_errors_total counter\napp_errors_total 7\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => { server.closeAllConnections(); server.close(); });

  it('reads a health page up to its limit: a body that never ends fails the check at once, saying so', async () => {
    const started = Date.now();
    const result = await probeHttp({ url: `${base}/endless`, status: 200, bodyContains: 'ok' }, 20_000);
    assert.equal(result.ok, false);
    assert.match(result.evidence, new RegExp(`a body larger than ${MAX_HEALTH_BODY} bytes, without "ok"`));
    assert.ok(Date.now() - started < 10_000, 'it stopped reading, not at its timeout');
  });

  it('scrapes no more than its limit of metrics, and follows no redirect', async () => {
    await assert.rejects(scrapeValue(`${base}/endless`, 'app_errors_total'), /answered more than \d+ bytes of metrics/);
    await assert.rejects(scrapeValue(`${base}/metrics`, 'app_errors_total'), /answered 302/);
    assert.equal(await scrapeValue(`${base}/elsewhere`, 'app_errors_total'), 7);
  });
});
