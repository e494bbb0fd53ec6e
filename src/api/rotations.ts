import { notificationsFor } from '../config/notifications.js';
import { randomBytes } from 'node:crypto';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { parseDuration } from '../domain/duration.js';
import { homeOf, type RotationPlan, type RotationView } from '../domain/rotation.js';
import { enqueueRotation, rotationIdFor } from '../temporal/enqueue.js';
import { rotationAbortUpdate, rotationQuery, rotationRetryUpdate, type ScheduledRotationInput } from '../workflows/contract.js';
import { idempotencyConflict, type Idempotency } from './idempotency.js';
import { runLinks, temporalUiLink } from '../domain/links.js';
import type { RunsOptions } from './runs.js';
import { describeOfType, environmentsOfId, keyUsedForAnother, QUERY_TIMEOUT_MS, queuedIn, refusedUpdateAsConflict, stillHeldBy } from './temporal-lookups.js';

export type RotationAnswer = RotationView & { links: { self: string; ui: string } };

export interface ScheduleView {
  id: string;
  kind: string;
  service: string;
  environment: string;
  every: string;
  nextRunAt?: string | undefined;
  links: { self: string; ui: string };
}

const SCHEDULE_PREFIX = 'slipway-rotation-';

/** Rotations are Temporal workflows, started in the environment's queue, and schedules of them. */
export class Rotations {
  constructor(private readonly client: Client, private readonly options: RunsOptions) {}

  view(rotation: RotationView): RotationAnswer {
    return { ...rotation, links: runLinks('rotation', rotation.id, this.options) };
  }

  /** Queues a rotation, answering at once; with an idempotency key, a repeat answers the rotation the key started. */
  async start(plan: RotationPlan, idempotency?: Idempotency): Promise<{ rotation: RotationAnswer; created: boolean }> {
    if (idempotency) {
      const earlier = await this.earlier(rotationIdFor(plan, idempotency), plan, idempotency);
      if (earlier) return { rotation: earlier, created: false };
    }
    const answer = await enqueueRotation(this.client, this.options.taskQueue, plan, {
      stepTimeoutMs: this.options.stepTimeoutMs, heartbeatTimeoutMs: this.options.heartbeatTimeoutMs,
      idempotency: idempotency ? { key: idempotency.key, requestHash: idempotency.requestHash } : undefined,
      notifications: (id) => notificationsFor(this.options.notifications ?? [], plan.service, 'rotation', runLinks('rotation', id, this.options)),
    });
    return { rotation: this.view(answer.rotation), created: true };
  }

  /**
   * The rotation this request (its key and body) started before, if it did; `409` when the key
   * was used for another request in the last 25 hours.
   */
  private async earlier(id: string, plan: RotationPlan, idempotency: Idempotency): Promise<RotationAnswer | undefined> {
    const rotation = await this.get(id);
    if (rotation) return rotation;
    if (await keyUsedForAnother(this.client, this.options.namespace, homeOf(plan), idempotency)) throw idempotencyConflict(idempotency);
    return undefined;
  }

  /**
   * The rotation, or undefined when there is none. One still waiting for its environment's
   * lock is `queued`, with its place in the queue (1: next).
   */
  async get(id: string): Promise<RotationAnswer | undefined> {
    const handle = this.client.workflow.getHandle(id);
    let description = await describeOfType(handle, 'rotation');
    if (!description) {
      const queued = await queuedIn(this.client, this.options.namespace, environmentsOfId(id, ['rotation'], this.options.environments), id);
      if (queued?.rotation) return this.view({ ...queued.rotation, queuePosition: queued.position });
      // Not queued (any more): it may have started between the two looks.
      description = await describeOfType(handle, 'rotation');
      if (!description) return undefined;
    }
    const stored = description.memo?.rotation as RotationView;
    switch (description.status.name) {
      case 'RUNNING': {
        const live = await this.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(rotationQuery)).catch(() => stored);
        if (live.status !== 'queued') return this.view(live);
        const home = { service: live.service, environment: live.environment };
        const queued = await queuedIn(this.client, this.options.namespace, [home, ...environmentsOfId(id, ['rotation'], this.options.environments)], id);
        return this.view(queued ? { ...live, queuePosition: queued.position } : live);
      }
    }
    const ended: RotationView = description.status.name === 'COMPLETED' ? await handle.result() as RotationView : {
      ...stored, status: 'failed', finishedAt: description.closeTime?.toISOString(),
      error: { type: 'WorkflowClosed', step: 'workflow', message: `the workflow ended as ${description.status.name}; check the hosts by hand` },
    };
    // Its work is done, but its environment has not recorded it yet: one more moment.
    if (await stillHeldBy(this.client, ended, description.closeTime)) return this.view({ ...ended, status: 'running', finishedAt: undefined });
    return this.view(ended);
  }

  /**
   * After a compensation failed: `retry` runs what is left again (an operator fixed its cause),
   * `abort` gives up, keeping `leftToFix` in the ledger and letting the environment's queue go on.
   */
  async act(id: string, action: 'retry' | 'abort'): Promise<RotationAnswer> {
    try {
      return this.view(await this.client.workflow.getHandle(id).executeUpdate(action === 'retry' ? rotationRetryUpdate : rotationAbortUpdate));
    } catch (error) {
      throw refusedUpdateAsConflict(error, action, 'rotation');
    }
  }

  async schedule(input: ScheduledRotationInput, every: string): Promise<ScheduleView> {
    const id = `${SCHEDULE_PREFIX}${input.service}-${input.environment}-${randomBytes(4).toString('hex')}`;
    const memo = { kind: input.request.kind, service: input.service, environment: input.environment, every };
    const handle = await this.client.schedule.create({
      scheduleId: id,
      spec: { intervals: [{ every: parseDuration(every)! }] },
      action: { type: 'startWorkflow', workflowType: 'scheduledRotation', args: [input], taskQueue: this.options.taskQueue, workflowId: `${id}-run` },
      memo,
      policies: { overlap: 'SKIP' },
    });
    const described = await handle.describe();
    return this.scheduleView(id, memo, described.info.nextActionTimes[0]);
  }

  async listSchedules(): Promise<ScheduleView[]> {
    const items: ScheduleView[] = [];
    for await (const schedule of this.client.schedule.list()) {
      if (!schedule.scheduleId.startsWith(SCHEDULE_PREFIX)) continue;
      items.push(this.scheduleView(schedule.scheduleId, schedule.memo as Omit<ScheduleView, 'id' | 'links'>, schedule.info?.nextActionTimes[0]));
    }
    return items;
  }

  async deleteSchedule(id: string): Promise<boolean> {
    if (!id.startsWith(SCHEDULE_PREFIX)) return false;
    try {
      await this.client.schedule.getHandle(id).delete();
      return true;
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) return false;
      throw error;
    }
  }

  private scheduleView(id: string, memo: Omit<ScheduleView, 'id' | 'links'> | undefined, next: Date | undefined): ScheduleView {
    return {
      id, kind: memo?.kind ?? 'unknown', service: memo?.service ?? 'unknown', environment: memo?.environment ?? 'unknown', every: memo?.every ?? 'unknown',
      ...(next ? { nextRunAt: next.toISOString() } : {}),
      links: { self: `/v1/schedules/${encodeURIComponent(id)}`, ui: temporalUiLink(this.options, `schedules/${encodeURIComponent(id)}`) },
    };
  }
}
