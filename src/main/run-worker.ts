import { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogLevel, type Worker } from '@temporalio/worker';
import type { SlipwayConfig } from '../config/schema.js';
import { connectWorker, type TemporalSettings } from '../temporal/connection.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { createWorker } from '../worker/create-worker.js';
import { logger } from './logger.js';

/** Registers the search attributes the workflows need, then starts a worker. */
export async function startWorker(config: SlipwayConfig, settings: TemporalSettings): Promise<Worker> {
  // The SDK's own lines (bundling, state changes) only from warnings up, unless asked for.
  Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_SDK_LOG_LEVEL ?? 'WARN') as LogLevel) });
  const connection = await Connection.connect(settings.connectionOptions as Parameters<typeof Connection.connect>[0]);
  try {
    const added = await ensureSearchAttributes(connection, settings.namespace);
    if (added.length) logger.info({ added, namespace: settings.namespace }, 'registered search attributes');
  } finally {
    await connection.close();
  }
  const worker = await createWorker({ connection: await connectWorker(settings), namespace: settings.namespace, config });
  logger.info({ address: settings.connectionOptions.address, namespace: settings.namespace, taskQueue: worker.options.taskQueue }, 'worker started');
  return worker;
}
