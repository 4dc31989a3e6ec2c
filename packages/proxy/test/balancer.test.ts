import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeastOutstanding } from '../src/balancer/least-outstanding.js';
import { Pool, type Worker } from '../src/balancer/pool.js';
import { pickSticky } from '../src/balancer/sticky.js';

function pool(n: number): Pool {
  const p = new Pool(
    Array.from({ length: n }, (_, i) => ({ clientId: i, url: new URL(`http://127.0.0.1:${5000 + i}`) })),
  );
  for (const w of p.all()) p.setStatus(w, true, 'probe_ok', 'ready');
  return p;
}

describe('balancer – least outstanding', () => {
  it('takes turns among equally loaded workers (ties round-robin)', () => {
    const p = pool(4);
    const lb = new LeastOutstanding();
    const picks = Array.from({ length: 7 }, () => lb.pick(p.readCandidates())!.clientId);
    assert.deepEqual(picks, [1, 2, 3, 1, 2, 3, 1]);
  });

  it('always picks the minimum in-flight, ties broken after the last pick', () => {
    const p = pool(4);
    const lb = new LeastOutstanding();
    const byId = (id: number): Worker => p.get(id)!;
    p.acquire(byId(1));
    p.acquire(byId(1));
    p.acquire(byId(2));
    const seq: number[] = [];
    for (let i = 0; i < 4; i++) {
      const w = lb.pick(p.readCandidates())!;
      p.acquire(w);
      seq.push(w.clientId);
    }
    // in-flight 1:2 2:1 3:0 → 3; then 2 and 3 tie at 1 → 2 (first after 3, wrapping); then 3;
    // then 1,2,3 all at 2 → 1
    assert.deepEqual(seq, [3, 2, 3, 1]);
  });

  it('releases are idempotent and the count returns to zero', () => {
    const p = pool(2);
    const release = p.acquire(p.get(1)!);
    release();
    release();
    assert.equal(p.get(1)!.inFlight, 0);
  });

  it('skips workers that are down or excluded, and uses worker 0 only as the last resort for reads', () => {
    const p = pool(3);
    const lb = new LeastOutstanding();
    p.setStatus(p.get(1)!, false, 'ECONNREFUSED');
    assert.equal(lb.pick(p.readCandidates())!.clientId, 2);
    assert.equal(lb.pick(p.readCandidates(), new Set([2])), undefined);
    p.setStatus(p.get(2)!, false, 'probe_status_503');
    assert.deepEqual(
      p.readCandidates().map((w) => w.clientId),
      [0],
    );
  });
});

describe('pool – status and readiness', () => {
  it('starts down, reports changes once, keeps the last error', () => {
    const changes: string[] = [];
    const p = new Pool(
      [
        { clientId: 0, url: new URL('http://127.0.0.1:1') },
        { clientId: 1, url: new URL('http://127.0.0.1:2') },
      ],
      {
        onStatusChange: (c) => changes.push(`${c.worker.name}:${c.up}`),
      },
    );
    assert.equal(p.readiness().ready, false);
    p.setStatus(p.get(0)!, true, 'probe_ok', 'ready');
    assert.equal(p.readiness().ready, false, 'worker 0 alone is not enough when others exist');
    p.setStatus(p.get(1)!, true, 'probe_ok', 'ready');
    p.setStatus(p.get(1)!, true, 'probe_ok', 'ready');
    assert.equal(p.readiness().ready, true);
    p.setStatus(p.get(1)!, false, 'ECONNREFUSED', 'unreachable');
    assert.deepEqual(changes, ['worker0:true', 'worker1:true', 'worker1:false']);
    assert.equal(p.get(1)!.lastError?.reason, 'ECONNREFUSED');
    assert.equal(p.get(1)!.state, 'unreachable');
  });

  it('a pool of only worker 0 is ready when worker 0 is up', () => {
    const p = pool(1);
    assert.equal(p.readiness().ready, true);
  });
});

describe('sticky – one subscription key, one worker', () => {
  it('is stable, spreads keys, and moves only the keys of a worker that left', () => {
    const p = pool(8);
    const cands = p.readCandidates();
    const keys = Array.from({ length: 200 }, (_, i) => `/market/data?conId=${i}`);
    const first = keys.map((k) => pickSticky(k, cands)!.clientId);
    assert.deepEqual(
      keys.map((k) => pickSticky(k, cands)!.clientId),
      first,
    );
    assert.equal(new Set(first).size, 7, 'every read worker gets some keys');
    const without3 = keys.map((k) => pickSticky(k, cands, new Set([3]))!.clientId);
    keys.forEach((_, i) => {
      if (first[i] !== 3) assert.equal(without3[i], first[i]);
      else assert.notEqual(without3[i], 3);
    });
  });
});
