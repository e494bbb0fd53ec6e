import assert from 'node:assert/strict';
import { FailureType, NON_RETRYABLE_FAILURES, TransientFailureType } from '../../../src/domain/failures.js';

/** The retry policies' non-retryable list is the permanent types, and no transient type is among them. */
describe('failure types', () => {
  it('lists every permanent type as non-retryable, and no transient one', () => {
    assert.deepEqual([...NON_RETRYABLE_FAILURES].sort(), Object.values(FailureType).sort());
    const transient: string[] = Object.values(TransientFailureType);
    assert.deepEqual(NON_RETRYABLE_FAILURES.filter((type) => transient.includes(type)), []);
  });

  it('names each type as its key, so that a type reads the same in code, history and the API', () => {
    for (const types of [FailureType, TransientFailureType]) {
      for (const [key, value] of Object.entries(types)) assert.equal(value, key);
    }
  });
});
