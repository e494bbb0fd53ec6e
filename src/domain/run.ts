import type { HookName } from './hooks.js';
import { refSha, type DeployPlan } from './plan.js';
import type { WaitingFor } from './windows.js';

/** A run as the API shows it (docs/runs.md), kept by the workflow and answered by its `run` query. */
export type RunStatus = 'queued' | 'running' | 'awaiting_approval' | 'paused' | 'awaiting_operator' | 'succeeded' | 'failed' | 'rolled_back' | 'aborted';
export type RunPhase = 'preflight' | 'canary' | 'bake' | 'fleet' | 'rollback' | 'done';
export type TargetStatus = 'pending' | 'updating' | 'healthy' | 'failed' | 'rolled_back';

export const FINISHED_STATUSES: RunStatus[] = ['succeeded', 'failed', 'rolled_back', 'aborted'];

export interface RunError {
  /** The failure type (see failures.ts), e.g. `HealthCheckFailed`. */
  type: string;
  /** Which step failed: `preflight: images`, `web-2: docker compose pull`, … */
  step: string;
  target?: string | undefined;
  message: string;
}

/** A target a rollback could not bring back: where it was left, and why. */
export interface LeftToFix {
  target: string;
  /** The version it is left on, as far as Slipway knows. */
  version: string;
  error: string;
  /** The failure type (failures.ts): a plan error will fail the same way however often it is retried. */
  type: string;
}

export interface RunTarget {
  id: string;
  name: string;
  status: TargetStatus;
  /** The batch it is updated in, 1 being the canary (set once the rollout is planned). */
  batch?: number | undefined;
  version?: string | undefined;
  error?: string | undefined;
  /** While updating: the step running on it now. Not workflow state: the API reads it from the step log. */
  step?: string | undefined;
}

/** One run of a hook on one target, as the run shows it (docs/hooks.md). */
export interface RunHook {
  hook: HookName;
  target: string;
  /** Its step label: the hook's name and its command's first line. */
  command: string;
  status: 'running' | 'succeeded' | 'failed';
  error?: string | undefined;
}

/** An admin's decision to let a run past a rule: its window or freeze, or its promotion's condition. */
export interface RunOverride {
  kind: 'window' | 'promotion';
  reason: string;
  /** The token's name. */
  by: string;
  at: string;
  /** What it overrode, as the run or the refusal said it. */
  overrode: string;
}

export interface Run {
  id: string;
  kind: 'deploy' | 'rollback';
  service: string;
  environment: string;
  /** With `revision`: the schema revision this release's migrations go to (read after its migration; a rollback's from the ledger). */
  version: { sha: string | null; images: Record<string, string>; revision?: string | undefined };
  previous: { sha: string | null; images: Record<string, string> } | null;
  /**
   * The schema's revision as this run leaves it, when Slipway knows it: after a deploy's
   * migration, the new one; after a rollback, the older release's if `downgrade` took it
   * there, else still the newer one.
   */
  schemaRevision?: string | undefined;
  status: RunStatus;
  phase: RunPhase;
  targets: RunTarget[];
  error?: RunError | undefined;
  /**
   * With `failed`: targets the rollback could not bring back. While the run still holds the
   * environment (it waits for `retry` or `abort`), `awaitingOperator` is true.
   */
  leftToFix?: LeftToFix[] | undefined;
  awaitingOperator?: boolean | undefined;
  /** The hooks this run has run or runs now, in order; a failed `afterRollback` is reported here, changing no status. */
  hooks?: RunHook[] | undefined;
  /** Queued outside its environment's windows or inside a freeze: why, and until when (it starts by itself then). */
  waitingFor?: WaitingFor | undefined;
  /** Rules an admin let it past (docs/windows.md), also in the ledger's history. */
  overrides?: RunOverride[] | undefined;
  /** Who asked for it: the API token's name. */
  requestedBy?: string | undefined;
  /** A promotion: the environment whose current release it deploys, and the run that made it current there. */
  promotedFrom?: { environment: string; runId: string } | undefined;
  /** A queued run's place in its environment's queue (1: next to run); API answers only. */
  queuePosition?: number | undefined;
  reason?: string | undefined;
  githubDeploymentId?: number | undefined;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string | undefined;
}

/** A run as it is before it has the environment's lock. */
export function queuedRun(id: string, kind: Run['kind'], plan: DeployPlan, createdAt: string, extra?: Pick<Run, 'overrides' | 'promotedFrom' | 'requestedBy'>): Run {
  return {
    id, kind, service: plan.service, environment: plan.environment,
    version: { sha: refSha(plan.ref), images: {} }, previous: null,
    status: 'queued', phase: 'preflight',
    targets: plan.targets.map((t) => ({ id: t.id, name: t.name, status: 'pending' })),
    reason: plan.reason, createdAt, updatedAt: createdAt,
    ...(extra?.overrides?.length ? { overrides: extra.overrides } : {}),
    ...(extra?.promotedFrom ? { promotedFrom: extra.promotedFrom } : {}),
    ...(extra?.requestedBy ? { requestedBy: extra.requestedBy } : {}),
  };
}

/** The error of a run an operator aborted while it waited in its environment's queue. */
export function abortedInQueueError(reason: string): RunError {
  return { type: 'Aborted', step: 'queue', message: `aborted while queued: ${reason}` };
}

/** Where a target's steps are logged: its run, its id, and whether it is the deploy or the rollback. */
export interface StepLogRef {
  run: string;
  target: string;
  phase: 'deploy' | 'rollback';
}
