/**
 * IB's time strings → one format: ISO 8601 instants in UTC ("2024-01-02T14:30:00.000Z"), or ISO dates
 * ("2024-01-02") where IB means a trading day. IB writes instants as epoch seconds (formatDate=2),
 * "yyyyMMdd-HH:mm:ss" (UTC), or "yyyyMMdd HH:mm:ss[ zone]" (the zone IB names, else the time zone TWS /
 * the Gateway is set to, IB_TIME_ZONE).
 */

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** Whether Intl knows the zone (IB's names such as US/Eastern are IANA links and are known). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Milliseconds the zone is ahead of UTC at an instant. */
function offsetMs(instant: number, zone: string): number {
  let f = offsetFormatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    offsetFormatters.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(instant)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The instant of a wall-clock time in a zone (the earlier one when the clock repeats). */
export function zonedToEpochMs(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  zone: string,
): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  let t = wall - offsetMs(wall, zone);
  t = wall - offsetMs(t, zone);
  return t;
}

const DATE_ONLY = /^(\d{4})(\d{2})(\d{2})$/;
const DATE_TIME = /^(\d{4})(\d{2})(\d{2})(?:([ -])\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)(?:\s+(\S+))?$/;

/**
 * ISO form of an IB time: epoch seconds and "yyyyMMdd[ -]HH:mm:ss[ zone]" become UTC instants, "yyyyMMdd"
 * a date. Undefined when the text is none of these (the caller keeps IB's string).
 */
export function ibTimeToIso(raw: string | number | undefined, defaultZone = 'UTC'): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const text = String(raw).trim();
  if (/^\d{9,11}$/.test(text)) return new Date(Number(text) * 1000).toISOString();
  const date = DATE_ONLY.exec(text);
  if (date) return `${date[1]}-${date[2]}-${date[3]}`;
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const zone = m[8] ?? (m[4] === '-' ? 'UTC' : defaultZone);
  if (!isTimeZone(zone)) return undefined;
  const ms = zonedToEpochMs(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[5]),
    Number(m[6]),
    Number(m[7] ?? 0),
    zone,
  );
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
