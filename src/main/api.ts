/** `npm run api`: the HTTP API against the cluster the Temporal environment variables name. */
import { temporalSettings } from '../temporal/connection.js';
import { configPath, loadConfigOrExit, temporalUiUrl } from './config.js';
import { logger } from './logger.js';
import { onStopSignal } from './signals.js';
import { startApi } from './run-api.js';

const config = loadConfigOrExit(configPath());
const server = await startApi(config, temporalSettings(), {
  port: Number(process.env.PORT ?? 3000),
  uiUrl: temporalUiUrl(),
});
onStopSignal((signal) => {
  logger.info({ signal }, 'API stopping');
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
