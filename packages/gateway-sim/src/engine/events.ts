import type { Execution, SimOrder } from './orders.js';

/**
 * What the broker tells the outside world. The server fans these out to sessions, encoding each for the
 * session's own server version; the broker never touches a socket.
 */
export type BrokerEvent =
  | { type: 'openOrder'; order: SimOrder }
  | { type: 'orderStatus'; order: SimOrder }
  | { type: 'orderError'; order: SimOrder; code: number; text: string }
  | { type: 'execution'; order: SimOrder; exec: Execution }
  | { type: 'commission'; order: SimOrder; exec: Execution }
  /** A position changed (after a fill): positions, portfolio, account values and PnL subscribers. */
  | { type: 'position'; account: string; conId: number };

export type BrokerListener = (ev: BrokerEvent) => void;
