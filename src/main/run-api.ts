import type { Server } from 'node:http';
import { createApi } from '../api/app.js';
import { serveApi } from '../api/serve.js';
import { dataConverterFor } from '../codec/data-converter.js';
import type { SlipwayConfig } from '../config/schema.js';
import { connectClient, TASK_QUEUE, type TemporalSettings } from '../temporal/connection.js';
import { logger } from './logger.js';

export async function startApi(config: SlipwayConfig, settings: TemporalSettings, options: { port: number; host?: string; uiUrl: string; localUiOrigins?: string[] }): Promise<Server> {
  const client = await connectClient(settings, dataConverterFor(config.encryption));
  const app = createApi({
    config, client, taskQueue: TASK_QUEUE, namespace: settings.namespace,
    stepTimeoutMs: config.ssh.commandTimeout, uiUrl: options.uiUrl, localUiOrigins: options.localUiOrigins,
    logError: (error) => logger.error({ err: error }, 'request failed'),
  });
  const server = await serveApi(app, { port: options.port, host: options.host ?? '0.0.0.0' });
  logger.info({ port: options.port }, 'API listening');
  return server;
}
