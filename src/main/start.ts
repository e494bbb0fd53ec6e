/**
 * `npm start`: everything on one machine. A Temporal dev server (unless TEMPORAL_ADDRESS
 * names one), a worker and the API; with no config at all, demo mode's sandbox fleet.
 */
import { resolve } from 'node:path';
import { startDemo, type Demo } from '../sandbox/demo.js';
import { ensureTemporalCli } from '../temporal/cli.js';
import { temporalSettings } from '../temporal/connection.js';
import { startDevServer, waitForPort, type DevServer } from '../temporal/dev-server.js';
import { configPath, loadConfigOrExit, temporalUiUrl } from './config.js';
import { localEncryption } from './local-key.js';
import { logger } from './logger.js';
import { onStopSignal } from './signals.js';
import { startApi } from './run-api.js';
import { startWorker } from './run-worker.js';

const home = resolve(process.env.SLIPWAY_HOME ?? '.slipway');
const port = Number(process.env.PORT ?? 3000);

let devServer: DevServer | undefined;
let env = process.env;
if (!process.env.TEMPORAL_ADDRESS) {
  const temporalPort = Number(process.env.SLIPWAY_TEMPORAL_PORT ?? 7233);
  const inUse = await waitForPort('127.0.0.1', temporalPort, 0).then(() => true, () => false);
  if (inUse) {
    console.error(`slipway: port ${temporalPort} is taken; set TEMPORAL_ADDRESS=127.0.0.1:${temporalPort} to use the server there, or SLIPWAY_TEMPORAL_PORT to start one elsewhere`);
    process.exit(2);
  }
  devServer = await startDevServer({
    cli: ensureTemporalCli((line) => logger.info(line)),
    dbFile: `${home}/temporal.db`,
    port: temporalPort,
    uiPort: Number(process.env.SLIPWAY_TEMPORAL_UI_PORT ?? 8233),
    // The UI asks Slipway's codec server to decrypt what it shows.
    uiCodecEndpoint: `http://127.0.0.1:${port}/codec`,
  });
  env = { ...process.env, TEMPORAL_ADDRESS: devServer.address, TEMPORAL_NAMESPACE: 'default' };
  logger.info({ address: devServer.address, ui: devServer.uiUrl, history: `${home}/temporal.db` }, 'Temporal dev server started');
}
const settings = temporalSettings(env);

const path = configPath();
let demo: Demo | undefined;
const config = path ? loadConfigOrExit(path) : (demo = await startDemo(home)).config;
const uiUrl = devServer?.uiUrl ?? temporalUiUrl();
// The UI at the same port, whichever name the browser uses for this machine.
const uiOrigins = [uiUrl, uiUrl.replace('//127.0.0.1:', '//localhost:')].filter((o, i, all) => all.indexOf(o) === i);
let localUiOrigins: string[] = [];
if (!config.encryption) {
  const keyFile = `${home}/encryption.key`;
  const local = localEncryption(keyFile, uiOrigins);
  config.encryption = local.encryption;
  // npm start's own key, and its own UI: that UI has no login, so it decodes without a token.
  if (devServer) localUiOrigins = uiOrigins;
  logger.info({ keyFile }, local.created ? 'created a local key for payload encryption' : 'payloads encrypted with the local key');
}

// One machine runs everything here, so a local directory is a store every worker shares.
config.credentialStore ??= `${home}/credentials`;

const worker = await startWorker(config, settings, uiUrl);
const running = worker.run();
const server = await startApi(config, settings, { port, host: demo ? '127.0.0.1' : '0.0.0.0', uiUrl, localUiOrigins });

const lines = [`Slipway is up. API: http://localhost:${port}  Console: http://localhost:${port}/ui  Temporal UI: ${uiUrl}`];
if (demo) {
  lines.push(
    `Demo mode (no slipway.yaml): 3 sandbox hosts over SSH and the service "demo"; its config is ${demo.configPath}.`,
    'Deploy a commit to them with:',
    `  curl -sX POST localhost:${port}/v1/deployments -H "Authorization: Bearer $(cat ${home}/demo/token)" \\`,
    `       -H 'content-type: application/json' -d '{"service":"demo","environment":"sandbox","sha":"c0ffee1"}'`,
    `Sign in to the console with the token in ${home}/demo/token (admin), or ${home}/demo/read-token (read only).`,
  );
}
console.log(lines.join('\n'));

onStopSignal((signal) => logger.info({ signal }, 'stopping: the worker finishes its steps in flight first'));
try {
  await running;
} catch (error) {
  // On Ctrl-C the dev server gets the signal too and may go first: the worker's last polls fail.
  logger.warn({ err: error }, 'worker stopped with an error');
}
logger.info('worker stopped');
server.close();
server.closeAllConnections();
await demo?.stop();
logger.info('API and sandbox stopped');
await devServer?.stop();
logger.info('stopped');
process.exit(0);
