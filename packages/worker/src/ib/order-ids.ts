/**
 * Next order id: `max(IB's nextValidId, highest id in the journal + 1, every id used or seen + 1)`, so
 * neither a reconnect nor a gateway that restarted with a fresh id sequence makes the worker send an id
 * it used before (IB 103, or worse: a new order under an old order's id).
 */
export class OrderIds {
  private next = 1;

  /** IB's nextValidId (session start or reqIds answer). */
  floor(nextValidId: number): void {
    if (nextValidId > this.next) this.next = nextValidId;
  }

  /** An order id of this client seen in openOrder/orderStatus/executions. */
  seen(orderId: number): void {
    if (orderId >= this.next) this.next = orderId + 1;
  }

  allocate(count = 1): number[] {
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push(this.next++);
    return ids;
  }

  peek(): number {
    return this.next;
  }
}
