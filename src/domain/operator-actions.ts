import { FINISHED_STATUSES, type Run } from './run.js';

/** What an operator may ask of a deploy or rollback run (each a Temporal update of the run). */
export const OPERATOR_ACTIONS = ['approve', 'pause', 'resume', 'abort', 'retry', 'rollback'] as const;
export type OperatorAction = typeof OPERATOR_ACTIONS[number];

/** A run's state as far as the operator's actions go: where it is, and what was already asked of it. */
export interface ActionState {
  run: Pick<Run, 'status' | 'phase' | 'awaitingOperator'>;
  pauseRequested: boolean;
  abortRequested: boolean;
  /** An abort reached the rollback itself: it stops where it is. */
  rollbackAborted: boolean;
}

/**
 * Why the run's state refuses `action` (the API answers `409` with it), or undefined when the
 * run accepts it. Every state that is not final can be aborted: an abort rolls back what the
 * run touched, and an abort of that rollback (or of one a failed gate started) stops it.
 */
export function refusal(action: OperatorAction, { run, pauseRequested, abortRequested, rollbackAborted }: ActionState): string | undefined {
  const state = `the run is ${run.status}`;
  switch (action) {
    case 'approve':
      return run.status === 'awaiting_approval' ? undefined : `${state}, not awaiting approval`;
    case 'pause':
      return run.status === 'running' && !pauseRequested && run.phase !== 'preflight' && run.phase !== 'rollback'
        ? undefined : `${state}${pauseRequested ? ' and already pausing' : ''}: only a rolling-out run can pause`;
    case 'resume':
      return run.status === 'paused' || pauseRequested ? undefined : `${state}, not paused`;
    case 'retry':
      return run.status === 'awaiting_operator' || (run.status === 'failed' && !!run.awaitingOperator) ? undefined : `${state}: retry applies to a run awaiting an operator`;
    case 'rollback':
      return run.status === 'awaiting_operator' ? undefined : `${state}: rollback applies to a run awaiting an operator`;
    case 'abort':
      if (FINISHED_STATUSES.includes(run.status) && !run.awaitingOperator) return `${state}: nothing to abort`;
      return rollbackAborted || (abortRequested && run.phase !== 'rollback') ? `${state}: already aborting` : undefined;
  }
}

/**
 * What a caller may press on a run, as the console shows it: each action with null when it
 * may, or why not (its token's scope, or the run's state). The run's own validators have the
 * last word; this reads its state as the API answers it.
 */
export function actionsFor(run: Pick<Run, 'status' | 'phase' | 'awaitingOperator' | 'waitingFor' | 'service' | 'environment'>, may: { deploy: boolean; admin: boolean }): Record<OperatorAction | 'override', string | null> {
  const scope = `your token has no deploy:${run.service}/${run.environment} scope`;
  const state = { run, pauseRequested: false, abortRequested: false, rollbackAborted: false };
  const queued = run.status === 'queued';
  const actions = Object.fromEntries(OPERATOR_ACTIONS.map((action) => {
    if (!may.deploy) return [action, scope];
    if (queued && action !== 'abort') return [action, 'the run is queued: it has not started'];
    return [action, refusal(action, state) ?? null];
  })) as Record<OperatorAction, string | null>;
  const override = !may.admin ? 'override needs an admin token'
    : !queued || !run.waitingFor ? 'override applies to a run waiting for its deploy window or the end of a freeze' : null;
  return { ...actions, override };
}
