import assert from 'node:assert/strict';
import type { DryRunPlan } from '../../../src/api/dry-run.js';
import { board, changes, planTable, stepLogText } from '../../../src/cli/progress.js';
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

  it('shows the hooks on the board, beforeDeploy above the batches and the others below, and each change as a line', () => {
    const running: Run = {
      ...run({ status: 'healthy' }),
      hooks: [
        { hook: 'beforeDeploy', target: 'web-1', command: 'beforeDeploy: ./backup.sh', status: 'succeeded' },
        { hook: 'afterDeploy', target: 'web-1', command: 'afterDeploy: ./smoke.sh', status: 'running' },
      ],
    };
    assert.equal(board(running), [
      'deploy of web abc1234 to fleet: running, phase fleet',
      '  hooks',
      '    ✔ web-1: beforeDeploy: ./backup.sh succeeded',
      '  batch 1 (canary)',
      '    ✔ web-1 healthy',
      '  batch 2',
      '    ✔ web-2 healthy',
      '  hooks',
      '    … web-1: afterDeploy: ./smoke.sh running',
    ].join('\n'));
    const failed: Run = { ...running, hooks: [running.hooks![0]!, { ...running.hooks![1]!, status: 'failed', error: 'exited with 1' }] };
    assert.deepEqual(changes(running, failed), ['web-1: afterDeploy: ./smoke.sh: failed (exited with 1)']);
  });

  it('prints a dry run\'s hooks where they would run: before the batches, after them, and if it rolls back', () => {
    const plan: DryRunPlan = {
      dryRun: true, kind: 'deploy', service: 'web', environment: 'fleet', commit: { sha: 'abc1234def', ref: 'abc1234def' }, checks: { state: 'not required', summary: 'off' },
      images: [], batches: [['web-1']], targets: [{ name: 'web-1', batch: 1, commands: ['docker compose up -d'], health: [] }], gates: [], bakeMs: 0, approval: false, queuedBehind: null,
      hooks: [
        { hook: 'beforeDeploy', on: 'web-1', command: 'cd /srv || exit 1\n./backup.sh' },
        { hook: 'afterRollback', on: 'web-1', command: 'cd /srv || exit 1\n./page.sh' },
      ],
    };
    assert.equal(planTable(plan).split('\n').slice(3).join('\n'), [
      '',
      'before any target changes:',
      '  beforeDeploy on web-1',
      '    $ cd /srv || exit 1',
      '      ./backup.sh',
      '',
      'batch 1: web-1',
      '  web-1',
      '    $ docker compose up -d',
      '',
      'if it rolls back, after the rollback:',
      '  afterRollback on web-1',
      '    $ cd /srv || exit 1',
      '      ./page.sh',
    ].join('\n'));
  });

  it('says why a queued run waits, and until when', () => {
    const queued: Run = { ...run({ status: 'pending' }), status: 'queued', phase: 'preflight', waitingFor: { kind: 'freeze', until: '2027-01-04T00:00:00.000Z', reason: 'year-end freeze' } };
    assert.equal(board(queued).split('\n')[0], 'deploy of web abc1234 to fleet: queued, waiting for the end of a freeze until 2027-01-04T00:00:00.000Z (year-end freeze)');
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
