import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '@ibrest/common';
import {
  createMaintenanceSchedule,
  currentWindow,
  DEFAULT_MAINTENANCE_WINDOWS,
  loadMaintenanceWindows,
  MaintenanceWindowError,
  parseMaintenanceWindows,
} from '../src/index.js';
import { fromLocalMs, toLocalMs } from '../src/zoned-time.js';
import { manualClock } from './helpers.js';

const ny = DEFAULT_MAINTENANCE_WINDOWS; // daily 23:45-00:45 and Sun 00:00-02:00, New York time

describe('maintenance windows', () => {
  // [name, windows, now (UTC), expected endsAt (UTC) or null when outside, expected nextStartsAt when outside]
  const table: [string, string, string, string | null, string?][] = [
    ['daily reset, before midnight (EST = UTC-5)', ny, '2025-01-07T04:50:00Z', '2025-01-07T05:45:00Z'],
    ['daily reset, after midnight: the window crosses it', ny, '2025-01-07T05:30:00Z', '2025-01-07T05:45:00Z'],
    ['start is inclusive', ny, '2025-01-07T04:45:00Z', '2025-01-07T05:45:00Z'],
    ['end is exclusive', ny, '2025-01-07T05:45:00Z', null, '2025-01-08T04:45:00Z'],
    ['one second before the start', ny, '2025-01-07T04:44:59Z', null, '2025-01-07T04:45:00Z'],
    ['summer time shifts the UTC instant (EDT = UTC-4)', ny, '2025-03-11T03:50:00Z', '2025-03-11T04:45:00Z'],
    ['the night DST starts (Sat 8 → Sun 9 March 2025)', ny, '2025-03-09T04:50:00Z', '2025-03-09T07:00:00Z'],
    ['Saturday-night reset runs into the Sunday restart: merged', ny, '2025-01-12T04:50:00Z', '2025-01-12T07:00:00Z'],
    ['inside the Sunday restart only', ny, '2025-01-12T06:30:00Z', '2025-01-12T07:00:00Z'],
    ['Sunday restart is weekly: Monday 01:00 is outside', ny, '2025-01-13T06:00:00Z', null, '2025-01-14T04:45:00Z'],
    [
      'window spanning the spring-forward gap is an hour shorter',
      '01:00-04:00 America/New_York',
      '2025-03-09T07:30:00Z',
      '2025-03-09T08:00:00Z',
    ],
    [
      'window spanning the repeated hour is an hour longer',
      '01:00-04:00 America/New_York',
      '2025-11-02T06:30:00Z',
      '2025-11-02T09:00:00Z',
    ],
    [
      'weekday range Mon-Fri, on a Friday',
      'Mon-Fri 05:45-06:45 Europe/Zurich',
      '2025-01-10T05:00:00Z',
      '2025-01-10T05:45:00Z',
    ],
    [
      'weekday range Mon-Fri, not on Saturday',
      'Mon-Fri 05:45-06:45 Europe/Zurich',
      '2025-01-11T05:00:00Z',
      null,
      '2025-01-13T04:45:00Z',
    ],
    [
      'wrapping day range Fri-Mon includes Sunday',
      'Fri-Mon 12:00-13:00 Asia/Tokyo',
      '2025-01-12T03:30:00Z',
      '2025-01-12T04:00:00Z',
    ],
    [
      'a window starting on Saturday ends on Sunday',
      'Sat 22:00-01:00 UTC',
      '2025-01-12T00:30:00Z',
      '2025-01-12T01:00:00Z',
    ],
    [
      'southern hemisphere zone (Sydney, AEDT = UTC+11)',
      '23:00-00:30 Australia/Sydney',
      '2025-01-06T12:15:00Z',
      '2025-01-06T13:30:00Z',
    ],
  ];
  for (const [name, spec, now, endsAt, nextStartsAt] of table) {
    test(`maintenance windows – ${name}`, () => {
      const state = currentWindow(parseMaintenanceWindows(spec), new Date(now));
      if (endsAt === null) {
        assert.equal(state.inWindow, false);
        assert.equal(!state.inWindow && state.nextStartsAt?.toISOString(), new Date(nextStartsAt!).toISOString());
      } else {
        assert.equal(state.inWindow, true);
        if (!state.inWindow) return;
        assert.equal(state.endsAt.toISOString(), new Date(endsAt).toISOString());
        assert.equal(state.retryAfterSeconds, (Date.parse(endsAt) - Date.parse(now)) / 1000);
      }
    });
  }

  test('maintenance windows – wall time conversion resolves DST gaps forward, repeats to the earlier instant', () => {
    const zone = 'America/New_York';
    const fromLocal = (wall: number): string => new Date(fromLocalMs(wall, zone)).toISOString();
    assert.equal(fromLocal(Date.UTC(2025, 2, 9, 2, 30)), '2025-03-09T07:30:00.000Z'); // 03:30 EDT
    assert.equal(fromLocal(Date.UTC(2025, 10, 2, 1, 30)), '2025-11-02T05:30:00.000Z'); // 01:30 EDT
    assert.equal(toLocalMs(Date.parse('2025-11-02T06:30:00Z'), zone), Date.UTC(2025, 10, 2, 1, 30)); // 01:30 EST
  });

  test('maintenance windows – schedule: injected clock, cached until a boundary, throws 503 with Retry-After', () => {
    const clock = manualClock(Date.parse('2025-01-07T04:40:00Z'));
    const schedule = createMaintenanceSchedule(ny, { clock: clock.now });
    assert.deepEqual(schedule.currentWindow(), { inWindow: false, nextStartsAt: new Date('2025-01-07T04:45:00Z') });
    schedule.assertAvailable();
    clock.advance(5 * 60_000);
    assert.equal(schedule.currentWindow().inWindow, true);
    clock.advance(30_000);
    const state = schedule.currentWindow();
    assert.equal(state.inWindow && state.retryAfterSeconds, 3570);
    assert.throws(
      () => schedule.assertAvailable(),
      (err: MaintenanceWindowError) =>
        err instanceof MaintenanceWindowError &&
        err.status === 503 &&
        err.code === 'IB_MAINTENANCE_WINDOW' &&
        err.retryAfter === 3570,
    );
    clock.set(Date.parse('2025-01-07T05:45:00Z'));
    assert.equal(schedule.currentWindow().inWindow, false, 'resumes by itself at the end');
    clock.set(Date.parse('2025-01-07T05:00:00Z'));
    assert.equal(schedule.currentWindow().inWindow, true, 'a clock moved backwards is not served from the cache');
  });

  test('maintenance windows – none disables, the default applies when unset', () => {
    assert.deepEqual(parseMaintenanceWindows('none'), []);
    assert.deepEqual(currentWindow([], Date.now()), { inWindow: false });
    assert.equal(loadMaintenanceWindows({}).length, 2);
    assert.deepEqual(loadMaintenanceWindows({ IB_MAINTENANCE_WINDOWS: 'Sun 00:00-02:00 UTC' })[0]?.days, [0]);
  });

  const bad: [string, string][] = [
    ['23:45 America/New_York', 'Expected IB_MAINTENANCE_WINDOWS entry 1 to look like'],
    [
      '23:45-00:45 Mars/Olympus',
      'Expected IB_MAINTENANCE_WINDOWS entry 1 to name an IANA time zone (e.g. America/New_York), got "Mars/Olympus"',
    ],
    ['23:45-00:45 UTC; Xyz 00:00-01:00 UTC', 'Expected IB_MAINTENANCE_WINDOWS entry 2 to use days Sun, Mon'],
    ['24:00-01:00 UTC', 'Expected IB_MAINTENANCE_WINDOWS entry 1 to use times from 00:00 to 23:59'],
    ['10:00-10:00 UTC', 'Expected IB_MAINTENANCE_WINDOWS entry 1 to end at another time than it starts'],
    [' ; ', 'Expected IB_MAINTENANCE_WINDOWS to list windows'],
  ];
  for (const [spec, message] of bad) {
    test(`maintenance windows – rejects ${JSON.stringify(spec)}`, () => {
      assert.throws(
        () => parseMaintenanceWindows(spec),
        (err: Error) => err instanceof ConfigError && err.message.startsWith(message),
      );
    });
  }
});
