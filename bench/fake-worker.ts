/**
 * A worker with the fake runtime, as a process of its own (as in production, apart from the
 * API), for `bench/concurrency.ts`:
 *
 *   tsx bench/fake-worker.ts <temporal address> <namespace> <task queue> <host step ms>
 *
 * Prints "ready" once it polls; stops on SIGTERM.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../src/worker/create-worker.js';
import { fakeActivities } from '../test/support/fake-activities.js';

const [address, namespace, taskQueue, stepMs] = process.argv.slice(2);
if (!address || !namespace || !taskQueue || !stepMs) throw new Error('usage: fake-worker.ts <address> <namespace> <task queue> <step ms>');
const worker = await Worker.create({
  connection: await NativeConnection.connect({ address }), namespace, taskQueue, workflowBundle: await bundleWorkflows(),
  activities: fakeActivities(Number(stepMs)), maxConcurrentActivityTaskExecutions: 1_000, shutdownGraceTime: '1s',
});
process.once('SIGTERM', () => worker.shutdown());
const running = worker.run();
console.log('ready');
await running;
