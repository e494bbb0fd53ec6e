/** `npm run worker`: a Slipway worker against the cluster the Temporal environment variables name. */
import { temporalSettings } from '../temporal/connection.js';
import { configPath, loadConfigOrExit, temporalUiUrl } from './config.js';
import { logger } from './logger.js';
import { onStopSignal } from './signals.js';
import { startWorker } from './run-worker.js';

const config = loadConfigOrExit(configPath());
const worker = await startWorker(config, temporalSettings(), temporalUiUrl());
// The SDK's runtime turns SIGINT/SIGTERM into a graceful shutdown: polling stops, steps in
// flight get `shutdownGraceTime` to finish, then are cancelled (their SSH sessions closed).
onStopSignal((signal) => logger.info({ signal }, 'stopping: steps in flight finish first'));
await worker.run();
logger.info('worker stopped');
