import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { normalizeTarget, parseTarget, type NormalizedTarget } from '../src/http/normalize.js';

function outcome(fn: () => NormalizedTarget): unknown {
  try {
    const t = fn();
    return { forwardUrl: t.forwardUrl, routePath: t.routePath, query: [...t.query] };
  } catch (err) {
    return { error: (err as { code?: string }).code ?? String(err) };
  }
}

/** Characters that matter to the parser: separators, dots, escapes, case, and ones it re-encodes. */
const CHARS = [
  '/',
  '/',
  '/',
  '.',
  '.',
  'a',
  'B',
  'z',
  '0',
  '%',
  '2',
  'e',
  'E',
  'f',
  'F',
  '?',
  '#',
  '=',
  '&',
  ' ',
  '~',
  '-',
  '_',
  '\\',
  '"',
  "'",
  '<',
  '`',
  '{',
  'é',
  '+',
  ':',
  '@',
  ';',
  '\t',
];

describe('normalizeTarget', () => {
  it('answers exactly like the general parse for every target, canonical (fast path) or not', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...CHARS), { maxLength: 24 }).map((cs) => cs.join('')),
        (tail) => {
          for (const raw of [tail, '/' + tail])
            assert.deepEqual(
              outcome(() => normalizeTarget(raw)),
              outcome(() => parseTarget(raw)),
              raw,
            );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('keeps common API targets as they are and routes on the lower-cased path', () => {
    for (const [raw, forwardUrl, routePath, query] of [
      ['/', '/', '/', ''],
      ['/account/positions', '/account/positions', '/account/positions', ''],
      ['/Order/', '/Order/', '/order', ''],
      [
        '/market/data?conId=265598&format=sse',
        '/market/data?conId=265598&format=sse',
        '/market/data',
        'conId=265598&format=sse',
      ],
      ['/order?', '/order', '/order', ''],
      ['/a/./b/../c//d?x=%41', '/a/c/d?x=%41', '/a/c/d', 'x=A'],
    ] as const) {
      const t = normalizeTarget(raw);
      assert.deepEqual(
        { forwardUrl: t.forwardUrl, routePath: t.routePath, query: t.query.toString() },
        { forwardUrl, routePath, query: new URLSearchParams(query).toString() },
        raw,
      );
    }
  });
});
