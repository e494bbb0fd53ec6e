import { buildRotationPlan } from '../config/plan.js';
import { own, type SlipwayConfig } from '../config/schema.js';
import { FailureType } from '../domain/failures.js';
import { enqueueRotation } from '../temporal/enqueue.js';
import type { ScheduledRotationInput } from '../workflows/scheduled-rotation.js';
import { temporalClient, workerTaskQueue } from './context.js';
import { permanentFailure } from './failure.js';

/** Activities that talk to Temporal itself: a Schedule's run queues its rotation like the API would. */
export function temporalActivities({ config }: { config: SlipwayConfig }) {
  return {
    async enqueueScheduledRotation({ service, environment, request }: ScheduledRotationInput): Promise<string> {
      const svc = own(config.services, service);
      const env = svc && own(svc.environments, environment);
      if (!svc || !env) throw permanentFailure(FailureType.InvalidInput, `the schedule names ${service}/${environment}, which the config no longer has; delete the schedule`);
      const plan = buildRotationPlan(service, svc, environment, env, request);
      return (await enqueueRotation(temporalClient(), workerTaskQueue(), plan, config.ssh.commandTimeout)).runId;
    },
  };
}
