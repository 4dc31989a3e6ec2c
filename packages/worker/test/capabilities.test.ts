import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapabilityTracker, type LinkFacts } from '../src/ib/capabilities.js';

/** What a farm down leaves besides its neighbours. */
const REST = ['link', 'mirror', 'orders', 'secDef'];
const NONE = { marketData: [], historical: [], secDef: [] };
const UP: LinkFacts = {
  socket: true,
  session: true,
  synced: true,
  linkUp: true,
  everSynced: true,
  farmsDown: { marketData: [], historical: [], secDef: [] },
};
const oks = (t: CapabilityTracker) =>
  Object.entries(t.snapshot())
    .filter(([, s]) => s.ok)
    .map(([c]) => c)
    .sort();

describe('capabilities – derived from the connection and the order store', () => {
  it('table: each fact takes out exactly what depends on it', () => {
    const cases: Array<[string, Partial<LinkFacts>, string[]]> = [
      ['all up', {}, ['historical', 'link', 'marketData', 'mirror', 'orders', 'secDef']],
      ['a market-data farm down', { farmsDown: { ...NONE, marketData: ['usfarm (2103)'] } }, ['historical', ...REST]],
      ['the HMDS farm down', { farmsDown: { ...NONE, historical: ['ushmds (2105)'] } }, ['marketData', ...REST]],
      ['1100', { linkUp: false }, ['mirror']],
      ['socket lost after a sync', { socket: false, session: false, synced: false }, ['mirror']],
      ['never synced', { synced: false, everSynced: false }, []],
    ];
    for (const [name, facts, expected] of cases) {
      const t = new CapabilityTracker();
      t.derive({ ...UP, ...facts });
      assert.deepEqual(oks(t), [...expected].sort(), name);
    }
  });

  it('order storage failing takes out orders only, and its recovery brings it back', () => {
    const t = new CapabilityTracker();
    t.derive(UP);
    const changes: string[][] = [];
    t.on('change', () => changes.push(oks(t)));
    t.reportOrderStorage(false, 'disk full (ENOSPC)');
    assert.equal(t.snapshot().orders.ok, false);
    assert.equal(t.snapshot().orders.reason, 'disk full (ENOSPC)');
    assert.deepEqual(oks(t), ['historical', 'link', 'marketData', 'mirror', 'secDef']);
    t.reportOrderStorage(true);
    assert.equal(t.snapshot().orders.ok, true);
    assert.equal(changes.length, 2);
  });

  it('reasons say why, and since changes only when ok flips', () => {
    const t = new CapabilityTracker();
    t.derive(UP);
    const since = t.snapshot().marketData.since;
    t.derive({ ...UP, farmsDown: { marketData: ['usfarm (2103)'], historical: [], secDef: [] } });
    assert.match(t.snapshot().marketData.reason!, /usfarm \(2103\)/);
    assert.equal(t.snapshot().historical.since, since, 'an unchanged capability keeps its since');
    t.derive({ ...UP, linkUp: false });
    assert.match(t.snapshot().link.reason!, /1100/);
    assert.match(t.snapshot().mirror.reason!, /stale/);
  });
});
