import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { Runs } from '../../../src/api/runs.js';
import type { Run } from '../../../src/domain/run.js';
import { environmentWorkflowId } from '../../../src/workflows/contract.js';

/**
 * Temporal closes a run's workflow before its environment hears of it: the run must not be
 * reported ended while the environment's ledger still shows it going on. That moment cannot be
 * held open on a real server, so Temporal's answers are given here.
 */
describe('a run that has just ended', () => {
  const run: Run = {
    id: 'deploy-web-production-1', kind: 'deploy', service: 'web', environment: 'production',
    version: { sha: 'a'.repeat(40), images: {} }, previous: null, status: 'succeeded', phase: 'done', targets: [],
    createdAt: '2026-12-03T10:00:00Z', updatedAt: '2026-12-03T10:01:00Z', finishedAt: '2026-12-03T10:01:00Z',
  };
  const runsWith = (environment: { active: string | null } | Error, closedAt = new Date()) => {
    const handles: Record<string, object> = {
      [run.id]: { describe: async () => ({ type: 'deploy', status: { name: 'COMPLETED' }, closeTime: closedAt, memo: { run } }), result: async () => run },
      [environmentWorkflowId('web', 'production')]: {
        query: async () => {
          if (environment instanceof Error) throw environment;
          return { current: null, knownGood: [], history: [], retired: [], queue: [], ...environment };
        },
      },
    };
    const client = { workflow: { getHandle: (id: string) => handles[id] }, withDeadline: (_: number, fn: () => unknown) => fn() } as unknown as Client;
    return new Runs(client, { taskQueue: 'q', namespace: 'default', stepTimeoutMs: 1_000, uiUrl: 'http://localhost:8233' });
  };

  it('is still running (phase done) while its environment has not recorded it', async () => {
    const answer = await runsWith({ active: run.id }).get(run.id);
    assert.equal(answer?.status, 'running');
    assert.equal(answer?.phase, 'done');
    assert.equal(answer?.finishedAt, undefined);
  });

  it('is still running while its environment does not answer (its worker busy): that it recorded the run is not known', async () => {
    const answer = await runsWith(Object.assign(new Error('deadline exceeded'), { code: 4 })).get(run.id);
    assert.equal(answer?.status, 'running');
  });

  it('is reported as it ended once its environment has recorded it', async () => {
    const answer = await runsWith({ active: null }).get(run.id);
    assert.equal(answer?.status, 'succeeded');
    assert.equal(answer?.finishedAt, run.finishedAt);
  });

  it('is reported as it ended when it ended long ago, without asking the environment', async () => {
    const answer = await runsWith({ active: run.id }, new Date(Date.now() - 3_600_000)).get(run.id);
    assert.equal(answer?.status, 'succeeded');
  });
});
