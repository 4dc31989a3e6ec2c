/** Seeded PRNG (mulberry32): the same seed gives the same prices, bars and ids on every run. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Roughly normal(0, 1) from the sum of uniforms; good enough for price walks. */
  gauss(): number {
    let s = 0;
    for (let i = 0; i < 6; i++) s += this.next();
    return (s - 3) / Math.sqrt(0.5);
  }
}

/** Rounds to a tick size without floating-point noise in the output. */
export function roundTo(value: number, tick: number): number {
  const digits = Math.max(0, Math.ceil(-Math.log10(tick)));
  return Number((Math.round(value / tick) * tick).toFixed(digits));
}
