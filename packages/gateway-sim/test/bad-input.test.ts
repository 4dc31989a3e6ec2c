import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGatewaySim, type RunningGatewaySim } from '../src/index.js';
import { RawClient, waitUntil } from './helpers.js';

/** Bad input never crashes the simulator: the offending connection gets an error or is closed; others carry on. */
describe('bad input', () => {
  let gw: RunningGatewaySim;
  let bystander: RawClient;
  before(async () => {
    gw = await startGatewaySim({ tickIntervalMs: 0 });
    bystander = await RawClient.ready(gw.port, 30);
  });
  after(async () => {
    bystander.close();
    await gw.close();
  });

  async function bystanderStillServed(): Promise<void> {
    const before = bystander.frames.length;
    bystander.send(['49', '1']);
    await waitUntil(
      () => bystander.frames.slice(before).some((f) => f[0] === '49'),
      2000,
      'CURRENT_TIME for the bystander',
    );
  }

  it('garbage instead of the handshake – connection closed', async () => {
    const c = await RawClient.open(gw.port);
    c.socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await waitUntil(() => c.closed, 2000, 'close');
    await bystanderStillServed();
  });

  it('client version range outside 164–193 – connection closed', async () => {
    const c = await RawClient.open(gw.port);
    c.handshake('v100..151');
    await waitUntil(() => c.closed, 2000, 'close');
    assert.equal(c.serverVersion, 0);
  });

  it('handshake written byte by byte – negotiated as usual', async () => {
    const d = await RawClient.open(gw.port);
    const v = Buffer.from('v100..170');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    for (const b of Buffer.concat([Buffer.from('API\0'), len, v])) {
      d.socket.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => d.serverVersion === 170, 2000, 'byte-by-byte handshake');
    d.close();
  });

  it('an IB request the simulator does not serve – 321 for its reqId, connection kept', async () => {
    const c = await RawClient.ready(gw.port, 29);
    c.send(['97', '42', '0', 'AAPL', 'STK', '', '0', '', '', 'SMART', '', 'USD', '', '', 'Last', '0', '0']);
    c.send(['80']);
    await waitUntil(() => c.errors(321).length === 2, 2000, 'two 321 refusals');
    assert.deepEqual(
      c.errors(321).map((f) => [f[2], f[4]]),
      [
        ['42', "Error validating request.-'97' : cause - REQ_TICK_BY_TICK_DATA is not simulated"],
        ['-1', "Error validating request.-'80' : cause - REQ_FAMILY_CODES is not simulated"],
      ],
    );
    assert.equal(c.errors(505).length, 0);
    c.close();
  });

  it('unknown message id – error 505 with id −1, connection kept', async () => {
    const c = await RawClient.ready(gw.port, 31);
    c.send(['9999', '1', 'x']);
    c.send(['not-a-number']);
    await waitUntil(() => c.errors(505).length === 2, 2000, 'two 505 notices');
    assert.equal(c.errors(505)[0]![2], '-1');
    c.send(['49', '1']);
    await waitUntil(() => c.has('49'));
    c.close();
  });

  it('truncated request – error 320, connection kept', async () => {
    const c = await RawClient.ready(gw.port, 32);
    c.send(['9', '8', '77', '0', 'AAPL']);
    c.send(['1', 'abc']);
    await waitUntil(() => c.errors(320).length === 2, 2000, 'two 320 errors');
    assert.equal(c.closed, false);
    c.close();
    await bystanderStillServed();
  });

  it('a frame announcing 20 MB – connection closed without buffering it', async () => {
    const c = await RawClient.ready(gw.port, 33);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(20 * 1024 * 1024);
    c.socket.write(Buffer.concat([header, Buffer.alloc(64 * 1024, 0x41)]));
    await waitUntil(() => c.closed, 2000, 'close');
    await bystanderStillServed();
    assert.equal(
      gw.control.connections().some((x) => x.clientId === 33),
      false,
    );
  });

  it('half a frame then disconnect – nothing leaks', async () => {
    const c = await RawClient.ready(gw.port, 34);
    const f = RawClient.frame(['49', '1']);
    c.socket.write(f.subarray(0, 5));
    c.close();
    await waitUntil(() => !gw.control.connections().some((x) => x.clientId === 34), 2000, 'session gone');
    await bystanderStillServed();
  });
});
