import assert from 'node:assert/strict';
import { board, changes, stepLogText } from '../../../src/cli/progress.js';
import type { Run } from '../../../src/domain/run.js';

/** What `slipway … --wait` and `slipway logs` print, from the answers of the API. */
describe('the CLI progress display', () => {
  const run = (web2: Partial<Run['targets'][number]>): Run => ({
    id: 'deploy-web-fleet-1', kind: 'deploy', service: 'web', environment: 'fleet', version: { sha: 'abc1234def', images: {} }, previous: null,
    status: 'running', phase: 'fleet', createdAt: '', updatedAt: '',
    targets: [{ id: 'web-1', name: 'web-1', status: 'healthy', batch: 1 }, { id: 'web-2', name: 'web-2', status: 'updating', batch: 2, ...web2 }],
  });

  it("shows each host's current step on the board, and a step change as a line of its own", () => {
    const pulling = run({ step: 'docker compose pull' });
    assert.match(board(pulling), /\n {2}batch 2\n {4}… web-2 updating: docker compose pull$/);
    assert.deepEqual(changes(pulling, run({ step: 'docker compose up -d' })), ['web-2 (batch 2): updating: docker compose up -d']);
    assert.deepEqual(changes(pulling, pulling), [], 'nothing new, nothing printed');
  });

  it('prints a step log with its time, duration, exit code and output', () => {
    const text = stepLogText({
      run: 'r', keptFor: '14d', target: { id: 'web-2', name: 'web-2', status: 'failed', batch: 2 },
      steps: [
        { phase: 'deploy', label: 'docker compose up -d', attempt: 2, status: 'failed', startedAt: '2026-11-24T10:00:01.000Z', durationMs: 1500, exitCode: 1, output: ['port in use'] },
        { phase: 'rollback', label: 'docker compose up -d', attempt: 1, status: 'running', startedAt: '2026-11-24T10:00:05.000Z', output: [] },
      ],
    });
    assert.equal(text, [
      'web-2  failed  batch 2',
      '  10:00:01  docker compose up -d  failed, 1.5 s  exit 1  attempt 2',
      '    | port in use',
      '  10:00:05  rollback: docker compose up -d  running',
    ].join('\n'));
  });
});
