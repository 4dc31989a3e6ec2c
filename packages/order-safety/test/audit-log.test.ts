import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createAuditLog, createOrderJournal, evaluateOrderPolicy, type OrderPolicyRequest } from '../src/index.js';
import { manualClock, tempDir } from './helpers.js';

describe('audit log', () => {
  test('audit log – records accepted and refused decisions durably, in order, across a restart', async () => {
    const dir = await tempDir('audit');
    const clock = manualClock(Date.UTC(2025, 0, 6, 15, 0));
    const audit = await createAuditLog({ dir, clock: clock.now });
    const request: OrderPolicyRequest = {
      action: 'place',
      symbol: 'TSLA',
      secType: 'STK',
      side: 'BUY',
      quantity: 5,
      orderType: 'MKT',
    };
    const decision = evaluateOrderPolicy({ readOnly: false, symbols: ['AAPL'] }, request);
    assert.equal(decision.allowed, false);
    const refused = await audit.record({
      apiKeyName: 'algo-1',
      action: 'place',
      decision: 'refused',
      code: !decision.allowed ? decision.code : '',
      reason: !decision.allowed ? decision.message : '',
      reqId: 'r-1',
      order: { ...request, lmtPrice: 1, account: 'DU123' } as never,
    });
    clock.advance(1000);
    const accepted = await audit.record({
      apiKeyName: 'algo-1',
      action: 'cancel',
      decision: 'accepted',
      order: { orderId: 9 },
    });
    assert.equal(refused.cursor, 1);
    assert.equal(accepted.cursor, 2);
    assert.equal(refused.time, '2025-01-06T15:00:00.000Z');
    assert.equal(refused.code, 'POLICY_SYMBOL_NOT_ALLOWED');
    assert.deepEqual(
      refused.order,
      { symbol: 'TSLA', secType: 'STK', side: 'BUY', quantity: 5, orderType: 'MKT' },
      'only summary fields are kept',
    );
    await audit.close();

    const reopened = await createAuditLog({ dir });
    assert.deepEqual(await reopened.read(), [refused, accepted]);
    assert.deepEqual(reopened.last(), accepted);
    await reopened.close();
    const files = (await readdir(dir)).filter((n) => n.startsWith('audit.db'));
    assert.deepEqual(files, ['audit.db']);
    assert.doesNotMatch(await readFile(join(dir, files[0]!), 'latin1'), /DU123/);
  });

  test('audit log – refusals need a reason code; decisions are accepted or refused', async () => {
    const dir = await tempDir('audit-invalid');
    const audit = await createAuditLog({ dir, fsync: false });
    await assert.rejects(audit.record({ action: 'place', decision: 'refused' }), /expected a reason code/);
    await assert.rejects(audit.record({ action: 'place', decision: 'maybe' as 'accepted' }), /expected decision/);
    await audit.close();
  });

  test('audit log – shares a data directory with the order journal; each file has its own writer', async () => {
    const dir = await tempDir('audit-shared');
    const audit = await createAuditLog({ dir });
    const journal = await createOrderJournal({ dir });
    await audit.record({ action: 'place', decision: 'accepted', apiKeyName: 'k' });
    await journal.append({ type: 'accepted', orderId: 1 });
    await Promise.all([audit.close(), journal.close()]);
    const reopened = await createAuditLog({ dir });
    assert.equal((await reopened.record({ action: 'cancel', decision: 'accepted' })).cursor, 2);
    await reopened.close();
  });
});
