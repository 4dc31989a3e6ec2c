/**
 * Next order id: never below IB's nextValidId of the current session and always past every id this
 * client has used or seen (ib_insync's updateReqId rule), so a reconnect can never reuse an id (IB 103).
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
