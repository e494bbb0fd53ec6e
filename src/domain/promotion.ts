import { formatDuration } from './duration.js';
import type { Ledger, Release } from './ledger.js';

/**
 * Promotion (docs/windows.md, "Promotion"): an environment with `promotion: {from, soak}` takes
 * only a release that was current and healthy in `from` for at least `soak`, counted from the
 * end of the run that made it current there. A release rolled back there never counts.
 */
export type PromotionVerdict =
  | { ok: true; release: Release }
  | { ok: false; condition: 'never-current' | 'rolled-back' | 'soak'; message: string; leftMs?: number | undefined };

/** Whether `sha` (full or a prefix) may go to an environment promoted from `from`, whose ledger is `ledger`, at `now`. */
export function promotionVerdict(ledger: Pick<Ledger, 'current' | 'knownGood' | 'retired'>, from: string, sha: string, soakMs: number, now: number): PromotionVerdict {
  const wanted = sha.toLowerCase();
  const matches = (release: Release) => !!release.sha?.startsWith(wanted);
  const short = sha.slice(0, 7);
  const soak = formatDuration(soakMs);
  // Known-good releases, newest first: each was current from its deployedAt until the next one's.
  const index = ledger.knownGood.findIndex(matches);
  if (index >= 0) {
    const release = ledger.knownGood[index]!;
    const isCurrent = index === 0 && !!ledger.current && matches(ledger.current);
    const until = isCurrent ? now : Date.parse(ledger.knownGood[index - 1]?.deployedAt ?? release.deployedAt);
    const soaked = until - Date.parse(release.deployedAt);
    if (soaked >= soakMs) return { ok: true, release };
    if (isCurrent) {
      const leftMs = soakMs - soaked;
      return { ok: false, condition: 'soak', leftMs, message: `${short} has been current in ${from} for ${roughly(soaked)}; the soak is ${soak}: ${roughly(leftMs)} left` };
    }
    return { ok: false, condition: 'soak', message: `${short} was current in ${from} for only ${roughly(soaked)} before a newer release replaced it; the soak is ${soak}` };
  }
  const retired = (ledger.retired ?? []).find(matches);
  if (retired?.reason.startsWith('rolled back from')) return { ok: false, condition: 'rolled-back', message: `${short} was rolled back in ${from} (${retired.reason}): a release rolled back there never counts` };
  return { ok: false, condition: 'never-current', message: `${short} has never been current and healthy in ${from}${retired ? ` (it left ${from}'s known-good releases: ${retired.reason})` : ''}` };
}

/** A wait as a person says it: seconds under two minutes, then minutes, then hours. */
function roughly(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7_200) return `${Math.ceil(s / 60)}m`;
  return `${Math.floor(s / 3_600)}h${Math.ceil((s % 3_600) / 60)}m`;
}
