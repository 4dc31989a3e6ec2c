import type { OrderQuirks } from './engine/matching-engine.js';

export type FarmKind = 'market' | 'hmds' | 'secdef';

/** One data farm as the session starts: OK, or "inactive but available on demand" (2108 / 2107). */
export interface FarmSeed {
  name: string;
  kind: FarmKind;
  inactive?: boolean;
}

/**
 * The noise of a session, all on schedules the control API can change. `clean` has none of it; `realistic`
 * is what a real IB Gateway sends in an ordinary day.
 */
export interface SessionProfile {
  /** Farms announced after START_API, in order (2104/2106/2158 for OK ones, 2108/2107 for inactive ones). */
  farms: FarmSeed[];
  /**
   * Every `everyMs` the next farm that is up (round robin) reports broken (2103/2105/2157), OK again after
   * `downMs`.
   */
  farmFlaps?: { everyMs: number; downMs: number };
  /** Every `everyMs` the link to IB drops (1100) and comes back after `downMs` (1102 data maintained, or 1101 lost). */
  linkBlips?: { everyMs: number; downMs: number; restore: 1101 | 1102 };
  /** Every day at `at` (UTC `HH:MM`) the gateway restarts: every connection dropped, refused for `downMs`. */
  nightlyRestart?: { at: string; downMs: number };
  /** The untidy order stream (see `GatewayControl.orderQuirks`). */
  orderQuirks: OrderQuirks;
}

export const CLEAN_FARMS: readonly FarmSeed[] = [
  { name: 'usfarm', kind: 'market' },
  { name: 'ushmds', kind: 'hmds' },
  { name: 'secdefil', kind: 'secdef' },
];

export const SESSION_PROFILES: Readonly<Record<'clean' | 'realistic', SessionProfile>> = {
  clean: {
    farms: [...CLEAN_FARMS],
    orderQuirks: { duplicateStatuses: false, fillWithoutFilledStatus: false, skipSubmittedStatus: false },
  },
  realistic: {
    farms: [
      { name: 'usfarm', kind: 'market' },
      { name: 'usopt', kind: 'market', inactive: true },
      { name: 'cashfarm', kind: 'market', inactive: true },
      { name: 'ushmds', kind: 'hmds' },
      { name: 'euhmds', kind: 'hmds', inactive: true },
      { name: 'secdefil', kind: 'secdef' },
    ],
    farmFlaps: { everyMs: 40_000, downMs: 1_000 },
    linkBlips: { everyMs: 150_000, downMs: 1_000, restore: 1102 },
    orderQuirks: { duplicateStatuses: true, fillWithoutFilledStatus: true, skipSubmittedStatus: false },
  },
};

export type SessionOption = 'clean' | 'realistic' | SessionProfile;

/** Validates a profile (or names one) and returns a copy the simulator may keep. */
export function resolveSession(s: SessionOption | undefined): SessionProfile {
  if (s === undefined || s === 'clean' || s === 'realistic') return structuredClone(SESSION_PROFILES[s ?? 'clean']);
  if (typeof s !== 'object' || s === null || !Array.isArray(s.farms)) {
    throw new Error(`expected session to be "clean", "realistic" or a profile with farms, got ${JSON.stringify(s)}`);
  }
  for (const f of s.farms) {
    if (typeof f?.name !== 'string' || !['market', 'hmds', 'secdef'].includes(f.kind)) {
      throw new Error(`expected each farm as { name, kind: market|hmds|secdef }, got ${JSON.stringify(f)}`);
    }
    if (f.inactive && f.kind === 'secdef') throw new Error(`a sec-def farm has no inactive state (${f.name})`);
  }
  const ms = (v: unknown, name: string): void => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) {
      throw new Error(`expected ${name} to be a positive integer, got ${JSON.stringify(v)}`);
    }
  };
  if (s.farmFlaps) {
    ms(s.farmFlaps.everyMs, 'farmFlaps.everyMs');
    ms(s.farmFlaps.downMs, 'farmFlaps.downMs');
  }
  if (s.linkBlips) {
    ms(s.linkBlips.everyMs, 'linkBlips.everyMs');
    ms(s.linkBlips.downMs, 'linkBlips.downMs');
    if (s.linkBlips.restore !== 1101 && s.linkBlips.restore !== 1102) {
      throw new Error('expected linkBlips.restore 1101 or 1102');
    }
  }
  if (s.nightlyRestart) {
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(s.nightlyRestart.at)) {
      throw new Error(`expected nightlyRestart.at as HH:MM (UTC), got ${JSON.stringify(s.nightlyRestart.at)}`);
    }
    ms(s.nightlyRestart.downMs, 'nightlyRestart.downMs');
  }
  const q = s.orderQuirks ?? SESSION_PROFILES.clean.orderQuirks;
  return structuredClone({ ...s, orderQuirks: { ...SESSION_PROFILES.clean.orderQuirks, ...q } });
}

/** Milliseconds from `now` to the next `HH:MM` UTC. */
export function msUntilUtc(at: string, now: number): number {
  const [h, m] = at.split(':').map(Number) as [number, number];
  const d = new Date(now);
  let next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), h, m);
  if (next <= now) next += 86_400_000;
  return next - now;
}
