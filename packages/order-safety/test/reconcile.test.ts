import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createOrderJournal,
  orderRefForKey,
  projectJournal,
  reconcileOrders,
  type IbExecutionSnapshot,
  type IbOrderSnapshot,
} from '../src/index.js';
import { tempDir } from './helpers.js';

describe('reconcile', () => {
  test('reconcile – missed fills, commissions and status changes become reconciled events, once', async () => {
    const dir = await tempDir('reconcile');
    const journal = await createOrderJournal({ dir, fsync: false });
    const ref = orderRefForKey('k-1');
    await journal.append({ type: 'accepted', orderId: 10, clientId: 0, orderRef: ref, idempotencyKey: 'k-1' });
    await journal.append({ type: 'sent', orderId: 10, clientId: 0 });
    await journal.append({ type: 'status', orderId: 10, clientId: 0, permId: 555, status: 'Submitted' });
    await journal.append({ type: 'fill', orderId: 10, clientId: 0, permId: 555, execId: 'e-1' });
    await journal.append({ type: 'status', orderId: 11, clientId: 0, permId: 556, status: 'Submitted' });

    const projection = await projectJournal(journal);
    assert.equal(projection.byOrderRef(ref)?.permId, 555, 'an idempotency key finds its order through orderRef');
    assert.equal(projection.get({ permId: 555 })?.orderId, 10);

    // During the outage order 10 filled completely (a second execution) and order 11 is unchanged; a manual
    // TWS order (negative id, clientId 0) appeared.
    const orders: IbOrderSnapshot[] = [
      {
        orderId: 10,
        clientId: 0,
        permId: 555,
        orderRef: ref,
        status: 'Filled',
        filled: 10,
        remaining: 0,
        avgFillPrice: 190.5,
      },
      { orderId: 11, clientId: 0, permId: 556, status: 'Submitted' },
      { orderId: -3, clientId: 0, permId: 900, status: 'PreSubmitted' },
    ];
    const executions: IbExecutionSnapshot[] = [
      { execId: 'e-1', orderId: 10, clientId: 0, permId: 555, commission: { commission: 1, currency: 'USD' } },
      { execId: 'e-2', orderId: 10, clientId: 0, permId: 555, data: { shares: 4, price: 191 } },
      { execId: 'e-2', orderId: 10, clientId: 0, permId: 555, data: { shares: 4, price: 191 } },
    ];
    const missed = reconcileOrders(projection, { orders, executions });
    assert.deepEqual(
      missed.map((e) => [e.type, e.orderId, e.execId ?? e.status]),
      [
        ['fill', 10, 'e-2'],
        ['commission', 10, 'e-1'],
        ['status', 10, 'Filled'],
        ['status', -3, 'PreSubmitted'],
      ],
    );
    assert.ok(missed.every((e) => e.reconciled === true));
    assert.deepEqual(missed[2]!.data, { filled: 10, remaining: 0, avgFillPrice: 190.5, previousStatus: 'Submitted' });

    for (const event of missed) projection.apply(await journal.append(event));
    assert.deepEqual(reconcileOrders(projection, { orders, executions }), [], 'a second pass finds nothing new');

    await journal.close();
    const reopened = await createOrderJournal({ dir, fsync: false });
    assert.deepEqual(
      reconcileOrders(await projectJournal(reopened), { orders, executions }),
      [],
      'nor after a restart',
    );
    await reopened.close();
  });
});
