/**
 * Exact decimal numbers for quantities and money.
 *
 * A value is `coef × 10^exp` with a BigInt coefficient, so addition,
 * subtraction and multiplication are exact whatever the magnitudes, and sums
 * over millions of points never drift. Division and explicit rounding take a
 * precision and a rounding mode. `DecimalContext` reproduces Python's
 * `decimal` context arithmetic (precision 28, ROUND_HALF_EVEN by default),
 * which is what CloudKitty prices with, so that prices match to the last
 * digit.
 *
 * Why not a library such as decimal.js: its values are rounded to a global
 * precision on every operation, so an exact unbounded sum needs a precision
 * large enough for the worst case, and its digit arrays cost several times a
 * BigInt addition on the storage and rating hot paths. A BigInt coefficient
 * gives both exactness by construction and speed.
 *
 * Wire format (`toString`, `parse`): plain notation only, an optional sign,
 * digits, and an optional fraction: "12.50000000", "-3", "0.001". No
 * exponent, no leading "+" on output, trailing zeros are kept as given.
 */

export type Rounding = "half_even" | "half_up" | "half_down" | "down" | "up" | "floor" | "ceiling";

const PLAIN = /^([+-]?)(\d+)(?:\.(\d+))?$/;
const LOOSE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

const POW10: bigint[] = [];
for (let i = 0, p = 1n; i <= 80; i++, p *= 10n) POW10.push(p);

function pow10(n: number): bigint {
  return n < POW10.length ? (POW10[n] as bigint) : 10n ** BigInt(n);
}

function digitCount(n: bigint): number {
  if (n < 0n) n = -n;
  if (n < 10n) return 1;
  return n.toString().length;
}

export class DecimalSyntaxError extends Error {
  constructor(text: string) {
    super(`${JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)} is not a decimal number`);
    this.name = "DecimalSyntaxError";
  }
}

export class Decimal {
  static readonly ZERO = new Decimal(0n, 0);
  static readonly ONE = new Decimal(1n, 0);

  private constructor(
    readonly coef: bigint,
    readonly exp: number,
  ) {}

  static of(coef: bigint | number, exp = 0): Decimal {
    if (typeof coef === "number") {
      if (!Number.isSafeInteger(coef)) throw new RangeError(`${coef} is not a safe integer`);
      coef = BigInt(coef);
    }
    return new Decimal(coef, exp);
  }

  /** Parses the wire format: "-12.345". Throws DecimalSyntaxError otherwise. */
  static parse(text: string): Decimal {
    const m = PLAIN.exec(text);
    if (m === null) throw new DecimalSyntaxError(text);
    const frac = m[3] ?? "";
    const coef = BigInt(m[2] + frac);
    return new Decimal(m[1] === "-" ? -coef : coef, -frac.length);
  }

  /** Like parse, but also accepts exponents and bare fractions ("1e-7", ".5", "3."). */
  static parseLoose(text: string): Decimal {
    const m = LOOSE.exec(text.trim());
    if (m === null) throw new DecimalSyntaxError(text);
    const int = m[2] ?? "";
    const frac = m[3] ?? "";
    if (int === "" && frac === "") throw new DecimalSyntaxError(text);
    const coef = BigInt(`${int}${frac}` || "0");
    const exp = -frac.length + (m[4] === undefined ? 0 : Number.parseInt(m[4], 10));
    if (!Number.isSafeInteger(exp)) throw new DecimalSyntaxError(text);
    return new Decimal(m[1] === "-" ? -coef : coef, exp);
  }

  /**
   * The decimal a JS number prints as (its shortest round-trip form): 0.1
   * gives exactly 0.1, not the binary expansion of the double.
   */
  static fromNumber(n: number): Decimal {
    if (!Number.isFinite(n)) throw new DecimalSyntaxError(String(n));
    return Decimal.parseLoose(String(n));
  }

  static isValid(text: string): boolean {
    return PLAIN.test(text);
  }

  get sign(): -1 | 0 | 1 {
    return this.coef === 0n ? 0 : this.coef < 0n ? -1 : 1;
  }

  isZero(): boolean {
    return this.coef === 0n;
  }

  neg(): Decimal {
    return new Decimal(-this.coef, this.exp);
  }

  abs(): Decimal {
    return this.coef < 0n ? this.neg() : this;
  }

  add(other: Decimal): Decimal {
    if (this.exp === other.exp) return new Decimal(this.coef + other.coef, this.exp);
    if (this.exp < other.exp) {
      return new Decimal(this.coef + other.coef * pow10(other.exp - this.exp), this.exp);
    }
    return new Decimal(this.coef * pow10(this.exp - other.exp) + other.coef, other.exp);
  }

  sub(other: Decimal): Decimal {
    return this.add(other.neg());
  }

  mul(other: Decimal): Decimal {
    return new Decimal(this.coef * other.coef, this.exp + other.exp);
  }

  /**
   * this / other with `precision` significant digits (Python's context
   * division). An exact quotient keeps no more digits than it needs beyond
   * the ideal exponent (this.exp - other.exp), as Python does.
   */
  div(other: Decimal, precision = 28, rounding: Rounding = "half_even"): Decimal {
    if (other.coef === 0n) throw new RangeError("division by zero");
    if (this.coef === 0n) return new Decimal(0n, this.exp - other.exp);
    const shift = Math.max(0, precision + digitCount(other.coef) - digitCount(this.coef) + 1);
    const num = this.coef * pow10(shift);
    const q = num / other.coef;
    const r = num % other.coef;
    const ideal = this.exp - other.exp;
    const raw = roundSignificant(q, ideal - shift, precision, rounding, r !== 0n);
    // A rounded quotient keeps its `precision` digits, trailing zeros
    // included (Python: 39/200 at precision 2 is 0.20, not 0.2).
    if (r !== 0n || !raw.eq(Decimal.of(q, ideal - shift))) return raw;
    // Exact quotient: strip trailing zeros down to the ideal exponent.
    let coef = raw.coef;
    let exp = raw.exp;
    while (exp < ideal && coef % 10n === 0n) {
      coef /= 10n;
      exp += 1;
    }
    return new Decimal(coef, exp);
  }

  /** Rounded to at most `precision` significant digits (a context operation). */
  roundSignificant(precision: number, rounding: Rounding = "half_even"): Decimal {
    if (digitCount(this.coef) <= precision) return this;
    return roundSignificant(this.coef, this.exp, precision, rounding, false);
  }

  /** Rounded to `scale` digits after the point (Python's quantize). */
  quantize(scale: number, rounding: Rounding = "half_even"): Decimal {
    const target = -scale;
    if (this.exp === target) return this;
    if (this.exp > target) return new Decimal(this.coef * pow10(this.exp - target), target);
    const drop = target - this.exp;
    return new Decimal(roundDrop(this.coef, drop, rounding, false), target);
  }

  floor(): Decimal {
    return this.exp >= 0 ? this : this.quantize(0, "floor");
  }

  ceil(): Decimal {
    return this.exp >= 0 ? this : this.quantize(0, "ceiling");
  }

  /** Drops trailing zeros of the fraction: 1.2300 gives 1.23, 5.000 gives 5. */
  normalize(): Decimal {
    if (this.exp >= 0 || this.coef % 10n !== 0n) return this;
    let coef = this.coef;
    let exp = this.exp;
    while (exp < 0 && coef % 10n === 0n) {
      coef /= 10n;
      exp += 1;
    }
    return new Decimal(coef, exp);
  }

  cmp(other: Decimal): -1 | 0 | 1 {
    let a = this.coef;
    let b = other.coef;
    if (this.exp < other.exp) b *= pow10(other.exp - this.exp);
    else if (this.exp > other.exp) a *= pow10(this.exp - other.exp);
    return a === b ? 0 : a < b ? -1 : 1;
  }

  eq(other: Decimal): boolean {
    return this.cmp(other) === 0;
  }
  lt(other: Decimal): boolean {
    return this.cmp(other) < 0;
  }
  lte(other: Decimal): boolean {
    return this.cmp(other) <= 0;
  }
  gt(other: Decimal): boolean {
    return this.cmp(other) > 0;
  }
  gte(other: Decimal): boolean {
    return this.cmp(other) >= 0;
  }

  /** Plain notation, every digit kept: "12.50", "-0.001", "1200". */
  toString(): string {
    if (this.exp >= 0) {
      return this.exp === 0 || this.coef === 0n ? this.coef.toString() : (this.coef * pow10(this.exp)).toString();
    }
    const neg = this.coef < 0n;
    const digits = (neg ? -this.coef : this.coef).toString();
    const scale = -this.exp;
    const padded = digits.length <= scale ? "0".repeat(scale - digits.length + 1) + digits : digits;
    const point = padded.length - scale;
    return `${neg ? "-" : ""}${padded.slice(0, point)}.${padded.slice(point)}`;
  }

  /** Exactly `scale` decimals, rounded half-even. */
  toFixed(scale: number): string {
    return this.quantize(scale).toString();
  }

  /** A double close to the value: for display and metrics, never for money. */
  toNumber(): number {
    return Number(this.toString());
  }

  toJSON(): string {
    return this.toString();
  }
}

/**
 * Python decimal context arithmetic: every result rounded to `precision`
 * significant digits.
 */
export class DecimalContext {
  constructor(
    readonly precision = 28,
    readonly rounding: Rounding = "half_even",
  ) {}
  add(a: Decimal, b: Decimal): Decimal {
    return a.add(b).roundSignificant(this.precision, this.rounding);
  }
  sub(a: Decimal, b: Decimal): Decimal {
    return a.sub(b).roundSignificant(this.precision, this.rounding);
  }
  mul(a: Decimal, b: Decimal): Decimal {
    return a.mul(b).roundSignificant(this.precision, this.rounding);
  }
  div(a: Decimal, b: Decimal): Decimal {
    return a.div(b, this.precision, this.rounding);
  }
  /** Unary plus: rounds a value to the context (Python's `+Decimal(x)`). */
  plus(a: Decimal): Decimal {
    return a.roundSignificant(this.precision, this.rounding);
  }
}

/** Python's default context: 28 digits, ROUND_HALF_EVEN. */
export const PYTHON_CONTEXT = new DecimalContext(28, "half_even");

/** Sums decimal strings exactly. */
export function sumDecimals(values: Iterable<string>): Decimal {
  let total = Decimal.ZERO;
  for (const v of values) total = total.add(Decimal.parse(v));
  return total;
}

function roundSignificant(coef: bigint, exp: number, precision: number, rounding: Rounding, sticky: boolean): Decimal {
  // Callers that pass sticky (division) make sure coef has more than
  // `precision` digits, so that the dropped digits decide the rounding.
  const digits = digitCount(coef);
  if (digits <= precision) return Decimal.of(coef, exp);
  const drop = digits - precision;
  const rounded = roundDrop(coef, drop, rounding, sticky);
  // 999.9 rounded to 3 digits gives 1000: keep `precision` digits.
  if (digitCount(rounded) > precision) return Decimal.of(rounded / 10n, exp + drop + 1);
  return Decimal.of(rounded, exp + drop);
}

/** coef with its last `drop` digits removed, rounded. */
function roundDrop(coef: bigint, drop: number, rounding: Rounding, sticky: boolean): bigint {
  const unit = pow10(drop);
  const q = coef / unit;
  const r = coef % unit;
  return applyRounding(q, r, unit, rounding, sticky);
}

/**
 * q is the truncated quotient, r the dropped remainder (same sign as the
 * value), unit the weight of one unit of q; sticky says more non-zero digits
 * were dropped before r.
 */
function applyRounding(q: bigint, r: bigint, unit: bigint, rounding: Rounding, sticky: boolean): bigint {
  const negative = q < 0n || r < 0n;
  const absR = r < 0n ? -r : r;
  const inexact = absR !== 0n || sticky;
  if (!inexact) return q;
  const away = negative ? q - 1n : q + 1n;
  const twice = absR * 2n;
  // Where the dropped part stands against half a unit (sticky adds a hair).
  const half = twice === unit ? (sticky ? 1 : 0) : twice > unit ? 1 : -1;
  switch (rounding) {
    case "down":
      return q;
    case "up":
      return away;
    case "floor":
      return negative ? away : q;
    case "ceiling":
      return negative ? q : away;
    case "half_up":
      return half >= 0 ? away : q;
    case "half_down":
      return half > 0 ? away : q;
    case "half_even":
      if (half > 0) return away;
      if (half < 0) return q;
      return q % 2n === 0n ? q : away;
  }
}
