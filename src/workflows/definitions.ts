import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Ledger } from '../domain/ledger.js';
import type { EnvironmentRef, RotationView } from '../domain/rotation.js';
import type { Run } from '../domain/run.js';
import type { EnqueueAnswer, EnqueueLockRequest, EnqueueRequest, EnqueueRotationRequest, EnvironmentView, QueuedRun } from './environment.js';
import type { Notice } from './notifier.js';

/**
 * What the outside sees of Slipway's workflows: their ids, and the signals, updates and queries
 * they answer. The API, the activities that start runs and the workflows all import them from
 * here, so none of them imports another's workflow code.
 */

// ---- ids ----------------------------------------------------------------------------------

/** The long-lived workflow of one service and environment: lock, queue and release ledger. */
export function environmentWorkflowId(service: string, environment: string): string {
  return `slipway-env/${service}/${environment}`;
}

/** One target's update in a run; an operator's retry starts it again as `#2`, `#3`, … */
export function targetWorkflowId(runId: string, targetId: string, attempt = 1): string {
  return `${runId}/${targetId}${attempt > 1 ? `#${attempt}` : ''}`;
}

/** One target's rollback in a run. */
export function rollbackWorkflowId(runId: string, targetId: string, attempt = 1): string {
  return targetWorkflowId(`${runId}/rollback`, targetId, attempt);
}

/** A batch of a large run, updated (or rolled back) in a child workflow; an operator's retry starts it again as `#2`, … */
export function batchWorkflowId(runId: string, phase: 'deploy' | 'rollback', batch: number, attempt = 1): string {
  return `${runId}/${phase === 'rollback' ? 'rollback/' : ''}batch-${batch}${attempt > 1 ? `#${attempt}` : ''}`;
}

/** What runs on a batch's hosts once they are healthy (an image prune), nothing waiting for it. */
export function afterHealthyWorkflowId(runId: string, phase: 'deploy' | 'rollback', batch: number, attempt = 1): string {
  return `${batchWorkflowId(runId, phase, batch, attempt)}/after-healthy`;
}

/** The child that delivers a run's notifications. */
export function notifierWorkflowId(runId: string): string {
  return `${runId}/notify`;
}

// ---- deploy (and rollback) runs ------------------------------------------------------------

export const OPERATOR_ACTIONS = ['approve', 'pause', 'resume', 'abort', 'retry', 'rollback'] as const;
export type OperatorAction = typeof OPERATOR_ACTIONS[number];

export const runQuery = defineQuery<Run>('run');
/**
 * How the environment starts a run (runs started before `grant-at-start` have neither field):
 * with the lock, its ledger given, or queued, to wait for `grantSignal`.
 */
export type RunStart = { startedAs: 'granted'; granted: Ledger } | { startedAs: 'queued'; granted?: undefined };
/** The environment's lock holder lets the run go, with the ledger as it is at that moment. */
export const grantSignal = defineSignal<[Ledger]>('grant');
/** An operator's decision; each answers the run as it is once applied, or is refused (409). */
export const actionUpdates = Object.fromEntries(OPERATOR_ACTIONS.map((a) => [a, defineUpdate<Run>(a)])) as Record<OperatorAction, ReturnType<typeof defineUpdate<Run>>>;

// ---- environments --------------------------------------------------------------------------

/** Before the queue took signals: answered once the run had started (kept for the runs and clients of then). */
export const enqueueUpdate = defineUpdate<EnqueueAnswer, [EnqueueRequest | EnqueueRotationRequest | EnqueueLockRequest]>('enqueue');
/**
 * Queues a run (sent with signal-with-start, so a `POST` waits on no worker). Runs are let go
 * in the order their signals were accepted; a run id or idempotency key seen before is ignored.
 */
export const enqueueSignal = defineSignal<[EnqueueRequest | EnqueueRotationRequest | EnqueueLockRequest]>('enqueueRun');
/** Where a run waits in the queue (1: next), with what it shows while it waits; null when it is not queued here. */
export const queuedRunQuery = defineQuery<QueuedRun | null, [string]>('queuedRun');
/** To a run that asked for this environment's lock from elsewhere: it holds it now, with this ledger. */
export const lockGrantedSignal = defineSignal<[EnvironmentRef & { ledger: Ledger }]>('lockGranted');
export const environmentQuery = defineQuery<EnvironmentView>('environment');

// ---- rotations -----------------------------------------------------------------------------

export const rotationQuery = defineQuery<RotationView>('rotation');
/** After a compensation failed and an operator fixed its cause: try what is left again. */
export const rotationRetryUpdate = defineUpdate<RotationView>('retry');
/** An operator gives up on a failed rotation: it ends, keeping `leftToFix`, and the environment's queue goes on. */
export const rotationAbortUpdate = defineUpdate<RotationView>('abort');

// ---- notifications -------------------------------------------------------------------------

export const noticeSignal = defineSignal<[Notice]>('notice');
