import { QueryNotRegisteredError, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { notificationsFor } from '../config/notifications.js';
import { runLinks } from '../domain/links.js';
import { buildRotationPlan } from '../config/plan.js';
import { rotatableRefusals } from '../config/rotatable.js';
import { own, type SlipwayConfig } from '../config/schema.js';
import { FailureType } from '../domain/failures.js';
import type { EnvironmentRef, RotationView } from '../domain/rotation.js';
import type { Run } from '../domain/run.js';
import type { enqueueRotation, enqueueWithEnvironment } from '../temporal/enqueue.js';
import { drainedTargetsQuery, type ScheduledRotationInput } from '../workflows/contract.js';
import { cancellationSignal, heartbeat, temporalClient, workerTaskQueue } from './context.js';
import { permanentFailure } from './failure.js';

/** How runs are queued (`src/temporal/enqueue.ts`): the worker hands them in. */
export interface RunQueue {
  enqueueRotation: typeof enqueueRotation;
  enqueueWithEnvironment: typeof enqueueWithEnvironment;
}

/**
 * Activities that talk to Temporal itself: a Schedule's run queues its rotation like the API
 * would. `uiUrl` is the Temporal UI that a scheduled rotation's links open.
 */
export function temporalActivities({ config, queue, uiUrl }: { config: SlipwayConfig; queue: RunQueue; uiUrl: string }) {
  return {
    /**
     * Queues a Schedule's rotation, keyed by the scheduled run (`scheduledRun`): an attempt
     * retried after its signal-with-start went through (and its answer was lost) queues the
     * same rotation, which the environment takes once, never a second provisioning.
     */
    async enqueueScheduledRotation({ service, environment, request }: ScheduledRotationInput, scheduledRun: { workflowId: string; runId: string }): Promise<string> {
      const svc = own(config.services, service);
      const env = svc && own(svc.environments, environment);
      if (!svc || !env) throw permanentFailure(FailureType.InvalidInput, `the schedule names ${service}/${environment}, which the config no longer has; delete the schedule`);
      if (request.kind === 'recipe' && !own(svc.rotations, request.recipe)) {
        throw permanentFailure(FailureType.InvalidInput, `the schedule names recipe "${request.recipe}" of ${service}, which the config no longer has; delete the schedule`);
      }
      const refused = request.kind === 'env-secret' ? rotatableRefusals(service, svc, request) : [];
      if (refused.length) {
        throw permanentFailure(FailureType.InvalidInput, `the schedule's rotation writes what ${service} no longer lets rotations write (${refused.map((r) => `${r.field}: ${r.message}`).join('; ')}); delete the schedule or change rotatable`);
      }
      const plan = buildRotationPlan(config, service, environment, request);
      const ui = { uiUrl, namespace: temporalClient().options.namespace };
      return (await queue.enqueueRotation(temporalClient(), workerTaskQueue(), plan, {
        stepTimeoutMs: config.ssh.commandTimeout,
        idempotency: { key: `scheduled:${scheduledRun.workflowId}/${scheduledRun.runId}`, requestHash: 'scheduled' },
        notifications: (id) => notificationsFor(config.notifications, service, 'rotation', runLinks('rotation', id, ui)),
      })).runId;
    },

    /** A recipe asks another environment for its lock: it queues there, and is signalled `lockGranted` in its turn. */
    async requestLock(lock: EnvironmentRef, holder: string): Promise<void> {
      await queue.enqueueWithEnvironment(temporalClient(), workerTaskQueue(), lock.service, lock.environment, { runId: holder, lockFor: holder });
    },

    /**
     * What a run that ended without its own cleanup (terminated: an admin's `release`) had
     * taken out of its load balancer: asked of its history, replayed (a query works on a
     * closed workflow). Empty when it drained nothing, or cannot say.
     */
    async drainedTargetsOf(workflowId: string): Promise<string[]> {
      try {
        return await temporalClient().workflow.getHandle(workflowId).query(drainedTargetsQuery);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError || error instanceof QueryNotRegisteredError) return [];
        throw error;
      }
    },

    /**
     * An environment lent its lock to a run queued elsewhere: this waits until that run has
     * ended, however it ends, and answers its result (null when it has none: failed,
     * terminated, or unknown). Any other error says nothing about the run (Temporal out of
     * reach, say): it is thrown, the attempt is retried, and the lock stays lent meanwhile.
     */
    async awaitRunEnd(workflowId: string): Promise<Run | RotationView | null> {
      const beat = setInterval(() => heartbeat({ waitingFor: workflowId }), HEARTBEAT_MS);
      try {
        return await temporalClient().workflow.getHandle(workflowId).result() as Run | RotationView;
      } catch (error) {
        if (cancellationSignal()?.aborted) throw error;
        if (error instanceof WorkflowFailedError || error instanceof WorkflowNotFoundError) return null;
        throw error;
      } finally {
        clearInterval(beat);
      }
    },
  };
}

const HEARTBEAT_MS = 10_000;
