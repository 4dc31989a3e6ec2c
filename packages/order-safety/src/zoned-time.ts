/**
 * Wall-clock arithmetic in IANA time zones with nothing but Intl.DateTimeFormat. Wall times are carried as
 * "local milliseconds": the wall time read as if it were UTC (Date.UTC(y, m, d, h, min)), which makes day
 * arithmetic and weekday lookup plain UTC math.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows `timeZone` (Intl throws RangeError for unknown zones). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall time at `instant` in `timeZone`, as local milliseconds (whole seconds). */
export function toLocalMs(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/** UTC offset of `timeZone` at `instant`, in ms (New York in winter: -5 h). */
export function offsetAt(instant: number, timeZone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  return toLocalMs(whole, timeZone) - whole;
}

const DAY_MS = 86_400_000;

/**
 * The instant a wall time occurs in `timeZone`, resolved like Temporal's "compatible" mode: a wall time that
 * happens twice (the repeated hour when clocks go back) gives the earlier instant; one that never happens (the
 * skipped hour when clocks go forward) is moved forward by the size of the gap (02:30 → 03:30).
 */
export function fromLocalMs(localMs: number, timeZone: string): number {
  // The offsets a day either side bracket any single transition near this wall time.
  const before = offsetAt(localMs - DAY_MS, timeZone);
  const after = offsetAt(localMs + DAY_MS, timeZone);
  const candidates = [localMs - before, localMs - after].filter((t) => toLocalMs(t, timeZone) === localMs);
  if (candidates.length > 0) return Math.min(...candidates);
  return localMs - before;
}

/** Midnight (local ms) of the wall-clock day containing `localMs`. */
export function startOfLocalDay(localMs: number): number {
  return Math.floor(localMs / DAY_MS) * DAY_MS;
}

/** 0 = Sunday … 6 = Saturday, for a local-ms value. */
export function weekdayOf(localMs: number): number {
  return new Date(localMs).getUTCDay();
}

export { DAY_MS };
