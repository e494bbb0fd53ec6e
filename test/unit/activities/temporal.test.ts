import assert from 'node:assert/strict';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TerminatedFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { temporalActivities, type RunQueue } from '../../../src/activities/temporal.js';
import type { SlipwayConfig } from '../../../src/config/schema.js';

/**
 * The wait of an environment that lent its lock to a run queued elsewhere (a recipe): the lock
 * comes back when that run has ended, and only then.
 */
describe('waiting for a run that holds a lent lock', () => {
  const awaitRunEnd = async (result: () => Promise<unknown>) => {
    const client = { workflow: { getHandle: () => ({ result }) }, withAbortSignal: (_: AbortSignal, fn: () => unknown) => fn() } as unknown as Client;
    const env = new MockActivityEnvironment(undefined, { client });
    const activities = temporalActivities({ config: {} as SlipwayConfig, queue: {} as RunQueue, uiUrl: 'http://localhost:8233' });
    return env.run(activities.awaitRunEnd, 'rotation-hooked-production-1');
  };

  it('answers the run when it ended with a result', async () => {
    assert.deepEqual(await awaitRunEnd(async () => ({ id: 'r', status: 'succeeded' })), { id: 'r', status: 'succeeded' });
  });

  it('answers null when the run ended without one (terminated) or is unknown: the lock is free', async () => {
    assert.equal(await awaitRunEnd(() => Promise.reject(new WorkflowFailedError('terminated', new TerminatedFailure('by an admin'), 'NON_RETRYABLE_FAILURE'))), null);
    assert.equal(await awaitRunEnd(() => Promise.reject(new WorkflowNotFoundError('no such workflow', 'r', undefined))), null);
  });

  it('fails, to be retried with the lock still lent, when Temporal cannot say how the run is', async () => {
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
    await assert.rejects(awaitRunEnd(() => Promise.reject(unavailable)), /UNAVAILABLE/);
  });
});
