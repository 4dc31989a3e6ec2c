import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http } from './helpers/eventually.js';
import { startStack, type Stack } from './helpers/stack.js';

/**
 * IB's older documentation counts the 50 messages/s across all clients of one TWS "combined". The simulator
 * can enforce that; the stack then gives each of the eight workers an equal share (what `npm start` does with
 * IB_RATE_MODE=combined), and driving all eight hard must still cause zero violations.
 */
describe('combined message budget – eight workers share 50 msg/s', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ sim: { rateMode: 'combined', msgRate: 50 }, workerEnv: { IB_MSG_RATE: '6' } });
  });
  after(async () => {
    await stack?.stop();
  });

  test('a burst of reads that need IB across all workers: zero error 100 at the simulator', async () => {
    stack.sim.control.resetViolations();
    const symbols = ['AAPL', 'MSFT', 'SPY', 'TSLA', 'IBM', 'AMZN'];
    const statuses = await Promise.all(
      Array.from({ length: 240 }, (_, i) => {
        const s = symbols[i % symbols.length];
        const path = i % 3 === 0 ? '/market/data' : '/contract';
        return http(`${stack.proxyUrl}${path}?symbol=${s}&secType=STK&exchange=SMART&currency=USD`).then((r) => r.status);
      }),
    );
    assert.ok(statuses.every((s) => s === 200 || s === 429), `only 200 or 429, got ${[...new Set(statuses)].join(',')}`);
    assert.ok(statuses.filter((s) => s === 200).length >= 120, 'most requests served within their deadline');
    assert.deepEqual(stack.sim.control.violations().byCode, {}, 'no error 100 with the combined budget');
    assert.equal(stack.sim.control.connections().length, 8, 'no worker was disconnected for pacing');
  });
});
