import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { blameOf, ibErrorTable, ibErrorToApiError, renderIbErrorTable } from '../src/ib/error-codes.js';

const README = new URL('../../README.md', import.meta.url);
const START = '<!-- ib-error-table:start -->';
const END = '<!-- ib-error-table:end -->';

describe('IB error classes – blame decides the status, once', () => {
  it('the caller’s request → 4xx with ibCode; pacing → 429; IB trouble → 503; our defect → 500', () => {
    for (const row of ibErrorTable()) {
      const e = ibErrorToApiError(row.ibCode, 'text from IB', { operation: 't' });
      const expected = { request: [400, 499], pacing: [429, 429], ib: [503, 503], defect: [500, 500] }[row.blame];
      assert.ok(e.status >= expected[0]! && e.status <= expected[1]!, `${row.ibCode} (${row.blame}) → ${e.status}`);
      if (row.blame === 'request') assert.equal(e.ibCode ?? row.ibCode, row.ibCode);
      if (e.status === 429 || e.status === 503) assert.ok(e.retryAfter! >= 1, `${row.ibCode} has Retry-After`);
      assert.ok(e.message.includes('text from IB'), `${row.ibCode} carries IB's text`);
    }
  });

  it('the decision-6 codes land where the contract says', () => {
    const status = (code: number, text = 'm') => ibErrorToApiError(code, text, { operation: 't' }).status;
    assert.equal(status(200), 404);
    for (const c of [162, 354, 430, 10089, 10092, 321]) {
      assert.ok(status(c, c === 162 ? 'HMDS query returned no data' : 'm') < 500, String(c));
    }
    assert.equal(status(162, 'Historical data request pacing violation'), 429);
    const simultaneous =
      "Error processing request:-'wd' : cause - Only 50 simultaneous API historical data requests allowed.";
    const open = ibErrorToApiError(322, simultaneous, { operation: 't' });
    assert.deepEqual([open.status, open.code, open.ibCode, open.retryAfter], [429, 'IB_PACING_VIOLATION', 322, 2]);
    assert.equal(blameOf(322, simultaneous), 'pacing', 'a limit of IB, not the caller’s request nor the worker');
    assert.equal(status(322, "Error processing request:-'bW' : cause - Duplicate ticker id"), 400);
    for (const c of [1100, 502, 504, 2110]) assert.equal(status(c), 503, String(c));
    assert.equal(blameOf(99_999), 'request', 'an unknown code blames the request, never the worker');
    assert.equal(blameOf(599), 'ib');
  });

  it('the worker README’s table is the rendered table', () => {
    const text = readFileSync(README, 'utf8');
    const inReadme = text.slice(text.indexOf(START) + START.length, text.indexOf(END)).trim();
    assert.equal(inReadme, renderIbErrorTable(), 'paste renderIbErrorTable() between the markers');
  });
});
