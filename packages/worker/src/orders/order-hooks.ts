import type { IdempotencyStore, OrderEventInput } from '@ibrest/order-safety';
import type { OrderHooks, OrderIntent } from '../ib/order-service.js';
import type { JournalSync } from './journal-sync.js';
import type { PolicyGate } from './policy-gate.js';
import { orderRequestContext } from './request-context.js';

const JOURNAL_TYPE = { place: 'accepted', modify: 'modify-requested', cancel: 'cancel-requested' } as const;

/**
 * The order path's hooks, in this order (each step must hold before the next may run):
 * 1. policy: refused → 403, nothing recorded as sent, the idempotency key is released by the route; an
 *    accepted decision's audit record is synced alongside steps 2–3 (not before them) and awaited with them;
 * 2. idempotency: `orderRef` stamped on new orders and the order id made durable with the key;
 * 3. journal: `accepted` / `modify-requested` / `cancel-requested`, durable;
 * only then does the order service hand the message to IB, after which `sent` is journalled.
 * `extra` (StartOptions.orderHooks) runs last, so embedders see the final intents.
 */
export function createOrderHooks(o: { policy: PolicyGate; store: IdempotencyStore; journal: JournalSync; clientId: () => number; extra?: OrderHooks }): OrderHooks {
  return {
    async beforeSend(intents: OrderIntent[]) {
      const rc = orderRequestContext.getStore();
      // Every decision first (a refusal throws once its audit record is durable); the accepted records' syncs
      // then overlap the idempotency and journal writes below: all of them are awaited before the send.
      const recorded: Promise<void>[] = [];
      try {
        for (const it of intents) {
          const decision = await o.policy.begin({
            action: it.action,
            orderId: it.orderId,
            ...(it.contract === undefined ? {} : { contract: it.contract }),
            ...(it.order === undefined ? {} : { order: it.order }),
            ...(rc === undefined ? {} : { reqId: rc.reqId }),
            ...(rc?.apiKeyName === undefined ? {} : { apiKeyName: rc.apiKeyName }),
            ...(rc?.deadline === undefined ? {} : { deadline: rc.deadline }),
            ...(rc?.idempotencyKey === undefined ? {} : { idempotencyKey: rc.idempotencyKey }),
          });
          recorded.push(decision.recorded);
        }
        if (rc?.idempotencyKey !== undefined) {
          // The key's orderRef identifies the order at IB across any crash; a modify keeps the order's own.
          for (const it of intents) if (it.action === 'place' && it.order) it.order.orderRef = rc.orderRef;
          await o.store.attachOrder(rc.idempotencyKey, intents[0]!.orderId);
        }
        await o.extra?.beforeSend?.(intents);
        await Promise.all([...recorded, ...intents.map((it) => o.journal.append(journalEvent(it, JOURNAL_TYPE[it.action], o.clientId(), rc?.idempotencyKey)))]);
      } finally {
        // Whatever failed above, no audit record is left unawaited (each failure is already handled in begin()).
        await Promise.allSettled(recorded);
      }
      if (rc !== undefined) {
        rc.orderIds = intents.map((it) => it.orderId);
        rc.attached = true;
      }
    },
    afterSend(intent: OrderIntent) {
      const rc = orderRequestContext.getStore();
      if (rc !== undefined) rc.sent++;
      o.extra?.afterSend?.(intent);
      o.journal.append(journalEvent(intent, 'sent', o.clientId())).catch(() => {});
    },
  };
}

function journalEvent(it: OrderIntent, type: OrderEventInput['type'], clientId: number, idempotencyKey?: string): OrderEventInput {
  const orderRef = it.order?.orderRef;
  return {
    type,
    orderId: it.orderId,
    clientId,
    ...(typeof orderRef === 'string' && orderRef !== '' ? { orderRef } : {}),
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(type === 'sent' ? { data: { action: it.action } } : it.contract || it.order ? { data: { contract: it.contract, order: it.order } } : {}),
  };
}
