// The fake service a fake host "runs": answers every path with what is deployed, or 503 when
// the host's state dir has an `unhealthy` file or the deployed version is listed in a
// `bad-versions` file (the fleet's, for every host, or the host's own).
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const [address, port, stateFile, hostState] = process.argv.slice(2);
const badVersionFiles = [path.join(hostState, '..', '..', 'bad-versions'), path.join(hostState, 'bad-versions')];

// Ends with the process that made the fleet (a test run, `npm start`), even one that was
// killed before it could stop its apps, so that no stale app holds the port of the next one.
const owner = Number(process.env.SLIPWAY_FLEET_OWNER);
if (owner) {
  setInterval(() => {
    try { process.kill(owner, 0); } catch { process.exit(0); }
  }, 500).unref();
}

const server = http.createServer((req, res) => {
  // Being replaced (`docker compose up`, with the host's `down-during-up`): nothing answers.
  if (fs.existsSync(path.join(hostState, 'replacing'))) { req.socket.destroy(); return; }
  if (req.url === '/metrics') {
    // The host's `metrics` file, as a Prometheus text endpoint (for analysis gates).
    const file = path.join(hostState, 'metrics');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# TYPE app_errors_total counter\napp_errors_total 0\n');
    return;
  }
  let body;
  try { body = JSON.parse(fs.readFileSync(stateFile, 'utf8')); } catch { body = {}; }
  const deployed = JSON.stringify(body);
  const bad = badVersionFiles.some((file) => fs.existsSync(file) && fs.readFileSync(file, 'utf8').split('\n').some((v) => v && deployed.includes(v)));
  const ok = !bad && !fs.existsSync(path.join(hostState, 'unhealthy'));
  res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ status: ok ? 'ok' : 'unhealthy', ...body }));
});
// A stale app may still be letting go of the port: try again for a while.
let attempts = 0;
server.on('error', (error) => {
  if (error.code !== 'EADDRINUSE' || ++attempts > 50) throw error;
  setTimeout(() => server.listen(Number(port), address), 100);
});
server.listen(Number(port), address);
