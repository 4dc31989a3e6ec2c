import type { ContractDef } from './catalogue.js';
import { xmlEscape } from './fa-config.js';
import { Random } from './random.js';

/** The free API news providers of an IB account. */
export const NEWS_PROVIDERS: ReadonlyArray<{ code: string; name: string }> = [
  { code: 'BRFG', name: 'Briefing.com General Market Columns' },
  { code: 'BRFUPDN', name: 'Briefing.com Analyst Actions' },
  { code: 'DJNL', name: 'Dow Jones Newsletters' },
];

/** One headline every 6 hours per instrument, rotating through the providers. */
const SLOT_MS = 6 * 3600 * 1000;

const TEMPLATES = [
  (c: ContractDef) => `${c.longName} shares active in early trading`,
  (c: ContractDef) => `Analyst raises ${c.symbol} price target`,
  (c: ContractDef) => `${c.longName} announces quarterly results date`,
  (c: ContractDef) => `${c.symbol}: options volume rises ahead of earnings`,
  (c: ContractDef) => `${c.longName} to present at industry conference`,
  (c: ContractDef) => `${c.symbol} upgraded to Buy`,
  (c: ContractDef) => `${c.symbol} downgraded to Hold`,
  (c: ContractDef) => `Sector watch: ${c.category} names including ${c.symbol}`,
];

export interface Headline {
  /** Epoch ms. */
  time: number;
  provider: string;
  articleId: string;
  headline: string;
}

/** IB's headline time format: "yyyy-MM-dd HH:mm:ss.0" (UTC here). */
export function newsTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}.0`;
}

/** Parses "yyyy-MM-dd HH:mm:ss[.f]" or "yyyyMMdd HH:mm:ss" (UTC); "" → undefined (open end). */
export function parseNewsTime(s: string): number | undefined | 'invalid' {
  const t = s.trim();
  if (!t) return undefined;
  const m = /^(\d{4})-?(\d{2})-?(\d{2})(?:[ T-](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?(?:\s+\S+)?$/.exec(t);
  if (!m) return 'invalid';
  return Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
  );
}

function headlineAt(seed: number, c: ContractDef, slot: number): Headline {
  const provider = NEWS_PROVIDERS[slot % NEWS_PROVIDERS.length]!.code;
  const r = new Random((seed * 31) ^ c.conId ^ (slot * 2654435761));
  return {
    time: slot * SLOT_MS + r.int(0, 300) * 1000,
    provider,
    articleId: `${provider}$${c.conId.toString(16)}${slot.toString(16).padStart(6, '0')}`,
    headline: TEMPLATES[r.int(0, TEMPLATES.length - 1)]!(c),
  };
}

/**
 * Headlines for an instrument between start and end (newest first), from the given providers. Each is a
 * pure function of (seed, conId, time slot), so a headline's article can be found again from its id.
 */
export function headlines(
  seed: number,
  c: ContractDef,
  providers: readonly string[],
  startMs: number,
  endMs: number,
  max: number,
): { items: Headline[]; hasMore: boolean } {
  const items: Headline[] = [];
  const wanted = new Set(providers);
  // History reaches back one year at most, like a provider's archive for API users.
  const firstSlot = Math.max(Math.floor(startMs / SLOT_MS), Math.floor((endMs - 365 * 24 * 3600 * 1000) / SLOT_MS), 0);
  for (let slot = Math.floor(endMs / SLOT_MS); slot >= firstSlot; slot--) {
    const h = headlineAt(seed, c, slot);
    if (!wanted.has(h.provider) || h.time > endMs || h.time < startMs) continue;
    if (items.length === max) return { items, hasMore: true };
    items.push(h);
  }
  return { items, hasMore: false };
}

/** The article behind a headline id, or undefined when the id is not one the simulator issued. */
export function article(
  seed: number,
  lookup: (conId: number) => ContractDef | undefined,
  provider: string,
  articleId: string,
): string | undefined {
  const m = /^([A-Z]+)\$([0-9a-f]+)([0-9a-f]{6})$/.exec(articleId);
  if (!m || m[1] !== provider) return undefined;
  const c = lookup(parseInt(m[2]!, 16));
  if (!c) return undefined;
  const h = headlineAt(seed, c, parseInt(m[3]!, 16));
  if (h.articleId !== articleId) return undefined;
  return (
    `<html><body><h1>${xmlEscape(h.headline)}</h1><p>${newsTime(h.time)} — ${xmlEscape(c.longName)} (${c.symbol}). ` +
    `Simulated article text for testing; no real news.</p></body></html>`
  );
}
