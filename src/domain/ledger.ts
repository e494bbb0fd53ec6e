import type { PinnedImages } from './plan.js';
import type { RotationStatus, RotationView } from './rotation.js';
import type { Run, RunOverride, RunStatus } from './run.js';

/**
 * The release ledger of one service and environment: what runs there now, the versions that
 * ran healthy (with the exact pinned references to return to), and the runs that happened.
 */
export interface Release {
  sha: string | null;
  images: PinnedImages;
  /** The schema revision its migrations go to (`runtime.migrate.revision`), when known. */
  revision?: string | undefined;
  runId: string;
  deployedAt: string;
  /** Who asked for the run that made it current (the API token's name), when known. */
  deployedBy?: string | undefined;
}

export interface HistoryEntry {
  runId: string;
  kind: Run['kind'] | 'rotation';
  status: RunStatus | RotationStatus;
  sha: string | null;
  finishedAt: string;
  error?: string | undefined;
  /** What the run or rotation left for an operator to do by hand. */
  leftToFix?: string[] | undefined;
  /** Rules an admin let the run past: a window, a freeze, a promotion's condition; with the reason and who. */
  overrides?: RunOverride[] | undefined;
  /** A promotion: where its release came from. */
  promotedFrom?: Run['promotedFrom'];
  /** Who asked for the run (the API token's name). */
  requestedBy?: string | undefined;
}

/** A version that is no longer known-good, and why. */
export interface RetiredRelease extends Release {
  reason: string;
  retiredAt: string;
}

export interface Ledger {
  current: Release | null;
  knownGood: Release[];
  history: HistoryEntry[];
  /** Versions that left `knownGood`, newest first (absent in ledgers from before it existed). */
  retired?: RetiredRelease[] | undefined;
  /**
   * The database schema's revision as the last run left it, when known: it may differ from
   * `current.revision` (a failed deploy's migration ran; a rollback without `downgrade`).
   */
  schemaRevision?: string | undefined;
}

export const KNOWN_GOOD_LIMIT = 20;
export const HISTORY_LIMIT = 100;
export const RETIRED_LIMIT = 20;

const sameVersion = (a: Release, b: Release) => a.sha === b.sha && JSON.stringify(a.images) === JSON.stringify(b.images);

export const emptyLedger = (): Ledger => ({ current: null, knownGood: [], history: [] });

/** The ledger after a run: a succeeded run's version becomes current and known-good. */
export function recordRun(ledger: Ledger, run: Run, at: string): Ledger {
  const finishedAt = run.finishedAt ?? at;
  const entry: HistoryEntry = {
    runId: run.id, kind: run.kind, status: run.status, sha: run.version.sha, finishedAt, error: run.error?.message,
    ...(run.leftToFix?.length ? { leftToFix: run.leftToFix.map((l) => `${l.target} is left on ${l.version}: ${l.error}`) } : {}),
    ...(run.overrides?.length ? { overrides: run.overrides } : {}),
    ...(run.promotedFrom ? { promotedFrom: run.promotedFrom } : {}),
    ...(run.requestedBy ? { requestedBy: run.requestedBy } : {}),
  };
  const { history } = withEntry(ledger, entry);
  // A migration moves the schema whatever the run's outcome.
  const schemaRevision = run.schemaRevision ?? ledger.schemaRevision;
  const schema = schemaRevision ? { schemaRevision } : {};
  if (run.status !== 'succeeded') return { ...ledger, history, ...schema };
  const release: Release = {
    sha: run.version.sha, images: run.version.images, runId: run.id, deployedAt: finishedAt,
    ...(run.version.revision ? { revision: run.version.revision } : {}), ...(run.requestedBy ? { deployedBy: run.requestedBy } : {}),
  };
  let retired = (ledger.retired ?? []).filter((r) => !sameVersion(r, release));
  // A version an operator rolled back from is not good: a default rollback must never return to it.
  const from = ledger.current;
  const rolledBackFrom = run.kind === 'rollback' && from && !sameVersion(from, release) ? from : undefined;
  if (rolledBackFrom) retired = [{ ...rolledBackFrom, reason: `rolled back from by ${run.id}${run.reason ? ` (${run.reason})` : ''}`, retiredAt: finishedAt }, ...retired];
  const kept = [release, ...ledger.knownGood.filter((r) => !sameVersion(r, release) && !(rolledBackFrom && sameVersion(r, rolledBackFrom)))];
  const dropped = kept.slice(KNOWN_GOOD_LIMIT).map((r) => ({ ...r, reason: `older than the last ${KNOWN_GOOD_LIMIT} known-good versions`, retiredAt: finishedAt }));
  retired = [...retired, ...dropped].slice(0, RETIRED_LIMIT);
  return { current: release, knownGood: kept.slice(0, KNOWN_GOOD_LIMIT), history, retired, ...schema };
}

/**
 * What a rollback returns to: the known-good release whose SHA starts with `sha`, or by
 * default the newest known-good version other than the current one.
 */
export function rollbackRelease(ledger: Ledger, sha?: string): Release | undefined {
  if (sha) return ledger.knownGood.find((r) => r.sha?.startsWith(sha.toLowerCase()));
  const current = ledger.current;
  return ledger.knownGood.find((r) => !current || !sameVersion(r, current));
}

/** A rotation changes no version: the history notes it. */
export function recordRotation(ledger: Ledger, rotation: RotationView, at: string): Ledger {
  return withEntry(ledger, {
    runId: rotation.id, kind: 'rotation', status: rotation.status, sha: null, finishedAt: rotation.finishedAt ?? at, error: rotation.error?.message,
    ...(rotation.leftToFix?.length ? { leftToFix: rotation.leftToFix } : {}),
  });
}

/**
 * A run or rotation that ended without a result (terminated, cancelled): history notes it,
 * with what was cleared after it (a rotation's locks and staged key); nothing else changes.
 */
export function recordLostRun(ledger: Ledger, runId: string, at: string, lost: { kind: 'deploy' | 'rotation'; note?: string | undefined } = { kind: 'deploy' }): Ledger {
  const what = lost.kind === 'rotation' ? 'rotation' : 'run';
  return withEntry(ledger, { runId, kind: lost.kind, status: 'aborted', sha: null, finishedAt: at, error: `the ${what} ended without finishing (terminated or cancelled)${lost.note ? `; ${lost.note}` : ''}` });
}

/**
 * An accepted run or rotation that never started (its workflow could not be started): the
 * history says why, so that no accepted request is lost without a trace.
 */
export function recordNotStarted(ledger: Ledger, at: string, entry: { runId: string; kind: HistoryEntry['kind']; sha: string | null; reason: string }): Ledger {
  return withEntry(ledger, { runId: entry.runId, kind: entry.kind, status: 'failed', sha: entry.sha, finishedAt: at, error: `never started: ${entry.reason}` });
}

/** The newest entry first; the oldest go past HISTORY_LIMIT. */
function withEntry(ledger: Ledger, entry: HistoryEntry): Ledger {
  return { ...ledger, history: [entry, ...ledger.history].slice(0, HISTORY_LIMIT) };
}
