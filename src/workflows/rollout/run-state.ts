import { CancellationScope, condition, isCancellation, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { NotificationEvent } from '../../config/notifications.js';
import type { Ledger } from '../../domain/ledger.js';
import { refName } from '../../domain/plan.js';
import { FINISHED_STATUSES, queuedRun, type Run, type RunError, type RunStatus } from '../../domain/run.js';
import { SEARCH_ATTRIBUTES } from '../../domain/search-attributes.js';
import { refusal, type OperatorAction } from '../../domain/operator-actions.js';
import { actionUpdates, runExtras, runQuery, type DeployInput } from '../contract.js';
import { runNotices } from '../notifier.js';

/** Raised inside the rollout when it must stop and put back what it touched. */
export class StopRollout extends Error {
  constructor(readonly outcome: 'rolled_back' | 'aborted', readonly error?: RunError) {
    super(outcome);
  }
}

/**
 * A run as the API shows it, with what operators asked of it: the run's state, its status
 * changes (search attributes and notifications), and the operator actions it accepts.
 */
export class RunState {
  readonly run: Run;
  ledger: Ledger | undefined;
  pauseRequested = false;
  approved = false;
  operator: 'retry' | 'rollback' | 'abort' | undefined;
  abortRequested = false;
  rollbackAborted = false;
  /** The step an abort cancels. */
  private inFlight: CancellationScope | undefined;
  private readonly notices;
  private startedNotice = false;
  /** The search attributes as last written (the environment started the run with them): the same again is not written. */
  private written: { status: RunStatus; version: string };

  constructor(private readonly input: DeployInput) {
    const { plan } = input;
    this.notices = runNotices(input.notifications, workflowInfo().workflowId);
    this.run = { ...queuedRun(workflowInfo().workflowId, input.kind ?? 'deploy', plan, input.createdAt, runExtras(input)), updatedAt: now() };
    this.written = { status: input.granted ? 'running' : 'aborted', version: refName(plan.ref) };
    this.ledger = input.granted;
    setHandler(runQuery, () => this.run);
    this.acceptOperatorActions();
  }

  target(id: string) {
    return this.run.targets.find((s) => s.id === id)!;
  }

  touch(): void {
    this.run.updatedAt = now();
  }

  setStatus(status: RunStatus): void {
    const { run } = this;
    run.status = status;
    run.updatedAt = now();
    const { ref } = this.input.plan;
    const version = run.version.sha ?? refName(ref);
    // Each write is a visibility update on the server.
    if (this.written.status !== status || this.written.version !== version) {
      upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: status }, { key: SEARCH_ATTRIBUTES.version, value: version }]);
      this.written = { status, version };
    }
    const event = noticeOf(status, !!run.awaitingOperator, !!run.finishedAt, this.startedNotice);
    if (event === 'started') this.startedNotice = true;
    if (event) this.notices.send(event, run);
  }

  /** An event no status change says (`promoted`), to the hooks that listen for it. */
  notify(event: NotificationEvent): void {
    this.notices.send(event, this.run);
  }

  /** Notifications still on their way, sent before the run ends. */
  flushNotices(): Promise<void> {
    return this.notices.flush();
  }

  /** Runs a step that `abort` can cancel: it then throws `StopRollout('aborted')`. */
  async cancellable<T>(step: () => Promise<T>): Promise<T> {
    if (this.abortRequested) throw new StopRollout('aborted');
    this.inFlight = new CancellationScope();
    try {
      return await this.inFlight.run(step);
    } catch (error) {
      if (this.abortRequested && isCancellation(error)) throw new StopRollout('aborted');
      throw error;
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Like `cancellable`, for the rollback: a cancelled step comes back as its own outcomes. */
  async abortable<T>(step: () => Promise<T>): Promise<T> {
    this.inFlight = new CancellationScope();
    try {
      return await this.inFlight.run(step);
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Waits for an operator's retry, rollback or abort. */
  async awaitOperator(): Promise<'retry' | 'rollback' | 'abort'> {
    this.operator = undefined;
    await condition(() => this.operator !== undefined);
    return this.operator!;
  }

  private acceptOperatorActions(): void {
    const { run } = this;
    // The validator refuses (409) what the run's state forbids; the handler applies the rest.
    const action = (name: OperatorAction, apply: () => void) => setHandler(actionUpdates[name], () => {
      apply();
      run.updatedAt = now();
      return run;
    }, { validator: () => { const reason = refusal(name, this); if (reason) throw new Error(reason); } });
    action('approve', () => { this.approved = true; });
    action('pause', () => { this.pauseRequested = true; });
    action('resume', () => { this.pauseRequested = false; });
    action('retry', () => { this.operator = 'retry'; });
    action('rollback', () => { this.operator = 'rollback'; });
    action('abort', () => {
      if (run.phase === 'rollback') this.rollbackAborted = true;
      this.abortRequested = true;
      this.operator = 'abort';
      this.inFlight?.cancel();
    });
  }
}

export const now = () => new Date().toISOString();

/** The notification a status change makes (docs/runs.md, "Notifications"), if any. */
export function noticeOf(status: RunStatus, awaitingOperator: boolean, finished: boolean, started: boolean): NotificationEvent | undefined {
  if (status === 'running') return started ? undefined : 'started';
  if (status === 'failed' && awaitingOperator) return 'awaiting_operator';
  if (status === 'queued' || status === 'paused') return undefined;
  if (FINISHED_STATUSES.includes(status) && !finished) return undefined;
  return status;
}
