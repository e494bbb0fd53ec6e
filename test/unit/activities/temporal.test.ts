import assert from 'node:assert/strict';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TerminatedFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { temporalActivities, type RunQueue } from '../../../src/activities/temporal.js';
import { parseConfig } from '../../../src/config/load.js';
import { enqueueRotation, enqueueWithEnvironment } from '../../../src/temporal/enqueue.js';
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

/** A Schedule's run queues its rotation through an activity, which may be tried more than once. */
describe('queueing a scheduled rotation', () => {
  const config = parseConfig(`
ssh: { privateKey: x, knownHosts: /k }
services:
  vault:
    runtime: { kind: compose, dir: /srv/vault }
    rotatable: { variables: [API_KEY] }
    environments:
      production: { targets: [ { name: web-1, address: 10.0.0.1 } ] }
`, { env: {} });

  it('queues one rotation, however often the activity is tried: a retry after a lost answer names the same run', async () => {
    const queued: string[] = [];
    // A client whose signal-with-start succeeds, as Temporal's did before the attempt timed out.
    const client = {
      options: { namespace: 'default' },
      workflow: { signalWithStart: async (_: string, options: { signalArgs: [{ runId: string }] }) => { queued.push(options.signalArgs[0].runId); } },
      withAbortSignal: (_: AbortSignal, fn: () => unknown) => fn(),
    } as unknown as Client;
    const activities = temporalActivities({ config, queue: { enqueueRotation, enqueueWithEnvironment }, uiUrl: 'http://localhost:8233' });
    const input = { service: 'vault', environment: 'production', request: { kind: 'env-secret' as const, variables: { API_KEY: { generate: { bytes: 32, encoding: 'hex' as const } } } } };
    const scheduledRun = { workflowId: 'rotate-vault-production-workflow-2026-12-03T00:00:00Z', runId: '0193-first' };
    for (let attempt = 1; attempt <= 2; attempt++) {
      const env = new MockActivityEnvironment({ attempt }, { client });
      await env.run(activities.enqueueScheduledRotation, input, scheduledRun);
    }
    assert.equal(queued.length, 2);
    assert.equal(queued[1], queued[0], 'both attempts queued the same run: the environment takes it once');
  });
});

