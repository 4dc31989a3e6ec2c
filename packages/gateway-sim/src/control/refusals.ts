import { FieldReader } from '../wire/fields.js';

/** One armed refusal: the next `count` requests of message `name` (or of any message) get IB error `code`. */
export interface RefusalSpec {
  /** Incoming message name (`REQ_CONTRACT_DATA`, `PLACE_ORDER`…); omitted: any request that carries an id. */
  name?: string;
  code: number;
  text?: string;
  /** @default 1 */
  count?: number;
}

/** Thrown by {@link RefusingReader} when the handler reads the request's id: the request stops there. */
export class RefusedSignal extends Error {
  constructor(readonly id: number) {
    super('refused');
  }
}

/**
 * A reader that gives the handler every field as usual until it reads the request's own id (`reqId` or
 * `orderId`, the names every handler reads it by), then stops the handler: the simulator answers that id with
 * the armed IB error instead, as TWS does when it refuses a request.
 */
class RefusingReader extends FieldReader {
  override readInt(what = 'int'): number {
    const v = super.readInt(what);
    if (what === 'reqId' || what === 'orderId') throw new RefusedSignal(v);
    return v;
  }
}

/** What the simulator answers instead: IB error `code` with `text` for the request's `id`. */
export interface Refusal {
  id: number;
  code: number;
  text: string;
}

/** Armed refusals, consumed in order. Requests without an id (positions, account updates) are never refused. */
export class Refusals {
  private readonly armed: Array<Required<Pick<RefusalSpec, 'code' | 'count'>> & RefusalSpec> = [];

  arm(spec: RefusalSpec): void {
    if (!Number.isInteger(spec.code) || spec.code < 0) {
      throw new Error(`expected code to be an IB error code, got ${spec.code}`);
    }
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`expected count to be a positive integer, got ${count}`);
    this.armed.push({ ...spec, count });
  }

  clear(): void {
    this.armed.length = 0;
  }

  pending(): number {
    return this.armed.reduce((n, a) => n + a.count, 0);
  }

  /**
   * Runs `handle` with a refusing reader when a refusal is armed for `name`; returns the refusal to send (and
   * consumes it) when the handler reached the request's id, or undefined when the request went through.
   */
  run(name: string, fields: readonly string[], handle: (r: FieldReader) => void): Refusal | undefined {
    const i = this.armed.findIndex((a) => a.name === undefined || a.name === name);
    if (i < 0) {
      handle(new FieldReader(fields));
      return undefined;
    }
    try {
      handle(new RefusingReader(fields));
      return undefined;
    } catch (err) {
      if (!(err instanceof RefusedSignal)) throw err;
      const a = this.armed[i]!;
      if (--a.count === 0) this.armed.splice(i, 1);
      return { id: err.id, code: a.code, text: a.text ?? `Refused by the simulator (${a.code})` };
    }
  }
}
