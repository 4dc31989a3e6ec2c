import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, http, startStack, type Stack } from './helpers.js';

const REQ_MKT_DATA = 1;
const CANCEL_MKT_DATA = 2;
const REQ_HISTORICAL_DATA = 20;
const CANCEL_HISTORICAL_DATA = 25;

describe('pacing – the simulator never sees a violation', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ REQUEST_TIMEOUT_MS: '8000' });
  });
  after(() => s.close());

  it('a burst of 500 snapshot requests → zero error 100 (and 101); identical ones coalesced', async () => {
    const chain = (await http(`${s.url}/contract/options?symbol=AAPL`)).body.chains[0];
    const contracts: string[] = ['AAPL', 'MSFT', 'SPY', 'TSLA', 'IBM', 'AMZN'].map((sym) => `symbol=${sym}`);
    for (const exp of chain.expirations) {
      for (const strike of chain.strikes) {
        for (const right of ['C', 'P'])
          contracts.push(
            'symbol=AAPL&secType=OPT&exchange=SMART&currency=USD' +
              `&lastTradeDateOrContractMonth=${exp}&strike=${strike}&right=${right}`,
          );
      }
    }
    assert.ok(contracts.length > 40, `only ${contracts.length} distinct contracts`);
    s.sim.control.resetViolations();
    const before = s.sim.control.received({ clientId: 3, msgId: REQ_MKT_DATA }).length;
    const answers = await Promise.all(
      Array.from({ length: 500 }, (_, i) => http(`${s.url}/market/data?${contracts[i % contracts.length]}`)),
    );
    const byStatus: Record<number, number> = {};
    for (const a of answers) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    assert.ok(
      answers.every((a) => a.status === 200 || (a.status === 429 && Number(a.headers.get('retry-after')) >= 1)),
      JSON.stringify(byStatus),
    );
    assert.ok((byStatus[200] ?? 0) >= contracts.length, JSON.stringify(byStatus));
    const v = s.sim.control.violations();
    assert.equal(v.byCode['100'] ?? 0, 0, JSON.stringify(v.recent));
    assert.equal(v.byCode['101'] ?? 0, 0);
    const sent = s.sim.control.received({ clientId: 3, msgId: REQ_MKT_DATA }).length - before;
    // Callers arriving while a snapshot is in flight share it; one arriving after it finished starts a new one.
    assert.ok(sent >= contracts.length && sent < 250, `${sent} snapshot requests for ${contracts.length} contracts`);
    const m = (await http(`${s.url}/metrics`)).body as string;
    assert.match(m, /^ibworker_coalesced_requests_total\{kind="snapshot"\} [1-9]/m);
  });

  it('100 identical historical requests → one IB request and zero 162', async () => {
    const before = s.sim.control.received({ clientId: 3, msgId: REQ_HISTORICAL_DATA }).length;
    const q = `${s.url}/historical?symbol=IBM&durationStr=2%20D&barSizeSetting=1%20hour`;
    const first = await Promise.all(Array.from({ length: 60 }, () => http(q)));
    const later = await Promise.all(Array.from({ length: 40 }, () => http(q)));
    for (const a of [...first, ...later]) assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual(later[0]!.body, first[0]!.body);
    assert.equal(s.sim.control.received({ clientId: 3, msgId: REQ_HISTORICAL_DATA }).length - before, 1);
    assert.equal(s.sim.control.violations().byCode['162'] ?? 0, 0);
  });

  it('hour bars: six for one contract within 2 s all reach IB and are served (no limits above 30 s)', async () => {
    const before = s.sim.control.received({ clientId: 3, msgId: REQ_HISTORICAL_DATA }).length;
    const answers = [];
    for (let d = 1; d <= 6; d++)
      answers.push(
        await http(`${s.url}/historical?symbol=TSLA&durationStr=${d}%20D&barSizeSetting=1%20hour&timeout=1`),
      );
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200, 200, 200],
    );
    assert.equal(s.sim.control.received({ clientId: 3, msgId: REQ_HISTORICAL_DATA }).length - before, 6);
    assert.equal(s.sim.control.violations().byCode['162'] ?? 0, 0);
  });

  it('deadline → 504 and the simulator saw the cancel (historical and snapshot)', async () => {
    s.sim.control.delayReplies(3000);
    try {
      const h = await http(`${s.url}/historical?symbol=AMZN&durationStr=3%20D&barSizeSetting=1%20hour&timeout=0.3`);
      assert.equal(h.status, 504, JSON.stringify(h.body));
      assert.equal(h.body.error.code, 'DEADLINE_EXCEEDED');
      const reqId = String(h.body.error.details.reqId);
      await eventually(
        () =>
          s.sim.control.received({ clientId: 3, msgId: CANCEL_HISTORICAL_DATA }).some((m) => m.fields.includes(reqId)),
        3000,
        'cancelHistoricalData',
      );
      const m = await http(`${s.url}/market/data?symbol=SPY&exchange=ARCA&timeout=0.3`);
      assert.equal(m.status, 504, JSON.stringify(m.body));
      const mReqId = String(m.body.error.details.reqId);
      await eventually(
        () => s.sim.control.received({ clientId: 3, msgId: CANCEL_MKT_DATA }).some((x) => x.fields.includes(mReqId)),
        3000,
        'cancelMktData',
      );
    } finally {
      s.sim.control.delayReplies(0);
    }
  });
});
