import { notificationsFor, type NotificationConfig } from '../config/notifications.js';
import { runLinks } from '../domain/links.js';
import { createHash } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { refusal, type OperatorAction } from '../domain/operator-actions.js';
import type { DeployPlan } from '../domain/plan.js';
import { waitingFor } from '../domain/windows.js';
import { queuedRun, type Run, type RunStatus } from '../domain/run.js';
import type { EnvironmentRef } from '../domain/rotation.js';
import {
  abortQueuedUpdate, actionUpdates, environmentQuery, overrideWindowUpdate, queuedRunQuery, environmentWorkflowId, runExtras, type DeployInput, type EnvironmentView, type QueuedRun, type Unstarted,
} from '../workflows/contract.js';
import { enqueueWithEnvironment, runIdFor } from '../temporal/enqueue.js';
import { idempotencyConflict, type Idempotency } from './idempotency.js';
import { HttpProblem } from './problem.js';
import { describeOfType, environmentsOfId, keyUsedForAnother, QUERY_TIMEOUT_MS, queuedIn, refusedUpdateAsConflict, stillHeldBy } from './temporal-lookups.js';

export interface RunsOptions {
  taskQueue: string;
  namespace: string;
  stepTimeoutMs: number;
  /** How soon a step whose worker died is retried elsewhere (default 30 s). */
  heartbeatTimeoutMs?: number;
  /** The Temporal UI's base URL, for `links.ui`. */
  uiUrl: string;
  /** The config's hooks, told about runs as they go. */
  notifications?: NotificationConfig[] | undefined;
  /** The config's environments: where a run that has not started yet may be queued. */
  environments?: EnvironmentRef[] | undefined;
}

export type RunView = Run & { links: { self: string; ui: string } };

/** Runs are Temporal workflows: this starts them and reads them back for the API. */
export class Runs {
  constructor(private readonly client: Client, private readonly options: RunsOptions) {}

  view(run: Run): RunView {
    return { ...run, links: runLinks('run', run.id, this.options) };
  }

  /**
   * Queues a run with its environment's workflow (starting that workflow if need be) and
   * answers at once, without waiting on a worker: the run is `queued` until it holds the
   * environment's lock. With an idempotency key, a repeat answers the run the key started.
   */
  async enqueue(kind: Run['kind'], plan: DeployPlan, options: { idempotency?: Idempotency | undefined; rollbackTo?: string | undefined } & Pick<DeployInput, 'overrides' | 'promotion' | 'requestedBy'> = {}): Promise<{ run: RunView; created: boolean }> {
    const { idempotency } = options;
    const runId = runIdFor(`${kind}-${plan.service}-${plan.environment}`, idempotency);
    if (idempotency) {
      const earlier = await this.earlier(runId, plan, idempotency);
      if (earlier) return { run: earlier, created: false };
    }
    const createdAt = new Date().toISOString();
    const input: Unstarted<DeployInput> = {
      plan, kind, rollbackTo: options.rollbackTo, stepTimeoutMs: this.options.stepTimeoutMs, heartbeatTimeoutMs: this.options.heartbeatTimeoutMs, createdAt, uiUrl: runLinks('run', runId, this.options).ui,
      notifications: notificationsFor(this.options.notifications ?? [], plan.service, 'run', runLinks('run', runId, this.options)),
      ...(options.overrides?.length ? { overrides: options.overrides } : {}),
      ...(options.promotion ? { promotion: options.promotion } : {}),
      ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}),
    };
    await enqueueWithEnvironment(this.client, this.options.taskQueue, plan.service, plan.environment, {
      runId, input, ...(idempotency ? { idempotency: { key: idempotency.key, requestHash: idempotency.requestHash } } : {}),
    });
    // As its environment's workflow will say it: waiting for its window, or next in line.
    const wait = waitingFor(plan.windows, Date.now());
    return { run: this.view({ ...queuedRun(runId, kind, plan, createdAt, runExtras(input)), ...(wait ? { waitingFor: wait } : {}) }), created: true };
  }

  /**
   * The run this request (its key and body) started before, if it did; `409` when the key was
   * used for another request in the last 25 hours.
   */
  private async earlier(runId: string, plan: DeployPlan, idempotency: Idempotency): Promise<RunView | undefined> {
    const run = await this.get(runId);
    if (run) return run;
    if (await keyUsedForAnother(this.client, this.options.namespace, plan, idempotency)) throw idempotencyConflict(idempotency);
    return undefined;
  }

  /**
   * An operator's action on a run; `409` with the reason when the run's state forbids it. A run
   * still waiting in its environment's queue has no workflow yet: its environment aborts it.
   */
  async act(run: RunView, action: OperatorAction, by: string): Promise<RunView> {
    if (run.status === 'queued') {
      const refused = action === 'abort' ? undefined : refusal(action, { run, pauseRequested: false, abortRequested: false, rollbackAborted: false });
      if (refused) throw new HttpProblem(409, 'Conflict', `cannot ${action}: ${refused}`);
      const aborted = await this.abortQueued(run, by);
      if (aborted) return aborted;
      // Granted the lock meanwhile: its own workflow takes the abort.
      await this.untilStarted(run.id);
    }
    try {
      return this.view(await this.client.workflow.getHandle(run.id).executeUpdate(actionUpdates[action]));
    } catch (error) {
      throw refusedUpdateAsConflict(error, action, 'run');
    }
  }

  /**
   * An admin starts a run that waits for its window or a freeze's end: it goes as soon as it has
   * the lock. `409` when it is not waiting for one (started already, or not held by a window).
   */
  async overrideWindow(run: RunView, reason: string, by: string): Promise<RunView> {
    const environment = this.client.workflow.getHandle(environmentWorkflowId(run.service, run.environment));
    try {
      return this.view(await environment.executeUpdate(overrideWindowUpdate, { args: [{ runId: run.id, reason, by }] }));
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw new HttpProblem(409, 'Conflict', `cannot override: ${run.id} is ${run.status}${run.status === 'queued' ? ', not waiting for a deploy window or the end of a freeze' : ''}`);
      throw error;
    }
  }

  /** The run, aborted in its environment's queue; undefined when it is no longer there. */
  private async abortQueued(run: RunView, by: string): Promise<RunView | undefined> {
    const environment = this.client.workflow.getHandle(environmentWorkflowId(run.service, run.environment));
    try {
      return this.view(await environment.executeUpdate(abortQueuedUpdate, { args: [{ runId: run.id, reason: `by ${by}` }] }));
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) return undefined;
      throw error;
    }
  }

  async environment(service: string, environment: string): Promise<EnvironmentView> {
    try {
      return await this.client.workflow.getHandle(environmentWorkflowId(service, environment)).query(environmentQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return { current: null, knownGood: [], history: [], retired: [], active: null, queue: [] };
      throw error;
    }
  }

  /**
   * An admin's last resort: ends the run or rotation holding the environment (terminated, as
   * from the Temporal UI), so the environment records it as aborted and the queue goes on.
   */
  async release(service: string, environment: string, by: string, reason: string | undefined): Promise<{ released: string }> {
    const { active } = await this.environment(service, environment);
    if (!active) throw new HttpProblem(409, 'Conflict', `cannot release: nothing holds ${service}/${environment}`);
    try {
      await this.client.workflow.getHandle(active).terminate(`released by ${by}${reason ? `: ${reason}` : ''}`);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      // It ended on its own meanwhile: the environment lets it go all the same.
    }
    return { released: active };
  }

  /**
   * The run, or undefined when there is none. A run still waiting for its environment's lock
   * is `queued`, with its place in the queue (1: next); so is one queued so recently that its
   * workflow has not started yet.
   */
  async get(id: string): Promise<RunView | undefined> {
    const handle: WorkflowHandle = this.client.workflow.getHandle(id);
    let description = await describeOfType(handle, 'deploy');
    if (!description) {
      const queued = await this.queued(id);
      if (queued?.run) return this.view({ ...queued.run, queuePosition: queued.position });
      // Not queued (any more): it may have started between the two looks.
      description = await describeOfType(handle, 'deploy');
      if (!description) return undefined;
    }
    const stored = description.memo?.run as Run | undefined;
    const fallback = (status: RunStatus, message?: string): RunView => this.view({
      ...stored!,
      status,
      ...(message ? { error: { type: 'WorkflowClosed', step: 'workflow', message } } : {}),
      ...(description.closeTime ? { finishedAt: description.closeTime.toISOString() } : {}),
    });
    switch (description.status.name) {
      case 'RUNNING': {
        // Bounded by a deadline, not a race: a query no worker answers would otherwise go on
        // retrying after the caller has moved on.
        const live = await this.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query<Run>('run')).catch(() => undefined);
        if (live) return this.view(live);
        // No answer (its first workflow task has not run yet, or no worker is up): what was
        // stored at the start, with the last status.
        return fallback(description.searchAttributes?.SlipwayStatus?.[0] as RunStatus | undefined ?? 'running');
      }
    }
    const ended = await this.ended(handle, description.status.name, fallback);
    // Its work is done, but its environment has not recorded it yet: one more moment.
    if (await stillHeldBy(this.client, ended, description.closeTime)) return this.view({ ...ended, status: 'running', phase: 'done', finishedAt: undefined });
    return ended;
  }

  private async ended(handle: WorkflowHandle, status: string, fallback: (status: RunStatus, message?: string) => RunView): Promise<RunView> {
    switch (status) {
      case 'COMPLETED': return this.view(await handle.result() as Run);
      case 'TERMINATED': return fallback('aborted', 'the workflow was terminated');
      case 'CANCELLED': return fallback('aborted', 'the workflow was cancelled');
      default: return fallback('failed', `the workflow ended as ${status}`);
    }
  }

  /** A run granted the lock a moment ago may not have a workflow yet: wait (a few seconds at most) for it. */
  private async untilStarted(id: string): Promise<void> {
    const handle = this.client.workflow.getHandle(id);
    for (let i = 0; i < 50 && !(await describeOfType(handle, 'deploy')); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  /** Where run `id` waits in its environment's queue (the environments its id can belong to). */
  private queued(id: string): Promise<QueuedRun | undefined> {
    return queuedIn(this.client, this.options.namespace, environmentsOfId(id, ['deploy', 'rollback'], this.options.environments), id);
  }

  /**
   * Runs by newest first. Runs waiting in a queue have no workflow yet: the first page starts
   * with them (in queue order, not counted in `limit`), asked of their environments.
   */
  async list(filter: { service?: string | undefined; environment?: string | undefined; status?: string | undefined; limit: number; next?: string | undefined }): Promise<{ items: RunView[]; next?: string }> {
    const waiting = filter.next === undefined && (!filter.status || filter.status === 'queued') ? await this.waiting(filter) : [];
    if (filter.status === 'queued') return { items: waiting };
    const { items, next } = await this.listWorkflows(filter);
    return next ? { items: [...waiting, ...items], next } : { items: [...waiting, ...items] };
  }

  /** The runs waiting in the queues of the configured environments the filter names. */
  private async waiting(filter: { service?: string | undefined; environment?: string | undefined }): Promise<RunView[]> {
    const environments = (this.options.environments ?? []).filter((e) => (!filter.service || e.service === filter.service) && (!filter.environment || e.environment === filter.environment));
    const ask = <T>(fn: () => Promise<T>) => this.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, fn).catch(() => undefined);
    const perEnvironment = await Promise.all(environments.map(async ({ service, environment }) => {
      const handle = this.client.workflow.getHandle(environmentWorkflowId(service, environment));
      const view = await ask(() => handle.query(environmentQuery));
      const queued = await Promise.all((view?.queue ?? []).map((id) => ask(() => handle.query(queuedRunQuery, id))));
      return queued.flatMap((q) => (q?.run ? [this.view({ ...q.run, queuePosition: q.position })] : []));
    }));
    return perEnvironment.flat();
  }

  private async listWorkflows(filter: { service?: string | undefined; environment?: string | undefined; status?: string | undefined; limit: number; next?: string | undefined }): Promise<{ items: RunView[]; next?: string }> {
    const clauses = [`WorkflowType = 'deploy'`];
    if (filter.service) clauses.push(`SlipwayService = ${quoteValue(filter.service)}`);
    if (filter.environment) clauses.push(`SlipwayEnvironment = ${quoteValue(filter.environment)}`);
    if (filter.status) clauses.push(`SlipwayStatus = ${quoteValue(filter.status)}`);
    const nextPageToken = filter.next === undefined ? undefined : decodePageToken(filter.next);
    const answer = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.options.namespace,
      query: clauses.join(' AND '),
      pageSize: filter.limit,
      nextPageToken,
    });
    const ids = (answer.executions ?? []).map((e) => e.execution?.workflowId).filter((id): id is string => !!id);
    const items = (await Promise.all(ids.map((id) => this.get(id)))).filter((r): r is RunView => !!r);
    const token = answer.nextPageToken?.length ? encodePageToken(Buffer.from(answer.nextPageToken)) : undefined;
    return token ? { items, next: token } : { items };
  }
}

/**
 * `next` of a list: Temporal's page token with a checksum, so that a token this API never gave
 * is refused at once (400) instead of failing inside Temporal after its retries.
 */
function encodePageToken(token: Buffer): string {
  return `${token.toString('base64url')}.${pageTokenChecksum(token)}`;
}

function decodePageToken(text: string): Buffer {
  const [data, checksum, ...rest] = text.split('.');
  const token = Buffer.from(data ?? '', 'base64url');
  if (rest.length || !token.length || checksum !== pageTokenChecksum(token)) {
    throw new HttpProblem(400, 'Invalid request', 'next is not a page token this API gave: pass the "next" of the previous page as it was', [{ field: 'next', message: 'not a page token of this API' }]);
  }
  return token;
}

const pageTokenChecksum = (token: Buffer) => createHash('sha256').update('slipway-page\0').update(token).digest('base64url').slice(0, 12);

function quoteValue(value: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new HttpProblem(400, 'Invalid request', `invalid filter value ${JSON.stringify(value)}`, [{ field: 'query', message: 'letters, digits, "_", "." and "-" only' }]);
  return `'${value}'`;
}
