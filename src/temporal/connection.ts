import { Connection, Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';

/**
 * Where Temporal is, read the way every Temporal tool reads it: `TEMPORAL_ADDRESS`,
 * `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, TLS cert and key variables, or a profile in
 * `temporal.toml` (`TEMPORAL_CONFIG_FILE`, `TEMPORAL_PROFILE`).
 */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env) {
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? 'localhost:7233' },
    namespace: namespace ?? 'default',
  };
}

export type TemporalSettings = ReturnType<typeof temporalSettings>;

export async function connectClient(settings: TemporalSettings, dataConverter?: DataConverter): Promise<Client> {
  const connection = await Connection.connect(settings.connectionOptions as Parameters<typeof Connection.connect>[0]);
  return new Client({ connection, namespace: settings.namespace, ...(dataConverter ? { dataConverter } : {}) });
}

export function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(settings.connectionOptions);
}

export const TASK_QUEUE = process.env.SLIPWAY_TASK_QUEUE ?? 'slipway';
