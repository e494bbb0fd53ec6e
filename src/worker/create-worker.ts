import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, bundleWorkflowCode, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityOptions } from '../activities/index.js';
import { dataConverterFor, FAILURE_CONVERTER_PATH } from '../codec/data-converter.js';
import type { SlipwayConfig } from '../config/schema.js';
import { TASK_QUEUE } from '../temporal/connection.js';
import { enqueueRotation, enqueueWithEnvironment } from '../temporal/enqueue.js';

/** The workflows' entry point: the `.ts` source under tsx, the compiled `.js` in the image. */
export const WORKFLOWS_PATH = fileURLToPath(new URL(`../workflows/index${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Bundles the workflow code once (a few seconds), for processes that create several workers. */
export function bundleWorkflows(): Promise<WorkflowBundleOption> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, logger: quietBundlerLogger });
}

const quietBundlerLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: (message: string) => console.warn(message), error: (message: string) => console.error(message),
};

export interface SlipwayWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  config: SlipwayConfig;
  taskQueue?: string;
  workflowBundle?: WorkflowBundleOption;
  activityOptions?: ActivityOptions;
  /** How long in-flight steps may finish after a shutdown signal before they are cancelled. */
  shutdownGraceTime?: string;
}

export async function createWorker(options: SlipwayWorkerOptions): Promise<Worker> {
  // A target's update runs several steps in one activity: once the worker is stopping, it ends
  // after the step in flight, and the next worker resumes at the step after.
  const created: { worker?: Worker } = {};
  const stopping = () => created.worker !== undefined && created.worker.getState() !== 'RUNNING';
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(options.config, { queue: { enqueueRotation, enqueueWithEnvironment } }, { ...options.activityOptions, stopping }),
    ...(options.config.encryption ? { dataConverter: dataConverterFor(options.config.encryption) } : {}),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    // Cancellation reaches an activity with the answer to a heartbeat: an abort stops the step
    // in flight within seconds, not after 80% of its heartbeat timeout.
    maxHeartbeatThrottleInterval: '2s',
  });
  created.worker = worker;
  return worker;
}
