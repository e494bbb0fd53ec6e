import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { createApi } from '../../src/api/app.js';
import { serveApi } from '../../src/api/serve.js';
import type { SlipwayConfig } from '../../src/config/schema.js';
import { createWorker } from '../../src/worker/create-worker.js';
import type { TestTemporal } from './temporal.js';

export interface InProcessSlipway {
  /** The API's base URL. */
  api: string;
  taskQueue: string;
  stop(): Promise<void>;
}

/**
 * A Slipway worker and API in the test's own process, on a task queue of their own, polling
 * images and checks every 200 ms. `client`: one with the config's payload codec, when it has keys.
 */
export async function startSlipwayInProcess(temporal: TestTemporal, config: SlipwayConfig, name: string, client: Client = temporal.client): Promise<InProcessSlipway> {
  const taskQueue = `${name}-${Date.now().toString(36)}`;
  const worker = await createWorker({
    connection: temporal.nativeConnection, namespace: temporal.namespace, config, taskQueue,
    workflowBundle: temporal.workflowBundle, activityOptions: { imagePollMs: 200, checksPollMs: 200 }, shutdownGraceTime: '2s',
  });
  const running = worker.run();
  const app = createApi({
    config, client, taskQueue, namespace: temporal.namespace,
    stepTimeoutMs: config.ssh.commandTimeout, uiUrl: 'http://localhost:8233', logError: () => undefined,
  });
  const server = await serveApi(app, { port: 0, host: '127.0.0.1' });
  return {
    api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    taskQueue,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      worker.shutdown();
      await running;
    },
  };
}
