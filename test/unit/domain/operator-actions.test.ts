import assert from 'node:assert/strict';
import { OPERATOR_ACTIONS, refusal, type ActionState, type OperatorAction } from '../../../src/domain/operator-actions.js';
import type { Run } from '../../../src/domain/run.js';

/** What an operator may ask of a run in each state; a refusal is the API's 409, and says why. */
const state = (run: Partial<ActionState['run']>, asked: Partial<Omit<ActionState, 'run'>> = {}): ActionState => ({
  run: { status: 'running', phase: 'fleet', ...run }, pauseRequested: false, abortRequested: false, rollbackAborted: false, ...asked,
});
const accepted = (s: ActionState) => OPERATOR_ACTIONS.filter((action) => refusal(action, s) === undefined);

describe('operator actions on a run', () => {
  const cases: Array<[string, ActionState, OperatorAction[]]> = [
    ['queued', state({ status: 'queued', phase: 'preflight' }), ['abort']],
    ['in preflight', state({ phase: 'preflight' }), ['abort']],
    ['rolling out', state({ phase: 'fleet' }), ['pause', 'abort']],
    ['pausing, not yet paused', state({ phase: 'fleet' }, { pauseRequested: true }), ['resume', 'abort']],
    ['paused', state({ status: 'paused', phase: 'fleet' }, { pauseRequested: true }), ['resume', 'abort']],
    ['awaiting approval', state({ status: 'awaiting_approval', phase: 'bake' }), ['approve', 'abort']],
    ['awaiting an operator after a failed gate', state({ status: 'awaiting_operator', phase: 'canary' }), ['abort', 'retry', 'rollback']],
    ['rolling back', state({ phase: 'rollback' }), ['abort']],
    ['failed with a rollback left to finish', state({ status: 'failed', phase: 'rollback', awaitingOperator: true }), ['abort', 'retry']],
    ['aborting its rollback', state({ phase: 'rollback' }, { abortRequested: true, rollbackAborted: true }), []],
  ];
  for (const [what, s, actions] of cases) {
    it(`a run ${what} accepts ${actions.join(', ') || 'nothing'}`, () => assert.deepEqual(accepted(s), actions));
  }

  it('accepts nothing once the run has ended, and says so', () => {
    for (const status of ['succeeded', 'failed', 'rolled_back', 'aborted'] satisfies Run['status'][]) {
      const s = state({ status, phase: 'done' });
      assert.deepEqual(accepted(s), [], status);
      assert.equal(refusal('abort', s), `the run is ${status}: nothing to abort`);
    }
  });

  it('names the state in each refusal', () => {
    assert.equal(refusal('approve', state({})), 'the run is running, not awaiting approval');
    assert.equal(refusal('pause', state({ phase: 'fleet' }, { pauseRequested: true })), 'the run is running and already pausing: only a rolling-out run can pause');
    assert.equal(refusal('rollback', state({ status: 'failed', awaitingOperator: true })), 'the run is failed: rollback applies to a run awaiting an operator');
    assert.equal(refusal('abort', state({}, { abortRequested: true })), 'the run is running: already aborting');
  });
});
