import assert from 'node:assert/strict';
import { planBatches, resolveCount } from '../../../src/domain/rollout.js';

describe('rollout batches', () => {
  const ten = Array.from({ length: 10 }, (_, i) => i + 1);
  it('takes counts and percentages, rounding up and never to zero', () => {
    assert.equal(resolveCount('10%', 3), 1);
    assert.equal(resolveCount('50%', 5), 3);
    assert.equal(resolveCount(20, 5), 5);
    assert.equal(resolveCount('100%', 7), 7);
  });
  it('puts the canary first, then batches of the rest', () => {
    assert.deepEqual(planBatches(ten, 1, '30%'), [[1], [2, 3, 4], [5, 6, 7], [8, 9, 10]]);
    assert.deepEqual(planBatches(ten, 2, 5), [[1, 2], [3, 4, 5, 6, 7], [8, 9, 10]]);
    assert.deepEqual(planBatches([1], 1, 1), [[1]]);
    assert.deepEqual(planBatches([], 1, 1), []);
  });
});
