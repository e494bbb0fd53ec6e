import { apiSteps, summary } from '../activity-options.js';
import type { Ledger } from '../../domain/ledger.js';
import { hostKey, type HostRef, type Target } from '../../domain/plan.js';
import type { EnvironmentRef, RotationStep } from '../../domain/rotation.js';
import type { HostJob, HostJobOutcome } from '../contract.js';

/**
 * One undo of the saga. It runs only when its step got past `pending`. A host's undo is a job
 * (data), so that a large rotation's undos run in batches like its steps.
 */
export type Compensation = {
  step: RotationStep;
  /** Said to the operator when the undo fails. */
  byHand: string;
  /** Runs whatever its step did (a recipe's `undo`, which retires what the rotation made). */
  always?: boolean;
} & ({ undo: () => Promise<unknown> } | { job: HostJob });

/** What the rotation workflow lends each kind of rotation: its steps, shown as the API shows them. */
export interface Saga {
  id: string;
  /** What keys the rotation's run-once steps on hosts (`onceScope`). */
  onceScope: string;
  /** The environment's ledger as the lock was granted (the release running now). */
  ledger: Ledger;
  /** The same for another environment whose lock the rotation holds (a recipe's writes). */
  ledgerOf(ref: EnvironmentRef): Ledger;
  stepTimeoutMs: number;
  heartbeatTimeoutMs?: number | undefined;
  addStep(name: string, target?: string): RotationStep;
  /**
   * Runs `work` as `step`, marking it running, then succeeded or failed (and rethrowing). A step
   * that failed without ever reaching its host is not compensated: it cannot have taken effect.
   */
  perform(step: RotationStep, work: () => Promise<unknown>): Promise<void>;
  /**
   * One step per host, each a job: run in `order` (in `rotationBatch` children for a large
   * fleet), each step marked as its job goes; throws the first failure. Answers the outcomes.
   */
  onHosts(items: Array<{ step: RotationStep; job: HostJob }>, order: 'in-turn' | 'together'): Promise<HostJobOutcome[]>;
  /** Jobs that no step shows (cleanup), every one tried; their outcomes. */
  hostJobs(jobs: HostJob[]): Promise<HostJobOutcome[]>;
  /** Whether the step may have changed something: it started, and did not fail before reaching its host. */
  mayHaveRun(step: RotationStep): boolean;
  /** Values the rotation handles: scrubbed from every error it records or answers. */
  hide(values: string[]): void;
}

/** One kind of rotation: its forward steps, how they unwind, and what goes once it has ended either way. */
export interface RotationSaga {
  run(): Promise<void>;
  /**
   * After `run` succeeded: steps that retire the old credential (a recipe's `finally`). Their
   * failure undoes nothing; the rotation ends `failed`, saying what is left to do.
   */
  finishing?: { run(): Promise<void>; leftToFix(): string[] } | undefined;
  /** After a failure: the compensations in the order they must run. */
  unwind(): Compensation[];
  /** `keepBackups`: `leftToFix` sends the operator to them. */
  cleanup(keepBackups?: boolean): Promise<void>;
}

/** Each login (host, port and user) once: systemd instances on one host share it. */
export function distinctLogins(targets: Target[]): { name: string; host: HostRef }[] {
  const seen = new Map<string, { name: string; host: HostRef }>();
  for (const t of targets) {
    const key = hostKey(t);
    if (!seen.has(key)) seen.set(key, { name: t.hostName, host: t.host });
  }
  return [...seen.values()];
}

/** The first step of a rotation that changes Slipway's own credentials: their store must last. */
export async function checkCredentialStore(saga: Saga): Promise<void> {
  const name = 'check the credential store is on persistent storage';
  await saga.perform(saga.addStep(name), () => apiSteps.checkCredentialStore.executeWithOptions(summary(name), []));
}
