/**
 * An exact running sum of decimal strings: numbers while the sum fits the
 * fixed-point fast path (fixed.ts: below 2^53 at the largest scale seen),
 * a BigInt Decimal for what does not. Every add is exact either way; the
 * fast path only avoids a BigInt per term in hot loops.
 */
import { Decimal } from "./decimal.js";
import { LIMIT, parseFixedInto, reg, timesPow10 } from "./fixed.js";

export class ExactSum {
  private m = 0;
  private s = 0;
  private slow: Decimal | undefined;

  /** Adds a validated plain decimal string ("12.5", "-0.001"). */
  add(text: string): void {
    if (parseFixedInto(text)) {
      let a = this.m;
      let b = reg.m;
      const s = reg.s > this.s ? reg.s : this.s;
      if (reg.s > this.s) a = timesPow10(a, reg.s - this.s);
      else if (reg.s < this.s) b = timesPow10(b, this.s - reg.s);
      const sum = a + b;
      // NaN (a scale change that does not fit) fails this test too.
      if (Math.abs(sum) < LIMIT && Math.abs(a) < LIMIT && Math.abs(b) < LIMIT) {
        this.m = sum;
        this.s = s;
        return;
      }
    }
    this.spill();
    this.slow = (this.slow as Decimal).add(Decimal.parse(text));
  }

  /** Adds another sum into this one. */
  addSum(other: ExactSum): void {
    this.spill();
    this.slow = (this.slow as Decimal).add(other.value());
  }

  /** Moves the fast part into the BigInt part. */
  private spill(): void {
    const fast = Decimal.of(this.m, -this.s);
    this.slow = this.slow === undefined ? fast : this.slow.add(fast);
    this.m = 0;
  }

  value(): Decimal {
    const fast = Decimal.of(this.m, -this.s);
    return this.slow === undefined ? fast : this.slow.add(fast);
  }

  /** The sum without trailing zeros of its fraction ("3.5", "0", "-12"). */
  toString(): string {
    return this.value().normalize().toString();
  }
}
