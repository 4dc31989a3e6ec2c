import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, startStack } from './helpers.js';
import { SseClient } from './sse-client.js';

interface Level {
  price: number;
  size: number;
}
interface Book {
  bids: Level[];
  asks: Level[];
  complete: boolean;
  crossed: boolean;
}

/** mulberry32: the test's own moves are reproducible from the seed that failed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function assertConsistent(b: Book, where: string): void {
  for (let i = 1; i < b.bids.length; i++)
    assert.ok(b.bids[i]!.price <= b.bids[i - 1]!.price, `${where}: bids sorted ${JSON.stringify(b.bids)}`);
  for (let i = 1; i < b.asks.length; i++)
    assert.ok(b.asks[i]!.price >= b.asks[i - 1]!.price, `${where}: asks sorted ${JSON.stringify(b.asks)}`);
  if (b.bids.length > 0 && b.asks.length > 0) assert.ok(b.bids[0]!.price < b.asks[0]!.price, `${where}: uncrossed`);
  assert.equal(b.crossed, false, where);
}

/**
 * Property: whatever the simulator's seed (its book sizes and makers), whatever the price does and however
 * the bytes are cut on the wire, every streamed book is sorted and uncrossed, every book after the first
 * full one is complete, and a one-shot book comes complete.
 */
describe('depth books – consistent over many seeds', () => {
  for (let seed = 1; seed <= 12; seed++) {
    it(`seed ${seed}${seed % 3 === 0 ? ' (fragmented wire)' : ''}`, async () => {
      const s = await startStack({}, { seed });
      const sse = new SseClient(`${s.url}/market/depth?symbol=AAPL&exchange=ISLAND&numRows=10&format=sse`);
      try {
        if (seed % 3 === 0) s.sim.control.fragment(5);
        await sse.opened;
        assert.equal(sse.status, 200);
        await eventually(() => sse.named('book').length > 0, 5000, 'first book');
        const rand = rng(seed);
        const base = s.sim.control.quote('AAPL')!.last;
        for (let i = 0; i < 15; i++) {
          const price = Number((base * (0.9 + rand() * 0.2)).toFixed(2));
          const q = s.sim.control.setPrice('AAPL', price);
          await eventually(
            () =>
              sse
                .named('book')
                .some((e) => (e.data as Book).bids[0]?.price === q.bid && (e.data as Book).asks[0]?.price === q.ask),
            5000,
            `book at ${q.bid}/${q.ask}`,
          );
        }
        const books = sse.named('book').map((e) => e.data as Book);
        books.forEach((b, i) => assertConsistent(b, `seed ${seed} book ${i}`));
        const firstFull = books.findIndex((b) => b.complete);
        assert.ok(firstFull >= 0, 'the book fills');
        for (const b of books.slice(firstFull)) assert.equal(b.bids.length + b.asks.length, 20, 'stays complete');
        const one = await fetch(`${s.url}/market/depth?symbol=MSFT&exchange=ISLAND&numRows=6`).then(
          (r) => r.json() as Promise<Book>,
        );
        assert.equal(one.complete, true, JSON.stringify(one));
        assertConsistent(one, `seed ${seed} one-shot`);
        assert.equal(one.bids.length, 6);
      } finally {
        sse.close();
        await s.close();
      }
    });
  }
});
