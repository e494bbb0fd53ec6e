import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DAYS, inWindow, nextOpening, waitingFor, windowsNow, type AllowWindow } from '../../../src/domain/windows.js';
import { configProblems } from '../../support/config.js';

const at = (iso: string) => Date.parse(iso);
const weekdays: AllowWindow = { days: ['mon', 'tue', 'wed', 'thu'], from: '09:00', to: '16:00', timeZone: 'America/New_York' };

describe('deploy windows and freezes', () => {
  it('checks the days and hours in the window\'s time zone, across a daylight-saving change', () => {
    // New York is UTC-5 until Sunday 8 March 2026, then UTC-4.
    assert.equal(inWindow(weekdays, at('2026-03-05T14:00:00Z')), true, 'Thursday 09:00 EST');
    assert.equal(inWindow(weekdays, at('2026-03-05T13:59:59Z')), false, 'Thursday 08:59 EST');
    assert.equal(inWindow(weekdays, at('2026-03-09T13:00:00Z')), true, 'Monday 09:00 EDT');
    assert.equal(inWindow(weekdays, at('2026-03-09T20:00:00Z')), false, 'Monday 16:00 EDT: to is exclusive');
    // Asked on Thursday evening: the window opens on Monday, after the change, at 09:00 EDT.
    assert.deepEqual(waitingFor({ allow: [weekdays], freezes: [] }, at('2026-03-05T22:00:00Z')), {
      kind: 'window', until: '2026-03-09T13:00:00.000Z', reason: 'outside the deploy windows (mon,tue,wed,thu 09:00-16:00 America/New_York)',
    });
    // Paris skips 02:00-03:00 on 29 March 2026: a window from 02:30 opens at 03:00 CEST.
    const night: AllowWindow = { days: ['sun'], from: '02:30', to: '04:00', timeZone: 'Europe/Paris' };
    assert.deepEqual(nextOpening(night, at('2026-03-28T23:00:00Z')), { opens: at('2026-03-29T01:00:00Z'), closes: at('2026-03-29T02:00:00Z') });
  });

  it('holds a run through a freeze, then until the next window, and names the freeze', () => {
    const windows = { allow: [{ ...weekdays, timeZone: 'UTC' }], freezes: [{ from: '2026-12-23T00:00:00Z', to: '2027-01-04T00:00:00Z', reason: 'year-end freeze' }] };
    // Monday 4 January 2027 is a window day: the freeze's end is in the small hours, the window opens at 09:00.
    assert.deepEqual(waitingFor(windows, at('2026-12-24T10:00:00Z')), { kind: 'freeze', until: '2027-01-04T09:00:00.000Z', reason: 'year-end freeze' });
    assert.equal(waitingFor(windows, at('2026-12-22T10:00:00Z')), undefined, 'a Tuesday in the window, before the freeze');
    assert.deepEqual(windowsNow(windows, at('2026-12-24T10:00:00Z')), {
      open: false, window: { opens: '2027-01-04T09:00:00.000Z', closes: '2027-01-04T16:00:00.000Z' }, freeze: windows.freezes[0],
    });
    assert.equal(waitingFor(undefined, 0), undefined, 'no windows: always open');
    assert.equal(waitingFor({ allow: [], freezes: [] }, 0), undefined);
  });

  it('never lets a run wait through an open minute, and always ends the wait inside a window (random instants, zones, windows)', () => {
    const zones = ['UTC', 'America/New_York', 'Europe/Paris', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Santiago', 'Pacific/Chatham'];
    const window = fc.record({
      days: fc.uniqueArray(fc.constantFrom(...DAYS), { minLength: 1 }),
      from: fc.integer({ min: 0, max: 1438 }),
      length: fc.integer({ min: 1, max: 1439 }),
      timeZone: fc.constantFrom(...zones),
    }).map(({ days, from, length, timeZone }): AllowWindow => {
      const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
      return { days, from: hhmm(from), to: hhmm(Math.min(from + length, 1440)), timeZone };
    });
    // 2024 to 2030, so that daylight-saving changes come up often.
    fc.assert(fc.property(fc.array(window, { minLength: 1, maxLength: 3 }), fc.integer({ min: at('2024-01-01T00:00:00Z'), max: at('2030-01-01T00:00:00Z') }), (allow, now) => {
      const wait = waitingFor({ allow, freezes: [] }, now);
      const open = (ms: number) => allow.some((w) => inWindow(w, ms));
      if (!wait) return open(now);
      const until = Date.parse(wait.until);
      if (open(now) || until <= now || !open(until)) return false;
      // Every minute boundary before it is closed.
      for (let m = Math.ceil(now / 60_000) * 60_000; m < until; m += 60_000) if (open(m)) return false;
      return true;
    }), { numRuns: 150 });
  });

  it('names what is wrong in windows and promotion, by path', () => {
    const config = (production: string) => `
ssh: { privateKey: k, knownHosts: /kh }
services:
  shop:
    runtime: { kind: compose, dir: /srv/shop }
    environments:
      staging: { targets: [ { name: web-1, address: 10.0.0.1 } ] }
      production:
        targets: [ { name: web-2, address: 10.0.0.2 } ]
        ${production}
`;
    const path = 'services.shop.environments.production';
    assert.deepEqual(configProblems(config('windows: { allow: [ { days: [mon, funday], from: "16:00", to: "09:00", timeZone: Mars/Olympus } ] }'), {}), [
      `${path}.windows.allow[0].days[1]: expected a day: sun, mon, tue, wed, thu, fri, sat`,
      `${path}.windows.allow[0].timeZone: expected an IANA time zone like "Europe/Paris" or "UTC"`,
    ]);
    assert.deepEqual(configProblems(config('windows: { allow: [ { days: [mon], from: "16:00", to: "9:00", timeZone: UTC } ] }'), {}), [
      `${path}.windows.allow[0].to: expected a time of day like "09:00" (24-hour, up to "24:00")`,
    ]);
    assert.deepEqual(configProblems(config('windows: { allow: [ { days: [mon], from: "16:00", to: "09:00", timeZone: UTC } ] }'), {}), [
      `${path}.windows.allow[0].to: expected to after from (a window that spans midnight is two windows)`,
    ]);
    assert.deepEqual(configProblems(config('windows: { freezes: [ { from: "2027-01-04T00:00:00Z", to: "2026-12-23T00:00:00Z", reason: year-end }, { from: tomorrow, to: "2026-12-23T00:00:00Z", reason: x } ] }'), {}), [
      `${path}.windows.freezes[0].to: expected to after from`,
      `${path}.windows.freezes[1].from: expected an ISO 8601 date and time with its offset, like "2026-12-23T00:00:00Z"`,
    ]);
    assert.deepEqual(configProblems(config('promotion: { from: sandbox, soak: 30m }'), {}), [`${path}.promotion.from: names no environment of this service (staging, production)`]);
    assert.deepEqual(configProblems(config('promotion: { from: production }'), {}), [`${path}.promotion.from: an environment cannot be promoted from itself`]);
  });
});
