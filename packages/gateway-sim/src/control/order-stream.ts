import type { BrokerEvent } from '../engine/events.js';

/**
 * Order-stream timing of real IB sessions, switched on by tests (the engine's `orderQuirks` covers duplicate
 * statuses and fills without a Filled status):
 * - `statusFirst`: an order's orderStatus arrives before its openOrder;
 * - `silent`: order messages are held back (IB says nothing) until `silent` is switched off, when the
 *   held ones go out in their original order.
 */
export interface OrderStreamQuirks {
  statusFirst?: boolean;
  silent?: boolean;
}

type OrderEvent = Exclude<BrokerEvent, { type: 'position' }>;

interface State {
  quirks: OrderStreamQuirks;
  held: OrderEvent[];
}

const states = new WeakMap<object, State>();

function stateOf(sim: object): State {
  let s = states.get(sim);
  if (s === undefined) {
    s = { quirks: {}, held: [] };
    states.set(sim, s);
  }
  return s;
}

/** Sets the quirks (replacing the previous ones); returns the held events to send now when `silent` ends. */
export function setOrderStreamQuirks(sim: object, quirks: OrderStreamQuirks): OrderEvent[] {
  const s = stateOf(sim);
  s.quirks = { ...quirks };
  if (quirks.silent === true) return [];
  return s.held.splice(0);
}

export function orderStreamQuirks(sim: object): OrderStreamQuirks {
  return { ...stateOf(sim).quirks };
}

/** The order events to send for one broker event, after the quirks. */
export function applyOrderStreamQuirks(sim: object, ev: OrderEvent): OrderEvent[] {
  const { quirks, held } = stateOf(sim);
  if (quirks.silent === true) {
    held.push(ev);
    return [];
  }
  if (ev.type === 'openOrder' && quirks.statusFirst === true) return [{ type: 'orderStatus', order: ev.order }, ev];
  return [ev];
}
