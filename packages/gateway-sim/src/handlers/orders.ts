import { commissionReport, executionData, executionDataEnd } from '../encode/executions.js';
import { completedOrder, completedOrdersEnd, openOrder, openOrderEnd, orderStatus } from '../encode/orders.js';
import { readCancelOrder, readPlaceOrder } from '../decode/orders.js';
import type { ContractDef } from '../engine/catalogue.js';
import type { Execution, OrderRequest, SimOrder } from '../engine/orders.js';
import { IN } from '../wire/msg-ids.js';
import { MIN_SERVER_VER as V } from '../wire/server-versions.js';
import type { HandlerEntry, SimContext } from './context.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import { NO_SECURITY_DEFINITION } from './contracts.js';

function placeOrder(ctx: SimContext, s: Session, r: FieldReader): void {
  const { contract, order, whatIf } = readPlaceOrder(s.serverVersion, r);
  const found = ctx.engine.catalogue.find(contract);
  if (found.length !== 1) {
    const text =
      found.length === 0
        ? NO_SECURITY_DEFINITION
        : `The contract description specified for ${contract.symbol} is ambiguous.`;
    s.sendError(order.orderId, 200, text);
    return;
  }
  if (whatIf) {
    answerWhatIf(ctx, s, order, found[0]!);
    return;
  }
  const res = ctx.engine.orders.place(s.clientId ?? 0, order, found[0]!);
  if (!res.ok) s.sendError(order.orderId, res.code, res.text);
}

/**
 * A what-if is answered, never placed: one OPEN_ORDER (whatIf 1, PreSubmitted, the margin and commission
 * preview) to the asking client only — no ORDER_STATUS, no order in the book, no permId, nothing for
 * client 0's auto-open stream. The order id stays free for a real order.
 */
function answerWhatIf(ctx: SimContext, s: Session, order: OrderRequest, contract: ContractDef): void {
  const invalid = ctx.engine.orders.validate(order, contract);
  if (invalid) {
    s.sendError(order.orderId, invalid.code, invalid.text);
    return;
  }
  const { order: view, figures } = ctx.engine.whatIf.preview(s.clientId ?? 0, order, contract);
  ctx.log.debug(
    { clientId: s.clientId, orderId: order.orderId, initMarginChange: figures.initMarginChange },
    'what-if answered',
  );
  s.send(openOrder(s.serverVersion, view, figures));
}

function cancelOrder(ctx: SimContext, s: Session, r: FieldReader): void {
  const { orderId } = readCancelOrder(s.serverVersion, r);
  const res = ctx.engine.orders.cancel(s.clientId ?? 0, orderId);
  if (!res.ok) s.sendError(orderId, res.code, res.text);
}

function globalCancel(ctx: SimContext, s: Session, r: FieldReader): void {
  if (s.serverVersion < V.CME_TAGGING_FIELDS) r.readInt('version');
  r.skipRest();
  ctx.engine.orders.globalCancel();
}

function sendOpenOrders(s: Session, orders: SimOrder[]): void {
  for (const o of orders) {
    s.send(openOrder(s.serverVersion, o));
    s.send(orderStatus(o));
  }
  s.send(openOrderEnd());
}

/** Execution filter of REQ_EXECUTIONS (message version 3); empty fields match everything. */
interface ExecFilter {
  clientId: number;
  account: string;
  time: string;
  symbol: string;
  secType: string;
  exchange: string;
  side: string;
}

function parseFilterTime(t: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})[- ](\d{2}):(\d{2})(?::(\d{2}))?/.exec(t.trim());
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
}

function matches(e: Execution, f: ExecFilter, requester: number, master: number): boolean {
  // The Master API client sees every client's executions; others only their own.
  if (requester !== master && e.clientId !== requester) return false;
  if (f.clientId && e.clientId !== f.clientId) return false;
  if (f.account && e.account !== f.account) return false;
  if (f.symbol && e.contract.symbol !== f.symbol.toUpperCase()) return false;
  if (f.secType && e.contract.secType !== f.secType.toUpperCase()) return false;
  if (f.exchange && e.exchange !== f.exchange.toUpperCase() && e.contract.exchange !== f.exchange.toUpperCase())
    return false;
  if (f.side) {
    const side = f.side.toUpperCase();
    const want = side === 'BUY' || side === 'BOT' ? 'BOT' : side === 'SELL' || side === 'SLD' ? 'SLD' : side;
    if (e.side !== want) return false;
  }
  const since = f.time ? parseFilterTime(f.time) : undefined;
  if (since !== undefined && e.time < since) return false;
  return true;
}

function reqExecutions(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  const f: ExecFilter = {
    clientId: r.readInt('clientId'),
    account: r.readStr('acctCode'),
    time: r.readStr('time'),
    symbol: r.readStr('symbol'),
    secType: r.readStr('secType'),
    exchange: r.readStr('exchange'),
    side: r.readStr('side'),
  };
  const master = ctx.engine.orders.masterClientId;
  const list = ctx.engine.orders.execs().filter((e) => matches(e, f, s.clientId ?? 0, master));
  for (const e of list) s.send(executionData(s.serverVersion, reqId, e));
  for (const e of list) s.send(commissionReport(e));
  s.send(executionDataEnd(reqId));
}

function reqAutoOpenOrders(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const autoBind = r.readBool('autoBind');
  if (s.clientId !== 0) {
    s.sendError(-1, 321, "Error validating request:-'bX' : cause - The API client ID must be 0 to bind orders");
    return;
  }
  s.subs.autoBind = autoBind;
  ctx.log.debug({ clientId: s.clientId, autoBind }, 'auto open orders');
}

export const ORDER_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.PLACE_ORDER, { name: 'PLACE_ORDER', handle: placeOrder }],
  [IN.CANCEL_ORDER, { name: 'CANCEL_ORDER', handle: cancelOrder }],
  [IN.REQ_GLOBAL_CANCEL, { name: 'REQ_GLOBAL_CANCEL', handle: globalCancel }],
  [
    IN.REQ_OPEN_ORDERS,
    {
      name: 'REQ_OPEN_ORDERS',
      // The Master API client sees every client's orders; the others see their own.
      handle: (ctx, s) =>
        sendOpenOrders(
          s,
          ctx.engine.orders
            .open()
            .filter((o) => s.clientId === ctx.engine.orders.masterClientId || o.clientId === s.clientId),
        ),
    },
  ],
  [
    IN.REQ_ALL_OPEN_ORDERS,
    { name: 'REQ_ALL_OPEN_ORDERS', handle: (ctx, s) => sendOpenOrders(s, ctx.engine.orders.open()) },
  ],
  [IN.REQ_AUTO_OPEN_ORDERS, { name: 'REQ_AUTO_OPEN_ORDERS', handle: reqAutoOpenOrders }],
  [
    IN.REQ_COMPLETED_ORDERS,
    {
      name: 'REQ_COMPLETED_ORDERS',
      handle: (ctx, s, r) => {
        r.readBool('apiOnly');
        for (const o of ctx.engine.orders.completed()) s.send(completedOrder(s.serverVersion, o));
        s.send(completedOrdersEnd());
      },
    },
  ],
  [IN.REQ_EXECUTIONS, { name: 'REQ_EXECUTIONS', handle: reqExecutions }],
];
