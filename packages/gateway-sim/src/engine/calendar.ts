import type { ContractDef } from './catalogue.js';

/**
 * The trading calendar the simulator's history follows: no sessions on Saturdays and Sundays, and per
 * instrument a regular session (what `useRTH=1` keeps) inside a longer one, in the exchange's time zone.
 * Holidays are not modelled.
 */
export interface Sessions {
  timeZone: string;
  /** Minutes after local midnight: [start, end) of regular trading hours. */
  rth: [number, number];
  /** Minutes after local midnight: [start, end) of all trading (extended hours). */
  all: [number, number];
}

const EQUITY: Sessions = { timeZone: 'America/New_York', rth: [9 * 60 + 30, 16 * 60], all: [4 * 60, 20 * 60] };
const CME: Sessions = { timeZone: 'America/Chicago', rth: [8 * 60 + 30, 15 * 60 + 15], all: [0, 16 * 60] };
const FX: Sessions = { timeZone: 'America/New_York', rth: [0, 24 * 60], all: [0, 24 * 60] };

export function sessionsOf(c: Pick<ContractDef, 'secType'>): Sessions {
  return c.secType === 'FUT' ? CME : c.secType === 'CASH' ? FX : EQUITY;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  /** 0 Sunday … 6 Saturday */
  weekday: number;
  /** Minutes after local midnight. */
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Wall-clock parts of an instant in a time zone. */
export function localParts(ms: number, timeZone: string): LocalParts {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(ms)) p[part.type] = part.value;
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    weekday: WEEKDAYS.indexOf(p.weekday!),
    minute: Number(p.hour) * 60 + Number(p.minute),
  };
}

export const isWeekday = (weekday: number): boolean => weekday >= 1 && weekday <= 5;

/** Whether an instant is inside a session (regular hours with `rthOnly`) on a trading day. */
export function inSession(ms: number, s: Sessions, rthOnly: boolean): boolean {
  const p = localParts(ms, s.timeZone);
  if (!isWeekday(p.weekday)) return false;
  const [from, to] = rthOnly ? s.rth : s.all;
  return p.minute >= from && p.minute < to;
}

/** "yyyyMMdd" of the exchange's trading date of an instant. */
export function tradingDate(ms: number, s: Sessions): string {
  const p = localParts(ms, s.timeZone);
  return `${p.year}${String(p.month).padStart(2, '0')}${String(p.day).padStart(2, '0')}`;
}

/** The instant `n` trading days (weekdays) before `ms`, at the same time of day. */
export function tradingDaysBefore(ms: number, n: number, s: Sessions): number {
  let t = ms;
  let counted = 0;
  while (counted < n) {
    t -= 86_400_000;
    if (isWeekday(localParts(t, s.timeZone).weekday)) counted++;
  }
  return t;
}
