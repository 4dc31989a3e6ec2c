import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallerBuffer } from '../src/feeds/caller-buffer.js';
import type { FeedEvent } from '../src/feeds/types.js';
import { ATOM_NS, buildAtomFeed, escapeXml } from '../src/http/atom.js';
import { feedFormat } from '../src/http/feed-format.js';
import { formatSseEvent, parseLastEventId } from '../src/http/sse.js';
import { DepthBook } from '../src/ib/depth.js';
import { parseAtom } from './sse-client.js';

let seq = 0;
const ev = (field: string | undefined, value: unknown, topic = 't'): FeedEvent => ({
  id: ++seq,
  event: 'tick',
  data: value,
  at: 0,
  topic,
  ...(field ? { field } : {}),
});

describe('CallerBuffer – bounded, latest value wins per field', () => {
  it('coalesces a field to its newest value and moves it to the back (ids stay increasing)', () => {
    let dropped = 0;
    const b = new CallerBuffer(10, (n) => (dropped += n));
    b.push(ev('BID', 1));
    b.push(ev('ASK', 2));
    b.push(ev('BID', 3));
    assert.equal(b.size, 2);
    assert.equal(dropped, 1);
    const out = [b.shift()!, b.shift()!];
    assert.deepEqual(
      out.map((e) => e.data),
      [2, 3],
    );
    assert.ok(out[0]!.id < out[1]!.id);
    assert.equal(b.shift(), undefined);
  });

  it('same field of different topics does not coalesce; when full the oldest is evicted and counted', () => {
    let dropped = 0;
    const b = new CallerBuffer(3, (n) => (dropped += n));
    b.push(ev('BID', 1, 'a'));
    b.push(ev('BID', 2, 'b'));
    b.push(ev(undefined, 'status'));
    b.push(ev(undefined, 'bar'));
    assert.equal(b.size, 3);
    assert.equal(dropped, 1);
    assert.equal(b.shift()!.data, 2);
    assert.throws(() => new CallerBuffer(0, () => undefined), /Expected capacity to be an integer ≥ 1, got 0/);
  });
});

describe('sse – framing', () => {
  it('writes id/event/data lines, splits multi-line data, keeps fields on one line', () => {
    assert.equal(formatSseEvent({ id: 7, event: 'tick', data: { a: 1 } }), 'id: 7\nevent: tick\ndata: {"a":1}\n\n');
    assert.equal(
      formatSseEvent({ event: 'x\ny', data: 'l1\nl2\r\nl3' }),
      'event: x y\ndata: l1\ndata: l2\ndata: l3\n\n',
    );
    assert.equal(parseLastEventId({ 'last-event-id': ' 42 ' }), '42');
    assert.equal(parseLastEventId({ 'last-event-id': '' }), undefined);
  });

  it('feedFormat – ?format wins, then the first of the two media types in Accept, else json', () => {
    assert.equal(feedFormat({ format: 'atom' }, { accept: 'text/event-stream' }), 'atom');
    assert.equal(feedFormat({}, { accept: 'text/event-stream' }), 'sse');
    assert.equal(feedFormat({}, { accept: 'application/atom+xml, text/event-stream' }), 'atom');
    assert.equal(feedFormat({}, { accept: 'application/json' }), 'json');
    assert.equal(feedFormat({}, {}), 'json');
  });
});

describe('atom – Atom 1.0 documents', () => {
  it('escapes markup and drops characters XML forbids; the root is feed in the Atom namespace', () => {
    assert.equal(escapeXml(`<a href="x">&'\u0001`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
    const xml = buildAtomFeed({
      id: 'tag:ibrest,2024:feed/x',
      title: 'A & B',
      updated: new Date(0),
      selfHref: '/news?a=1&b=2',
      entries: [
        {
          id: 'tag:ibrest,2024:feed/x/1',
          title: 't',
          updated: '2024-01-01T00:00:00Z',
          content: '{"m":"<b>&</b>"}',
          category: 'bulletin',
        },
      ],
    });
    assert.ok(xml.includes(`<feed xmlns="${ATOM_NS}">`));
    assert.ok(xml.includes('<author><name>ibrest</name></author>'));
    const parsed = parseAtom(xml);
    assert.deepEqual(parsed.entries, [{ id: 'tag:ibrest,2024:feed/x/1', content: '{"m":"<b>&</b>"}' }]);
  });
});

describe('DepthBook – IB positional updates', () => {
  it('insert shifts down, update replaces, delete shifts up, rows capped at numRows', () => {
    const b = new DepthBook(2);
    b.apply({ position: 0, operation: 0, side: 1, price: 10, size: 1 });
    b.apply({ position: 0, operation: 0, side: 1, price: 11, size: 2 });
    b.apply({ position: 0, operation: 0, side: 1, price: 12, size: 3 });
    assert.deepEqual(
      b.toJSON().bids.map((l) => l.price),
      [12, 11],
    );
    b.apply({ position: 1, operation: 1, side: 1, price: 11.5, size: 4, marketMaker: 'NSDQ' });
    assert.deepEqual(b.toJSON().bids[1], { price: 11.5, size: 4, marketMaker: 'NSDQ' });
    b.apply({ position: 0, operation: 2, side: 1, price: 0, size: 0 });
    assert.deepEqual(
      b.toJSON().bids.map((l) => l.price),
      [11.5],
    );
    b.apply({ position: 0, operation: 0, side: 0, price: 13, size: 1 });
    assert.equal(b.toJSON().asks.length, 1);
    b.clear();
    assert.deepEqual(b.toJSON(), { bids: [], asks: [], rows: 2, complete: false, crossed: false });
  });
});
