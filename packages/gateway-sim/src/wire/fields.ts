/**
 * Field-level codec of the TWS wire protocol: every message is a list of NUL-terminated UTF-8 fields.
 * Outgoing values are formatted the way IB's Java EClient/EServer does it; incoming fields are read with
 * strict underrun checks so a truncated request is detected instead of silently misread.
 */

/** Java's Double.MAX_VALUE as IB writes it: "unset" for doubles (clients map it to undefined). */
export const UNSET_DOUBLE = '1.7976931348623157E308';
/** Java's Integer.MAX_VALUE: "unset" for ints. */
export const UNSET_INT = '2147483647';

export type Field = string | number | boolean | undefined | null;

/** Formats one outgoing field: booleans as 1/0, missing values as the empty string. */
export function formatField(v: Field): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '';
    return String(v);
  }
  return v;
}

/** A double that may be unset (IB sends Double.MAX_VALUE for "no value"). */
export function optDouble(v: number | undefined): Field {
  return v === undefined || Number.isNaN(v) ? UNSET_DOUBLE : v;
}

/** An int that may be unset (IB sends Integer.MAX_VALUE for "no value"). */
export function optInt(v: number | undefined): Field {
  return v === undefined ? UNSET_INT : v;
}

/** Thrown when a request ends before all of its fields were read. */
export class UnderrunError extends Error {
  constructor(what: string) {
    super(`request ended early while reading ${what}`);
    this.name = 'UnderrunError';
  }
}

/** Thrown when a field cannot be parsed as the type the layout requires. */
export class BadFieldError extends Error {
  constructor(what: string, value: string) {
    super(`expected ${what}, got ${JSON.stringify(value.slice(0, 40))}`);
    this.name = 'BadFieldError';
  }
}

/** Sequential reader over one message's fields (index 0 is the message id). */
export class FieldReader {
  private pos: number;

  constructor(
    readonly fields: readonly string[],
    start = 1,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.fields.length - this.pos;
  }

  readStr(what = 'string'): string {
    if (this.pos >= this.fields.length) throw new UnderrunError(what);
    return this.fields[this.pos++]!;
  }

  /** Empty reads as 0, like Java's EDecoder.readInt. */
  readInt(what = 'int'): number {
    const s = this.readStr(what);
    if (s === '') return 0;
    if (!/^[-+]?\d+$/.test(s.trim())) throw new BadFieldError(`${what} (integer)`, s);
    return parseInt(s, 10);
  }

  /** Empty or Integer.MAX_VALUE reads as undefined. */
  readIntOrUndefined(what = 'int'): number | undefined {
    const s = this.readStr(what);
    if (s === '' || s === UNSET_INT) return undefined;
    if (!/^[-+]?\d+$/.test(s.trim())) throw new BadFieldError(`${what} (integer)`, s);
    return parseInt(s, 10);
  }

  /** Empty or Double.MAX_VALUE reads as undefined. */
  readDoubleOrUndefined(what = 'double'): number | undefined {
    const s = this.readStr(what);
    if (s === '') return undefined;
    const n = Number(s.replaceAll(',', ''));
    if (Number.isNaN(n)) throw new BadFieldError(`${what} (number)`, s);
    return n >= Number.MAX_VALUE || !Number.isFinite(n) ? undefined : n;
  }

  readDouble(what = 'double'): number {
    return this.readDoubleOrUndefined(what) ?? 0;
  }

  readBool(what = 'bool'): boolean {
    const s = this.readStr(what);
    return s !== '' && s !== '0' && s.toLowerCase() !== 'false';
  }

  /** Skips the rest of the message (long tails such as PLACE_ORDER's that the simulator does not use). */
  skipRest(): void {
    this.pos = this.fields.length;
  }
}
