import { AccountStore } from './account.js';
import { ExecutionStore } from './executions.js';
import { OrderStore } from './orders.js';
import { PositionStore } from './positions.js';
import type { MirrorEvent } from './types.js';

/**
 * The live mirror of one IB session's account state. `apply` is the one way in (the IB sync reports to
 * it); routes only read. No sockets, no HTTP.
 */
export class Mirror {
  readonly orders: OrderStore;
  readonly positions = new PositionStore();
  readonly account = new AccountStore();
  readonly executions = new ExecutionStore();

  constructor(clientId: number, now: () => Date = () => new Date()) {
    this.orders = new OrderStore(clientId, now);
  }

  apply(event: MirrorEvent): void {
    switch (event.type) {
      case 'openOrder':
      case 'orderStatus':
      case 'orderError':
        this.orders.apply(event);
        return;
      case 'execution':
        this.executions.addExecution(event.contract, event.execution);
        this.orders.apply(event);
        return;
      case 'commission':
        this.executions.addCommission(event.report);
        this.orders.apply(event);
        return;
      case 'positionsBegin':
        this.positions.begin();
        return;
      case 'position':
        this.positions.set(event.account, event.contract, event.pos, event.avgCost);
        return;
      case 'positionsEnd':
        this.positions.end();
        return;
      case 'accountValue':
        this.account.setValue(event.account, event.key, event.value, event.currency);
        return;
      case 'portfolio':
        this.account.setPortfolio(event.item);
        return;
      case 'accountTime':
        this.account.setUpdateTime(event.time);
        return;
      case 'accountDownloadEnd':
        this.account.downloadEnd(event.account);
        return;
    }
  }
}
