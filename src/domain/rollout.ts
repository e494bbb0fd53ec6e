/**
 * How a rollout is cut into batches: the first `canary` targets, then batches of `batchSize`.
 * Both are a count or a percentage of all targets; a percentage rounds up, so "10%" of three
 * targets is one, never zero.
 */
export function resolveCount(spec: number | string, total: number): number {
  if (total === 0) return 0;
  const count = typeof spec === 'number' ? spec : Math.ceil((Number(spec.replace('%', '')) / 100) * total);
  return Math.min(total, Math.max(1, count));
}

export function planBatches<T>(targets: T[], canary: number | string, batchSize: number | string): T[][] {
  const canaryCount = resolveCount(canary, targets.length);
  const size = resolveCount(batchSize, targets.length);
  const batches: T[][] = [];
  if (canaryCount) batches.push(targets.slice(0, canaryCount));
  for (let i = canaryCount; i < targets.length; i += size) batches.push(targets.slice(i, i + size));
  return batches;
}

/**
 * Past this many targets, each batch runs in a child workflow of its own: the run's history
 * then grows with the number of batches, not of targets (Temporal warns at 10,240 events).
 * Below it, a batch's activities run in the run's own history, which saves a child's start
 * and end per batch.
 */
export const CHILD_BATCH_THRESHOLD = 500;
