/**
 * Deploy windows and freezes (docs/windows.md): when an environment takes runs. Pure, and
 * used by the environment workflow too: the time zones are the runtime's `Intl` (the worker's
 * tz database), the instants Temporal's workflow clock.
 */
export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Day = (typeof DAYS)[number];

/** Days and hours (`HH:MM`, `from` inclusive, `to` exclusive) in an IANA time zone. */
export interface AllowWindow {
  days: Day[];
  from: string;
  to: string;
  timeZone: string;
}

/** An interval of absolute time (ISO 8601) in which nothing starts. */
export interface Freeze {
  from: string;
  to: string;
  reason: string;
}

export interface WindowsPlan {
  allow: AllowWindow[];
  freezes: Freeze[];
  /** A run going when its window closes (or a freeze begins) pauses before its next batch until it opens again. */
  pauseBetweenBatches?: boolean | undefined;
}

/** Why a run waits, and until when it will. */
export interface WaitingFor {
  kind: 'window' | 'freeze';
  /** When it starts by itself (ISO 8601). */
  until: string;
  reason: string;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is one this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** `HH:MM` as minutes since midnight; undefined when it is not a time of day. */
export function minutesOf(time: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time) ?? (time === '24:00' ? ['', '24', '00'] : null);
  return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
}

/** The wall clock of instant `ms` in `timeZone`, as if it were UTC (its calendar day and time). */
function wallClock(ms: number, timeZone: string): number {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
}

/** The zone's offset from UTC at `ms`: its wall clock minus the instant (to the second). */
function offsetAt(ms: number, timeZone: string): number {
  return wallClock(ms, timeZone) - Math.floor(ms / 1000) * 1000;
}

/** A stretch of time in which the zone's offset does not change: its wall clock runs with it. */
interface Stretch {
  start: number;
  end: number;
  offset: number;
}

/** The stretches of constant offset from `ms` for `horizon` (zones change offset at most once in 6 hours). */
function stretches(ms: number, horizon: number, timeZone: string): Stretch[] {
  const STEP = 6 * 3_600_000;
  const out: Stretch[] = [];
  let start = ms;
  let offset = offsetAt(ms, timeZone);
  for (let probe = ms + STEP; probe < ms + horizon + STEP; probe += STEP) {
    if (offsetAt(probe, timeZone) === offset) continue;
    // The change is in (probe - STEP, probe]: the first second with the new offset.
    let [lo, hi] = [Math.floor((probe - STEP) / 1000), Math.floor(probe / 1000)];
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetAt(mid * 1000, timeZone) === offset) lo = mid;
      else hi = mid;
    }
    out.push({ start, end: hi * 1000, offset });
    start = hi * 1000;
    offset = offsetAt(start, timeZone);
  }
  out.push({ start, end: ms + horizon + STEP, offset });
  return out;
}

const dayOf = (wall: number): Day => DAYS[new Date(wall).getUTCDay()]!;

/** Whether `ms` is inside `window` (its day, and from ≤ time < to, in its zone). */
export function inWindow(window: AllowWindow, ms: number): boolean {
  const wall = wallClock(ms, window.timeZone);
  const minutes = Math.floor((wall % DAY) / MINUTE);
  return window.days.includes(dayOf(wall)) && minutes >= minutesOf(window.from)! && minutes < minutesOf(window.to)!;
}

/**
 * The next time `window` is open, from `ms` on (`ms` itself when open then), and when that
 * stretch closes. Worked out on the zone's stretches of constant offset, so a daylight-saving
 * change (an hour skipped or repeated) opens and closes it as its wall clock says.
 */
export function nextOpening(window: AllowWindow, ms: number): { opens: number; closes: number } {
  const [from, to] = [minutesOf(window.from)! * MINUTE, minutesOf(window.to)! * MINUTE];
  // Each stretch's open intervals, in instants, in order: [day + from, day + to) on its wall clock.
  const open: Array<[number, number]> = [];
  for (const { start, end, offset } of stretches(ms, 9 * DAY, window.timeZone)) {
    const firstDay = Math.floor((start + offset) / DAY) * DAY;
    for (let day = firstDay; day < end + offset; day += DAY) {
      if (!window.days.includes(dayOf(day))) continue;
      const [a, b] = [Math.max(day + from - offset, start, ms), Math.min(day + to - offset, end)];
      if (a < b) open.push([a, b]);
    }
  }
  open.sort((x, y) => x[0] - y[0]);
  const first = open[0];
  // Unreachable with at least one day listed: a week always holds one.
  if (!first) throw new Error(`window ${window.days.join(',')} ${window.from}-${window.to} never opens`);
  let closes = first[1];
  // A change of offset inside the window splits it: it closes where the intervals stop touching.
  for (const [a, b] of open.slice(1)) if (a <= closes) closes = Math.max(closes, b);
  return { opens: first[0], closes };
}

const describeWindows = (allow: AllowWindow[]) => allow.map((w) => `${w.days.join(',')} ${w.from}-${w.to} ${w.timeZone}`).join('; ');

/**
 * Whether a run may start at `ms`: undefined when it may, else why not and the first instant
 * it may (the end of the freeze, the opening of the next window, whichever comes last once
 * both are taken into account).
 */
export function waitingFor(windows: WindowsPlan | undefined, ms: number): WaitingFor | undefined {
  if (!windows) return undefined;
  let at = ms;
  let first: Omit<WaitingFor, 'until'> | undefined;
  for (let i = 0; i < 1_000; i++) {
    const freezes = windows.freezes.filter((f) => Date.parse(f.from) <= at && at < Date.parse(f.to));
    if (freezes.length) {
      first ??= { kind: 'freeze', reason: freezes.map((f) => f.reason).join('; ') };
      at = Math.max(...freezes.map((f) => Date.parse(f.to)));
      continue;
    }
    if (!windows.allow.length || windows.allow.some((w) => inWindow(w, at))) break;
    first ??= { kind: 'window', reason: `outside the deploy windows (${describeWindows(windows.allow)})` };
    at = Math.min(...windows.allow.map((w) => nextOpening(w, at).opens));
  }
  return first ? { ...first, until: new Date(at).toISOString() } : undefined;
}

/**
 * What `GET …/environments/:environment` says of the windows at `ms`: whether a run may start
 * now, the window a run would start in (now, or the first one after any freeze), and the
 * freeze in force.
 */
export function windowsNow(windows: WindowsPlan, ms: number): { open: boolean; window: { opens: string; closes: string } | null; freeze: Freeze | null } {
  const wait = waitingFor(windows, ms);
  const from = wait ? Date.parse(wait.until) : ms;
  const next = windows.allow.map((w) => nextOpening(w, from)).sort((a, b) => a.opens - b.opens)[0];
  const freeze = windows.freezes.find((f) => Date.parse(f.from) <= ms && ms < Date.parse(f.to)) ?? null;
  return {
    open: !wait,
    window: next ? { opens: new Date(next.opens).toISOString(), closes: new Date(next.closes).toISOString() } : null,
    freeze,
  };
}
