import type { BrokerEvent } from './engine/events.js';
import type { Quote } from './engine/market.js';
import type { SimOrder } from './engine/orders.js';
import { ibDate, ibDateTime } from './engine/clock.js';
import { accountUpdateTime, accountValue, portfolioValue, position } from './encode/account.js';
import { sendAccountMultiValues, sendPositionMulti } from './handlers/account.js';
import { commissionReport, executionData } from './encode/executions.js';
import { historicalDataUpdate } from './encode/historical.js';
import { openOrder, orderStatus } from './encode/orders.js';
import { accountUpdateValues } from './engine/accounts.js';
import { ibHourMinute } from './engine/clock.js';
import { sendPnl, sendPnlSingle } from './handlers/account.js';
import type { SimContext } from './handlers/context.js';
import { quoteTicks } from './handlers/market-data.js';
import { depthOnQuote } from './handlers/depth.js';
import { realTimeBarOnQuote } from './handlers/real-time-bars.js';
import type { Session } from './session.js';
import { applyOrderStreamQuirks } from './control/order-stream.js';

/**
 * Who hears about an order: the client that placed it, the Master API client (TWS setting, default 0: every
 * client's order statuses, executions and commission reports), and client 0 when it bound itself with
 * reqAutoOpenOrders(true).
 */
function orderRecipients(ctx: SimContext, o: SimOrder): Session[] {
  const master = ctx.engine.orders.masterClientId;
  return ctx
    .readySessions()
    .filter((s) => s.clientId === o.clientId || s.clientId === master || (s.clientId === 0 && s.subs.autoBind));
}

/** Encodes one broker event for each interested session, in the session's own server version. */
export function fanOutBrokerEvent(ctx: SimContext, ev: BrokerEvent): void {
  if (ev.type === 'position') {
    positionChanged(ctx, ev.account, ev.conId);
    return;
  }
  for (const e of applyOrderStreamQuirks(ctx, ev)) sendOrderEvent(ctx, e);
}

/** One order event to every session that hears about the order. */
export function sendOrderEvent(ctx: SimContext, ev: Exclude<BrokerEvent, { type: 'position' }>): void {
  for (const s of orderRecipients(ctx, ev.order)) {
    switch (ev.type) {
      case 'openOrder':
        s.send(openOrder(s.serverVersion, ev.order));
        break;
      case 'orderStatus':
        s.send(orderStatus(ev.order));
        break;
      case 'orderError':
        s.sendError(ev.order.orderId, ev.code, ev.text);
        break;
      case 'execution':
        // Unsolicited executions carry reqId −1.
        s.send(executionData(s.serverVersion, -1, ev.exec));
        break;
      case 'commission':
        s.send(commissionReport(ev.exec));
        break;
    }
  }
}

/** After a fill: POSITION, then PORTFOLIO_VALUE + account values + update time, then PnL, per subscriber. */
function positionChanged(ctx: SimContext, account: string, conId: number): void {
  const accts = ctx.engine.accounts;
  const p = accts.get(account)?.positions.get(conId);
  if (!p) return;
  for (const s of ctx.readySessions()) {
    if (s.subs.positions) s.send(position(account, p));
    if (s.subs.accountUpdates === account) {
      s.send(portfolioValue(p, accts.markPrice(p.contract), account));
      for (const [k, v, cur] of accountUpdateValues(account, ctx.engine.accountType, accts.values(account))) {
        s.send(accountValue(k, v, cur, account));
      }
      s.send(accountUpdateTime(ibHourMinute(ctx.engine.clock.now())));
    }
    for (const [reqId, acct] of s.subs.positionsMulti) {
      if (acct === '' || acct === account) sendPositionMulti(s, reqId, account, p);
    }
    for (const [reqId, acct] of s.subs.accountUpdatesMulti) {
      if (acct === account) sendAccountMultiValues(ctx, s, reqId, account);
    }
    for (const [reqId, acct] of s.subs.pnl) if (acct === account) sendPnl(ctx, s, reqId, acct);
    for (const [reqId, sub] of s.subs.pnlSingle) {
      if (sub.account === account && sub.conId === conId) sendPnlSingle(ctx, s, reqId, account, conId);
    }
  }
}

/**
 * A price moved: ticks to streaming subscribers, changed rows to depth books, the forming real-time bar,
 * and the forming bar to keepUpToDate subscribers.
 */
export function fanOutQuote(ctx: SimContext, q: Quote, linkDown: boolean): void {
  if (linkDown) return;
  const nowSec = Math.floor(ctx.engine.clock.now() / 1000);
  for (const s of ctx.readySessions()) {
    for (const sub of s.subs.mktData.values()) {
      if (sub.contract.conId !== q.conId) continue;
      for (const f of quoteTicks(sub.reqId, q, sub.dataType, false)) s.send(f);
    }
    for (const d of s.subs.depth.values()) if (d.contract.conId === q.conId) depthOnQuote(ctx, s, d, q);
    for (const b of s.subs.realTimeBars.values()) if (b.contract.conId === q.conId) realTimeBarOnQuote(b, q);
    for (const h of s.subs.historical.values()) {
      if (h.contract.conId !== q.conId) continue;
      const start = Math.floor(nowSec / h.barSeconds) * h.barSeconds;
      if (!h.bar || h.bar.time !== start)
        h.bar = { time: start, open: q.last, high: q.last, low: q.last, close: q.last, volume: 0, count: 0 };
      const b = h.bar;
      b.high = Math.max(b.high, q.last);
      b.low = Math.min(b.low, q.last);
      b.close = q.last;
      b.volume += q.lastSize;
      b.count += 1;
      const date = h.formatDate === 2 ? String(start) : h.daily ? ibDate(start * 1000) : ibDateTime(start * 1000);
      s.send(historicalDataUpdate(h.reqId, { ...b, wap: (b.high + b.low + b.close) / 3 }, date));
    }
  }
}
