import assert from 'node:assert/strict';
import {
  emptyLedger, HISTORY_LIMIT, KNOWN_GOOD_LIMIT, recordLostRun, recordRotation, recordRun, rollbackRelease, type Ledger,
} from '../../../src/domain/ledger.js';
import type { RotationView } from '../../../src/domain/rotation.js';
import type { Run } from '../../../src/domain/run.js';

/** The release ledger: what runs now, what is known good to return to, and what happened. */
const sha = (n: number) => `${n.toString(16)}f`.padEnd(40, 'a');
const images = (n: number) => ({ backend: `ghcr.io/acme/shop:sha-${n}@sha256:${n.toString(16).padStart(64, '0')}` });

function run(n: number, status: Run['status'], kind: Run['kind'] = 'deploy', extra: Partial<Run> = {}): Run {
  return {
    id: `${kind}-${n}`, kind, service: 'shop', environment: 'production', version: { sha: sha(n), images: images(n) }, previous: null,
    status, phase: 'done', targets: [], createdAt: '2026-12-01T00:00:00Z', updatedAt: '2026-12-01T00:00:00Z', finishedAt: `2026-12-01T00:00:${String(n % 60).padStart(2, '0')}Z`,
    ...extra,
  };
}

const deployed = (...ns: number[]): Ledger => ns.reduce((l, n) => recordRun(l, run(n, 'succeeded'), 'now'), emptyLedger());

describe('the release ledger', () => {
  it('makes a succeeded run current and known good, newest first, with its pinned images', () => {
    const ledger = deployed(1, 2);
    assert.equal(ledger.current?.sha, sha(2));
    assert.deepEqual(ledger.current?.images, images(2));
    assert.deepEqual(ledger.knownGood.map((r) => r.sha), [sha(2), sha(1)]);
    assert.deepEqual(ledger.history.map((h) => [h.runId, h.status]), [['deploy-2', 'succeeded'], ['deploy-1', 'succeeded']]);
  });

  it('keeps what runs when a run fails or rolls back, and notes the run with its error and what it left to fix', () => {
    const failed = run(3, 'failed', 'deploy', { error: { type: 'HealthCheckFailed', step: 'web-2: health checks', message: 'web-2 unhealthy' }, leftToFix: [{ target: 'web-3', version: sha(2), error: 'unreachable', type: 'HostUnreachable' }] });
    const ledger = recordRun(deployed(1, 2), failed, 'now');
    assert.equal(ledger.current?.sha, sha(2));
    assert.deepEqual(ledger.knownGood.map((r) => r.sha), [sha(2), sha(1)]);
    assert.deepEqual(ledger.history[0], {
      runId: 'deploy-3', kind: 'deploy', status: 'failed', sha: sha(3), finishedAt: failed.finishedAt, error: 'web-2 unhealthy',
      leftToFix: [`web-3 is left on ${sha(2)}: unreachable`],
    });
  });

  it('rolls back by default to the newest known-good version other than the current one, or to a named SHA prefix', () => {
    const ledger = deployed(1, 2, 3);
    assert.equal(rollbackRelease(ledger)?.sha, sha(2));
    assert.equal(rollbackRelease(ledger, sha(1).slice(0, 10).toUpperCase())?.sha, sha(1));
    assert.equal(rollbackRelease(ledger, 'ffffff'), undefined);
    assert.equal(rollbackRelease(deployed(1)), undefined, 'nothing before the first deploy');
  });

  it('retires the version a rollback left, so that the next default rollback never bounces back to it', () => {
    const before = deployed(1, 2, 3);
    const after = recordRun(before, run(2, 'succeeded', 'rollback', { id: 'rollback-2', reason: 'bad canary' }), 'now');
    assert.equal(after.current?.sha, sha(2));
    assert.deepEqual(after.knownGood.map((r) => r.sha), [sha(2), sha(1)]);
    assert.equal(after.retired?.[0]?.sha, sha(3));
    assert.match(after.retired![0]!.reason, /rolled back from by rollback-2 \(bad canary\)/);
    assert.equal(rollbackRelease(after)?.sha, sha(1));
    // Deployed again later, it is good again.
    assert.ok(!recordRun(after, run(3, 'succeeded'), 'now').retired?.some((r) => r.sha === sha(3)));
  });

  it(`keeps the last ${KNOWN_GOOD_LIMIT} known-good versions, retiring older ones, and the last ${HISTORY_LIMIT} runs`, () => {
    const many = deployed(...Array.from({ length: HISTORY_LIMIT + 5 }, (_, i) => i + 1));
    assert.equal(many.knownGood.length, KNOWN_GOOD_LIMIT);
    assert.equal(many.history.length, HISTORY_LIMIT);
    assert.equal(many.history.at(-1)?.runId, 'deploy-6');
    assert.match(many.retired![0]!.reason, new RegExp(`older than the last ${KNOWN_GOOD_LIMIT}`));
  });

  it('notes rotations and runs that ended without a result, changing no version', () => {
    const rotation: RotationView = {
      id: 'rotation-1', kind: 'env-secret', service: 'shop', environment: 'production', status: 'failed', steps: [],
      leftToFix: ['restore API_KEY on web-1'], createdAt: 'x', updatedAt: 'x', finishedAt: '2026-12-02T00:00:00Z',
    };
    const ledger = recordLostRun(recordRotation(deployed(1), rotation, 'now'), 'deploy-9', '2026-12-03T00:00:00Z');
    assert.equal(ledger.current?.sha, sha(1));
    assert.deepEqual(ledger.history.slice(0, 2).map((h) => [h.runId, h.kind, h.status, h.sha]), [['deploy-9', 'deploy', 'aborted', null], ['rotation-1', 'rotation', 'failed', null]]);
    assert.deepEqual(ledger.history[1]!.leftToFix, ['restore API_KEY on web-1']);
    assert.match(ledger.history[0]!.error!, /terminated or cancelled/);
  });
});
