import { ConfigError, envString, UnavailableError, type Env } from '@ibrest/common';
import { DAY_MS, fromLocalMs, isValidTimeZone, startOfLocalDay, toLocalMs, weekdayOf } from './zoned-time.js';

/**
 * One recurring window in which IB is expected to be unavailable: the daily server reset, or the weekly
 * restart that needs a full (2FA) login. Times are wall-clock times in `timeZone`, so a window stays at
 * "23:45 New York" across daylight-saving changes.
 */
export interface MaintenanceWindow {
  /** The entry as written, for logs and answers. */
  spec: string;
  /** Weekdays (0 = Sunday) on which the window *starts*; absent = every day. */
  days?: readonly number[];
  /** Minutes after local midnight. */
  startMinute: number;
  /** Minutes after local midnight; at or before the start means the window ends the next day. */
  endMinute: number;
  timeZone: string;
}

export type WindowState =
  | { inWindow: true; window: string; startedAt: Date; endsAt: Date; retryAfterSeconds: number }
  | { inWindow: false; nextStartsAt?: Date };

/** IB's North American daily reset and the Sunday restart that needs a fresh login. */
export const DEFAULT_MAINTENANCE_WINDOWS = '23:45-00:45 America/New_York; Sun 00:00-02:00 America/New_York';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const ENTRY_RE = /^(?:([a-z]{3})(?:-([a-z]{3}))?\s+)?(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})\s+(\S+)$/i;
const FORMAT = '"[Day[-Day]] HH:MM-HH:MM Area/City"';

/**
 * Parses `;`-separated entries such as `23:45-00:45 America/New_York; Sun 00:00-02:00 America/New_York;
 * Mon-Fri 05:45-06:45 Europe/Zurich`. `none` (or `off`) disables maintenance handling.
 */
export function parseMaintenanceWindows(text: string, source = 'IB_MAINTENANCE_WINDOWS'): MaintenanceWindow[] {
  const trimmed = text.trim();
  if (/^(none|off)$/i.test(trimmed)) return [];
  const entries = trimmed
    .split(/[;\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0)
    throw new ConfigError(`Expected ${source} to list windows like ${FORMAT} or "none", got ${JSON.stringify(text)}`);
  return entries.map((entry, i) => parseEntry(entry, `${source} entry ${i + 1}`));
}

function parseEntry(entry: string, where: string): MaintenanceWindow {
  const m = ENTRY_RE.exec(entry);
  if (!m) throw new ConfigError(`Expected ${where} to look like ${FORMAT}, got ${JSON.stringify(entry)}`);
  const [, fromDay, toDay, sh, sm, eh, em, timeZone] = m;
  const startMinute = clock(Number(sh), Number(sm), where, entry);
  const endMinute = clock(Number(eh), Number(em), where, entry);
  if (startMinute === endMinute)
    throw new ConfigError(`Expected ${where} to end at another time than it starts, got ${JSON.stringify(entry)}`);
  if (!isValidTimeZone(timeZone!))
    throw new ConfigError(
      `Expected ${where} to name an IANA time zone (e.g. America/New_York), got ${JSON.stringify(timeZone)}`,
    );
  const window: MaintenanceWindow = { spec: entry, startMinute, endMinute, timeZone: timeZone! };
  if (fromDay !== undefined) {
    const from = DAYS.indexOf(fromDay.toLowerCase());
    const to = toDay === undefined ? from : DAYS.indexOf(toDay.toLowerCase());
    if (from < 0 || to < 0)
      throw new ConfigError(
        `Expected ${where} to use days Sun, Mon, Tue, Wed, Thu, Fri, Sat, got ${JSON.stringify(entry)}`,
      );
    const days: number[] = [];
    for (let d = from; ; d = (d + 1) % 7) {
      days.push(d);
      if (d === to) break;
    }
    window.days = days;
  }
  return window;
}

function clock(h: number, m: number, where: string, entry: string): number {
  if (h > 23 || m > 59)
    throw new ConfigError(`Expected ${where} to use times from 00:00 to 23:59, got ${JSON.stringify(entry)}`);
  return h * 60 + m;
}

/** `IB_MAINTENANCE_WINDOWS`, default {@link DEFAULT_MAINTENANCE_WINDOWS}. */
export function loadMaintenanceWindows(env: Env = process.env): MaintenanceWindow[] {
  return parseMaintenanceWindows(envString(env, 'IB_MAINTENANCE_WINDOWS', DEFAULT_MAINTENANCE_WINDOWS));
}

interface Occurrence {
  start: number;
  end: number;
  window: MaintenanceWindow;
}

/** Occurrences of `window` that start on local days `firstDay`..`lastDay` relative to the day containing `instant`. */
function occurrences(window: MaintenanceWindow, instant: number, firstDay: number, lastDay: number): Occurrence[] {
  const today = startOfLocalDay(toLocalMs(instant, window.timeZone));
  const out: Occurrence[] = [];
  for (let d = firstDay; d <= lastDay; d++) {
    const day = today + d * DAY_MS;
    if (window.days && !window.days.includes(weekdayOf(day))) continue;
    const endDay = window.endMinute <= window.startMinute ? day + DAY_MS : day;
    const start = fromLocalMs(day + window.startMinute * 60_000, window.timeZone);
    const end = fromLocalMs(endDay + window.endMinute * 60_000, window.timeZone);
    if (end > start) out.push({ start, end, window });
  }
  return out;
}

function containing(windows: readonly MaintenanceWindow[], instant: number): Occurrence[] {
  return windows.flatMap((w) => occurrences(w, instant, -1, 0)).filter((o) => o.start <= instant && instant < o.end);
}

/**
 * Where `now` stands. Inside a window, `endsAt` is the end of the whole maintenance period: windows that
 * overlap or touch (the Saturday-night daily reset running into the Sunday restart) are merged, so a client
 * told to come back at `endsAt` is not sent straight into the next window.
 */
export function currentWindow(windows: readonly MaintenanceWindow[], now: number | Date): WindowState {
  const t = typeof now === 'number' ? now : now.getTime();
  const here = containing(windows, t);
  if (here.length === 0) {
    const next = windows
      .flatMap((w) => occurrences(w, t, 0, 8))
      .filter((o) => o.start > t)
      .reduce<number | undefined>((min, o) => (min === undefined || o.start < min ? o.start : min), undefined);
    return next === undefined ? { inWindow: false } : { inWindow: false, nextStartsAt: new Date(next) };
  }
  const first = here.reduce((a, b) => (b.start < a.start ? b : a));
  let end = Math.max(...here.map((o) => o.end));
  for (let i = 0; i < 16; i++) {
    const extended = Math.max(end, ...containing(windows, end).map((o) => o.end));
    if (extended === end) break;
    end = extended;
  }
  return {
    inWindow: true,
    window: first.window.spec,
    startedAt: new Date(first.start),
    endsAt: new Date(end),
    retryAfterSeconds: Math.max(1, Math.ceil((end - t) / 1000)),
  };
}

/** 503 with Retry-After: IB is in a scheduled maintenance window. */
export class MaintenanceWindowError extends UnavailableError {
  constructor(state: Extract<WindowState, { inWindow: true }>) {
    super(
      'IB_MAINTENANCE_WINDOW',
      `IB is in a scheduled maintenance window until ${state.endsAt.toISOString()}`,
      state.retryAfterSeconds,
      {
        window: state.window,
        endsAt: state.endsAt.toISOString(),
      },
    );
  }
}

export interface MaintenanceSchedule {
  readonly windows: readonly MaintenanceWindow[];
  currentWindow(now?: number | Date): WindowState;
  /** Throws {@link MaintenanceWindowError} inside a window. */
  assertAvailable(now?: number | Date): void;
}

export function createMaintenanceSchedule(
  windows: readonly MaintenanceWindow[] | string,
  options: { clock?: () => number } = {},
): MaintenanceSchedule {
  const list = typeof windows === 'string' ? parseMaintenanceWindows(windows) : [...windows];
  const clockFn = options.clock ?? Date.now;
  // The answer only changes at a window boundary, and it is asked on every request, so it is kept until then.
  let cached: { from: number; until: number; state: WindowState } | undefined;
  const state = (now?: number | Date): WindowState => {
    const t = now === undefined ? clockFn() : typeof now === 'number' ? now : now.getTime();
    if (cached && t >= cached.from && t < cached.until) {
      const s = cached.state;
      return s.inWindow ? { ...s, retryAfterSeconds: Math.max(1, Math.ceil((s.endsAt.getTime() - t) / 1000)) } : s;
    }
    const s = currentWindow(list, t);
    const until = s.inWindow ? s.endsAt.getTime() : (s.nextStartsAt?.getTime() ?? t + DAY_MS);
    cached = { from: t, until, state: s };
    return s;
  };
  return {
    windows: list,
    currentWindow: state,
    assertAvailable(now) {
      const s = state(now);
      if (s.inWindow) throw new MaintenanceWindowError(s);
    },
  };
}
