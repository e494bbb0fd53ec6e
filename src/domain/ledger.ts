import type { PinnedImages } from './plan.js';
import type { RotationStatus, RotationView } from './rotation.js';
import type { Run, RunStatus } from './run.js';

/**
 * The release ledger of one service and environment: what runs there now, the versions that
 * ran healthy (with the exact pinned references to return to), and the runs that happened.
 */
export interface Release {
  sha: string | null;
  images: PinnedImages;
  runId: string;
  deployedAt: string;
}

export interface HistoryEntry {
  runId: string;
  kind: Run['kind'] | 'rotation';
  status: RunStatus | RotationStatus;
  sha: string | null;
  finishedAt: string;
  error?: string | undefined;
}

export interface Ledger {
  current: Release | null;
  knownGood: Release[];
  history: HistoryEntry[];
}

export const KNOWN_GOOD_LIMIT = 20;
export const HISTORY_LIMIT = 100;

export const emptyLedger = (): Ledger => ({ current: null, knownGood: [], history: [] });

/** The ledger after a run: a succeeded run's version becomes current and known-good. */
export function recordRun(ledger: Ledger, run: Run, at: string): Ledger {
  const entry: HistoryEntry = { runId: run.id, kind: run.kind, status: run.status, sha: run.version.sha, finishedAt: run.finishedAt ?? at, error: run.error?.message };
  const { history } = withEntry(ledger, entry);
  if (run.status !== 'succeeded') return { ...ledger, history };
  const release: Release = { sha: run.version.sha, images: run.version.images, runId: run.id, deployedAt: run.finishedAt ?? at };
  const sameVersion = (r: Release) => r.sha === release.sha && JSON.stringify(r.images) === JSON.stringify(release.images);
  const knownGood = [release, ...ledger.knownGood.filter((r) => !sameVersion(r))].slice(0, KNOWN_GOOD_LIMIT);
  return { current: release, knownGood, history };
}

/**
 * What a rollback returns to: the known-good release whose SHA starts with `sha`, or by
 * default the newest known-good version other than the current one.
 */
export function rollbackRelease(ledger: Ledger, sha?: string): Release | undefined {
  if (sha) return ledger.knownGood.find((r) => r.sha?.startsWith(sha.toLowerCase()));
  const current = ledger.current;
  return ledger.knownGood.find((r) => !current || r.sha !== current.sha || JSON.stringify(r.images) !== JSON.stringify(current.images));
}

/** A rotation changes no version: the history notes it. */
export function recordRotation(ledger: Ledger, rotation: RotationView, at: string): Ledger {
  return withEntry(ledger, { runId: rotation.id, kind: 'rotation', status: rotation.status, sha: null, finishedAt: rotation.finishedAt ?? at, error: rotation.error?.message });
}

/** A run that ended without a result (terminated, cancelled): history notes it, nothing else changes. */
export function recordLostRun(ledger: Ledger, runId: string, at: string): Ledger {
  return withEntry(ledger, { runId, kind: 'deploy', status: 'aborted', sha: null, finishedAt: at, error: 'the run ended without finishing (terminated or cancelled)' });
}

/** The newest entry first; the oldest go past HISTORY_LIMIT. */
function withEntry(ledger: Ledger, entry: HistoryEntry): Ledger {
  return { ...ledger, history: [entry, ...ledger.history].slice(0, HISTORY_LIMIT) };
}
