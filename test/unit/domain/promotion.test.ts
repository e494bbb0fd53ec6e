import assert from 'node:assert/strict';
import type { Release } from '../../../src/domain/ledger.js';
import { promotionVerdict } from '../../../src/domain/promotion.js';

const release = (sha: string, deployedAt: string): Release => ({ sha, images: { backend: `r/b:sha-${sha.slice(0, 7)}@sha256:${'0'.repeat(64)}` }, runId: `deploy-${sha}`, deployedAt });
const MINUTE = 60_000;

describe('promotion: what an environment promoted from another may take', () => {
  const a = release('aaaaaaa111', '2026-12-03T10:00:00Z');
  const b = release('bbbbbbb222', '2026-12-03T10:10:00Z');
  const ledger = { current: b, knownGood: [b, a], retired: [{ ...release('ccccccc333', '2026-12-03T09:00:00Z'), reason: 'rolled back from by rollback-1', retiredAt: '2026-12-03T09:30:00Z' }] };
  const now = Date.parse('2026-12-03T10:22:00Z');

  it('takes the current release once it has soaked, counted from the end of its run', () => {
    assert.equal(promotionVerdict(ledger, 'staging', 'bbbbbbb222', 10 * MINUTE, now).ok, true);
    assert.equal(promotionVerdict(ledger, 'staging', 'bbbbbbb', 10 * MINUTE, now).ok, true, 'a SHA prefix names it');
    assert.deepEqual(promotionVerdict(ledger, 'staging', 'bbbbbbb222', 30 * MINUTE, now), {
      ok: false, condition: 'soak', leftMs: 18 * MINUTE, message: 'bbbbbbb has been current in staging for 12m; the soak is 30m: 18m left',
    });
  });

  it('takes an earlier release that was current for the soak before a newer one replaced it, not one replaced sooner', () => {
    assert.equal(promotionVerdict(ledger, 'staging', 'aaaaaaa111', 10 * MINUTE, now).ok, true);
    assert.deepEqual(promotionVerdict(ledger, 'staging', 'aaaaaaa111', 15 * MINUTE, now), {
      ok: false, condition: 'soak', message: 'aaaaaaa was current in staging for only 10m before a newer release replaced it; the soak is 15m',
    });
  });

  it('never takes a release rolled back there, or one never current there', () => {
    assert.deepEqual(promotionVerdict(ledger, 'staging', 'ccccccc333', 0, now), {
      ok: false, condition: 'rolled-back', message: 'ccccccc was rolled back in staging (rolled back from by rollback-1): a release rolled back there never counts',
    });
    assert.deepEqual(promotionVerdict(ledger, 'staging', 'ddddddd444', 0, now), { ok: false, condition: 'never-current', message: 'ddddddd has never been current and healthy in staging' });
    assert.equal(promotionVerdict({ current: null, knownGood: [] }, 'staging', 'aaaaaaa111', 0, now).ok, false);
  });
});
