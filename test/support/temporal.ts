import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type WorkflowBundleOption } from '@temporalio/worker';
import { freePort } from '../../src/sandbox/fleet.js';
import { ensureTemporalCli } from '../../src/temporal/cli.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { bundleWorkflows } from '../../src/worker/create-worker.js';
import { sharedFixture } from './fixtures.js';
import { adoptManaged } from './processes.js';

export interface TestTemporal {
  server: DevServer;
  address: string;
  namespace: string;
  client: Client;
  connection: Connection;
  nativeConnection: NativeConnection;
  workflowBundle: WorkflowBundleOption;
  /** Stops the dev server and starts it again on the same port and SQLite file. */
  restart(downMs: number): Promise<void>;
}

let runtimeInstalled = false;

/** One Temporal dev server (the real CLI, headless, SQLite in a temp dir) for the whole run. */
export function testTemporal(): Promise<TestTemporal> {
  return sharedFixture('temporal', async () => {
    if (!runtimeInstalled) {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
      runtimeInstalled = true;
    }
    const cli = ensureTemporalCli();
    const options = { cli, dbFile: join(mkdtempSync(join(tmpdir(), 'slipway-temporal-')), 'temporal.db'), port: await freePort('127.0.0.1'), headless: true };
    const [server, workflowBundle] = await Promise.all([startDevServer(options), bundleWorkflows()]);
    adoptManaged(server.process);
    const connection = await Connection.connect({ address: server.address });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const temporal: TestTemporal = {
      server, address: server.address, namespace: 'default', client: new Client({ connection }), connection, nativeConnection, workflowBundle,
      async restart(downMs) {
        await temporal.server.stop();
        await new Promise((r) => setTimeout(r, downMs));
        temporal.server = await startDevServer(options);
        adoptManaged(temporal.server.process);
      },
    };
    return temporal;
  }, async (t) => {
    await t.nativeConnection.close();
    await t.connection.close();
    await t.server.stop();
  });
}

export { freePort };
