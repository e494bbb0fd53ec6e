import { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogLevel, type Worker } from '@temporalio/worker';
import type { SlipwayConfig } from '../config/schema.js';
import { connectWorker, type TemporalSettings } from '../temporal/connection.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { createWorker } from '../worker/create-worker.js';
import { logger } from './logger.js';
import { stepLogStore } from '../step-logs/store.js';

/** Step logs older than `stepLogs.keep` go, at start and then every hour. */
function sweepStepLogs(config: SlipwayConfig): void {
  const store = stepLogStore(config);
  const sweep = () => {
    const removed = store.prune();
    if (removed) logger.info({ removed, dir: store.dir }, 'removed the step logs of old runs');
  };
  sweep();
  setInterval(sweep, 3_600_000).unref();
}

/** Registers the search attributes the workflows need, then starts a worker. */
export async function startWorker(config: SlipwayConfig, settings: TemporalSettings, uiUrl: string): Promise<Worker> {
  // The SDK's own lines (bundling, state changes) only from warnings up, unless asked for.
  Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_SDK_LOG_LEVEL ?? 'WARN') as LogLevel) });
  const connection = await Connection.connect(settings.connectionOptions as Parameters<typeof Connection.connect>[0]);
  try {
    const added = await ensureSearchAttributes(connection, settings.namespace);
    if (added.length) logger.info({ added, namespace: settings.namespace }, 'registered search attributes');
  } finally {
    await connection.close();
  }
  const worker = await createWorker({ connection: await connectWorker(settings), namespace: settings.namespace, config, activityOptions: { uiUrl } });
  sweepStepLogs(config);
  logger.info({ address: settings.connectionOptions.address, namespace: settings.namespace, taskQueue: worker.options.taskQueue }, 'worker started');
  return worker;
}
