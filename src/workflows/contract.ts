import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { HostCommand } from '../commands/shell.js';
import type { NotificationEvent, RunNotifications } from '../config/notifications.js';
import type { FailureDetails } from '../domain/failures.js';
import type { Ledger } from '../domain/ledger.js';
import type { DeployPlan, HealthPlan, HostRef, PinnedImages, Target } from '../domain/plan.js';
import { OPERATOR_ACTIONS, type OperatorAction } from '../domain/operator-actions.js';
import type { EnvironmentRef, RotationPlan, RotationView, SecretSource } from '../domain/rotation.js';
import type { Run, RunOverride, StepLogRef } from '../domain/run.js';
import type { TemplateValues } from '../domain/templates.js';
import type { DrainStep } from '../domain/traffic.js';

/**
 * The contract of Slipway's workflows: their ids, their inputs, and the signals, updates and
 * queries they answer. The API, the activities that start runs and the workflows all import
 * them from here; this module imports no workflow, so nothing outside `src/workflows/` needs
 * a workflow's own file (the lint enforces it).
 */

// ---- ids ----------------------------------------------------------------------------------

/** The long-lived workflow of one service and environment: lock, queue and release ledger. */
export function environmentWorkflowId(service: string, environment: string): string {
  return `slipway-env/${service}/${environment}`;
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

export interface DeployInput {
  plan: DeployPlan;
  kind?: 'deploy' | 'rollback';
  /** Rollbacks: the known-good SHA (or its prefix) to return to; default the one before current. */
  rollbackTo?: string | undefined;
  /** The longest one host command may run (from the worker's `ssh.commandTimeout`). */
  stepTimeoutMs: number;
  /** How soon a step whose worker died is retried elsewhere (default 30 s). */
  heartbeatTimeoutMs?: number | undefined;
  createdAt: string;
  /** Where the run opens in the Temporal UI, for the GitHub Deployment's log link. */
  uiUrl?: string | undefined;
  /** The configured hooks that hear about this run, and which of its events. */
  notifications?: RunNotifications | undefined;
  /** The API token's name that asked for it. */
  requestedBy?: string | undefined;
  /** Rules an admin let this run past (a promotion's condition when asked; a window when it waited). */
  overrides?: RunOverride[] | undefined;
  /** A promotion: the release current in `from` when it was asked for, deployed with these very digests. */
  promotion?: { from: string; runId: string; images: PinnedImages } | undefined;
  /** Set by the environment's workflow, which starts a run only once it holds the lock: see `RunStart`. */
  granted?: Ledger | undefined;
  abortedInQueue?: RunStart['abortedInQueue'];
}


/** What a run shows of its input from the start, queued or not: overrides, and where a promotion comes from. */
export function runExtras(input: Pick<DeployInput, 'overrides' | 'promotion' | 'requestedBy'>): Pick<Run, 'overrides' | 'promotedFrom' | 'requestedBy'> {
  return { overrides: input.overrides, promotedFrom: input.promotion ? { environment: input.promotion.from, runId: input.promotion.runId } : undefined, requestedBy: input.requestedBy };
}

export const runQuery = defineQuery<Run>('run');
/**
 * The ids of the targets a run has taken out of their load balancer and not put back: what
 * its environment puts back when the run ends without doing so itself (terminated).
 */
export const drainedTargetsQuery = defineQuery<string[]>('drainedTargets');
/**
 * How the environment starts a run. A queued run is data in the environment's queue, with no
 * workflow of its own, until it is granted the lock: then it starts with the ledger as it is.
 * A run an operator aborted while it waited starts only to end `aborted`, touching nothing, so
 * that it can be looked up like any run.
 */
export type RunStart = { granted: Ledger; abortedInQueue?: undefined } | { abortedInQueue: { reason: string }; granted?: undefined };
/** An operator's decision; each answers the run as it is once applied, or is refused (409). */
export const actionUpdates = Object.fromEntries(OPERATOR_ACTIONS.map((a) => [a, defineUpdate<Run>(a)])) as Record<OperatorAction, ReturnType<typeof defineUpdate<Run>>>;

// ---- batches of large runs -----------------------------------------------------------------

/** What every target of a run shares. */
export interface EngineSettings {
  runId: string;
  runtime: DeployPlan['runtime'];
  health: HealthPlan;
  stepTimeoutMs: number;
  heartbeatTimeoutMs?: number | undefined;
}

export interface TargetJob {
  target: Target;
  phase: StepLogRef['phase'];
  pinned: PinnedImages;
  values: TemplateValues;
  migrate: boolean;
  build: boolean;
  /** Steps that run once per run and target are keyed by this, the same for every retry. */
  onceKey: string;
  /** The step to start at: 0, or the one an earlier attempt failed at. */
  resumeAt: number;
  /** With `traffic`: the target leaves its load balancer first, and comes back once healthy. */
  drain?: DrainStep | undefined;
}

export type TargetOutcome =
  | {
    id: string; status: 'healthy';
    /** The schema's revision, when this update ran the migration and read it. */
    revision?: string | undefined;
  }
  | {
    id: string; status: 'failed'; failure: FailureDetails;
    /** The schema's revision, when the migration ran and was read before the failure. */
    revision?: string | undefined;
    /** The step a retry starts at. */
    resumeAt: number;
    /** This attempt sent no command to the host (it could not connect): nothing to undo there for it. */
    untouched: boolean;
  }
  /** Not started: its host's build (by another instance in the batch) failed. */
  | { id: string; status: 'skipped' }
  | { id: string; status: 'cancelled' };

/** The input of `updateBatch`: one batch of a run too large for one history. */
export interface BatchInput {
  settings: EngineSettings;
  jobs: TargetJob[];
}

/** The input of `afterHealthy`: each healthy host's steps that nothing waits for. */
export interface AfterHealthyInput {
  hosts: Array<{ target: Target; commands: HostCommand[]; log: StepLogRef }>;
  stepTimeoutMs: number;
}

// ---- environments --------------------------------------------------------------------------

/** The input of `environment` (and what it continues as new with). */
export interface EnvironmentState {
  service: string;
  environment: string;
  ledger: Ledger;
  /** Past this many history events the workflow continues as new once idle (default 5,000). */
  continueAfterEvents?: number | undefined;
  /** Idempotency keys seen in the last day, carried across continue-as-new. */
  idempotency?: Record<string, IdempotencyEntry> | undefined;
}

export interface IdempotencyEntry {
  runId: string;
  /** SHA-256 of the request that used the key first: the same key with another body is refused. */
  requestHash: string;
  /** When it was first used (ms since the epoch, workflow time). */
  at: number;
}

/** How long an idempotency key returns the run it first started (at least 24 hours, as the API promises). */
export const IDEMPOTENCY_WINDOW_MS = 25 * 3_600_000;
/**
 * The most keys an environment remembers, newest kept: its state is carried into every new
 * history, so it must stay small whatever a client sends. Past it, a repeat is still answered
 * from the run's own workflow while Temporal keeps it.
 */
export const IDEMPOTENCY_KEYS_LIMIT = 1_000;

export interface EnvironmentView {
  current: Ledger['current'];
  knownGood: Ledger['knownGood'];
  history: Ledger['history'];
  retired?: Ledger['retired'];
  schemaRevision?: Ledger['schemaRevision'];
  active: string | null;
  queue: string[];
}

interface EnqueueCommon {
  /** A new, unique id: used unless `idempotency` names a run enqueued before. */
  runId: string;
  /** The caller's key, hashed with who sent it and what kind of run it asks for. */
  idempotency?: { key: string; requestHash: string } | undefined;
}

/** A run's input as the API sends it: the environment adds how it starts (`RunStart`). */
export type Unstarted<Input> = Omit<Input, 'granted' | 'abortedInQueue'>;

export interface EnqueueRequest extends EnqueueCommon {
  input: Unstarted<DeployInput>;
}

/** A rotation waits for the lock like a deploy. */
export interface EnqueueRotationRequest extends EnqueueCommon {
  rotation: Unstarted<RotationInput>;
}

/**
 * A run queued in another environment that must hold this one's lock too (a recipe that
 * writes here). It waits in this queue like any run; granted, it holds the lock until it ends.
 */
export interface EnqueueLockRequest extends EnqueueCommon {
  /** The workflow id of the run that waits: it is signalled `lockGranted`. */
  lockFor: string;
}

export type AnyEnqueueRequest = EnqueueRequest | EnqueueRotationRequest | EnqueueLockRequest;

export interface QueuedRun {
  /** 1: the next to get the lock; unknown while the environment's workflow cannot answer. */
  position?: number | undefined;
  /** What it shows while it waits (none for a run queued here from another environment). */
  run?: Run | undefined;
  rotation?: RotationView | undefined;
}

/**
 * Queues a run (sent with signal-with-start, so a `POST` waits on no worker). Runs are let go
 * in the order their signals were accepted; a run id or idempotency key seen before is ignored.
 */
export const enqueueSignal = defineSignal<[AnyEnqueueRequest]>('enqueueRun');
/** Where a run waits in the queue (1: next), with what it shows while it waits; null when it is not queued here. */
export const queuedRunQuery = defineQuery<QueuedRun | null, [string]>('queuedRun');
/** To a run that asked for this environment's lock from elsewhere: it holds it now, with this ledger. */
export const lockGrantedSignal = defineSignal<[EnvironmentRef & { ledger: Ledger }]>('lockGranted');
export const environmentQuery = defineQuery<EnvironmentView>('environment');
/** What an idempotency key (as the API hashes it) was used for in the last 25 hours; null when it was not. */
export const idempotencyKeyQuery = defineQuery<IdempotencyEntry | null, [string]>('idempotencyKey');
/** An operator's abort of a deploy or rollback still waiting in the queue: it leaves the queue and ends `aborted`. */
export const abortQueuedUpdate = defineUpdate<Run, [{ runId: string; reason: string }]>('abortQueued');
/** An admin's start of a run waiting for its window or a freeze's end: it goes as soon as it has the lock. */
export const overrideWindowUpdate = defineUpdate<Run, [{ runId: string; reason: string; by: string }]>('overrideWindow');

// ---- rotations -----------------------------------------------------------------------------

export interface RotationInput {
  plan: RotationPlan;
  createdAt: string;
  stepTimeoutMs: number;
  heartbeatTimeoutMs?: number | undefined;
  /** The configured hooks that hear how the rotation ends. */
  notifications?: RunNotifications | undefined;
  /** Set by the environment's workflow: a rotation starts only once it holds the lock. */
  granted?: Ledger | undefined;
}

/** What a Temporal Schedule starts (`scheduledRotation`): the rotation as requested, re-planned from config each time. */
export interface ScheduledRotationInput {
  service: string;
  environment: string;
  request: {
    kind: 'env-secret';
    /** Generated values only: a supplied value would be the same at every run. */
    variables: Record<string, Extract<SecretSource, { generate: unknown }>>;
    githubSecrets?: Record<string, string> | undefined;
  } | {
    kind: 'ssh-key';
    githubSecret?: string | undefined;
  } | {
    kind: 'recipe';
    recipe: string;
  };
}

/** One call a rotation makes on (or for) a host, as data: what a rotation batch runs. */
export type HostCall = { summary: string; attempts?: number | undefined } & (
  | { activity: 'runOnHost'; args: [HostRef, HostCommand] }
  | { activity: 'verifySshLogin'; args: [HostRef, string] }
  | { activity: 'sshPublicKeyInUse'; args: [HostRef] }
  | { activity: 'registryLogin'; args: [HostRef, string, string, string] }
  | { activity: 'registryLoginAsBefore'; args: [HostRef, string, string] }
  | { activity: 'writeEnvSecrets'; args: [HostRef, string, string, string, Record<string, string>] }
  | { activity: 'restoreEnvSecrets'; args: [HostRef, string, string, string, string[]] }
  | { activity: 'removeHostFile'; args: [HostRef, string, string] }
);

/** One host's part of a rotation step: its calls in order, then (a restart) its health checks. */
export interface HostJob {
  calls: HostCall[];
  health?: { target: Target; dir: string; plan: HealthPlan; values: TemplateValues } | undefined;
  /** With `traffic`: the target leaves its load balancer before the calls, and comes back once healthy. */
  drain?: DrainStep | undefined;
}

/**
 * How a step's host jobs run: `in-turn`, one after another, stopping at the first failure;
 * `each`, one after another, every one tried (compensations, cleanup); `together`, at once.
 */
export type JobOrder = 'in-turn' | 'each' | 'together';

export type HostJobOutcome =
  | { status: 'succeeded'; results: unknown[] }
  /** `tookEffect`: one of its calls completed, so the job must be undone whatever failed after. */
  | { status: 'failed'; failure: FailureDetails; tookEffect: boolean }
  /** Not tried: an earlier job of an `in-turn` step failed. */
  | { status: 'skipped' };

/** The input of `rotationBatch`: a slice of one step of a rotation too large for one history. */
export interface RotationBatchInput {
  jobs: HostJob[];
  order: JobOrder;
  stepTimeoutMs: number;
  heartbeatTimeoutMs?: number | undefined;
}

export const rotationQuery = defineQuery<RotationView>('rotation');
/** After a compensation failed and an operator fixed its cause: try what is left again. */
export const rotationRetryUpdate = defineUpdate<RotationView>('retry');
/** An operator gives up on a failed rotation: it ends, keeping `leftToFix`, and the environment's queue goes on. */
export const rotationAbortUpdate = defineUpdate<RotationView>('abort');

// ---- notifications -------------------------------------------------------------------------

/** An event of a run, with the run as the API answers it at that moment. */
export interface Notice {
  event: NotificationEvent;
  run: { id: string; kind: string; service: string; environment: string; status: string; finishedAt?: string | undefined };
}

/** The input of `notifier`. */
export type NotifierInput = Pick<RunNotifications, 'hooks'> & {
  /** Ends after one notice (one sent for a run that has no workflow yet). */
  once?: boolean | undefined;
};

export const noticeSignal = defineSignal<[Notice]>('notice');
