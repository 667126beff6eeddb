/**
 * Exact decimals as integer parts, so that sums stay exact and fast.
 *
 * SQLite has no decimal type: REAL rounds, and TEXT cannot be summed in
 * SQL. So a value v is kept as three integers with the sign of v:
 *
 *     v = i + f1 × 10⁻⁹ + f2 × 10⁻¹⁸      (|f1|, |f2| < 10⁹ for a point)
 *
 * which SQLite sums natively and exactly with SUM() over INTEGER columns:
 * f1 and f2 stay far from int64 overflow for billions of rows, and i only
 * overflows past 9.2 × 10¹⁸ in total (SQLite then raises an error, and the
 * engine sums the same rows in BigInt instead). A value with more than 18
 * decimals, or an integer part beyond int64, is kept as exact text in x
 * with zero parts; such rows are rare and summed in BigInt apart.
 *
 * Why not one scaled integer: a single int64 at 10⁻⁹ overflows at 9.2 GB
 * counted in bytes, and cannot hold a price with 12 decimals. Why not text
 * summed in JavaScript: it is about 20 times slower for the raw scans.
 *
 * The commit also uses PartsSum to total a frame's points, on every engine,
 * in plain numbers while they are safe.
 */
import { Decimal } from "../../../libs/money/decimal.js";

export interface Parts {
  i: number | bigint;
  f1: number;
  f2: number;
  /** Exact text when the value does not fit the parts (which are then 0). */
  x: string | null;
}

const E9 = 1_000_000_000n;
const E18 = E9 * E9;
const MAX_I64 = 2n ** 63n - 1n;
const SAFE = 2 ** 52;

function fallback(text: string): Parts {
  return { i: 0, f1: 0, f2: 0, x: text };
}

/** Parts of a validated plain decimal ("-12.5", "0.001", "3"). */
export function partsOfText(text: string): Parts {
  return parseParts(text, { i: 0, f1: 0, f2: 0, x: null });
}

/** Like partsOfText, into `out` (the commit loop reuses one object per value: no garbage per point). */
export function parseParts(text: string, out: Parts): Parts {
  let s = text;
  let neg = false;
  const c0 = s.charCodeAt(0);
  if (c0 === 45 /* - */) {
    neg = true;
    s = s.slice(1);
  } else if (c0 === 43 /* + */) {
    s = s.slice(1);
  }
  const dot = s.indexOf(".");
  let fracLen = dot < 0 ? 0 : s.length - dot - 1;
  while (fracLen > 0 && s.charCodeAt(dot + fracLen) === 48 /* 0 */) fracLen--;
  out.x = null;
  out.f1 = 0;
  out.f2 = 0;
  if (fracLen > 18) return fallbackInto(text, out);
  const intLen = dot < 0 ? s.length : dot;
  if (intLen <= 15) {
    out.i = Number(dot < 0 ? s : s.slice(0, dot));
  } else {
    const big = BigInt(s.slice(0, intLen));
    if (big > MAX_I64) return fallbackInto(text, out);
    out.i = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }
  if (fracLen > 0) {
    const frac = s.slice(dot + 1, dot + 1 + fracLen);
    out.f1 = Number(frac.length >= 9 ? frac.slice(0, 9) : frac.padEnd(9, "0"));
    if (fracLen > 9) out.f2 = Number(frac.slice(9).padEnd(9, "0"));
  }
  if (neg) {
    out.i = typeof out.i === "bigint" ? -out.i : out.i === 0 ? 0 : -out.i;
    if (out.f1 !== 0) out.f1 = -out.f1;
    if (out.f2 !== 0) out.f2 = -out.f2;
  }
  return out;
}

function fallbackInto(text: string, out: Parts): Parts {
  out.i = 0;
  out.f1 = 0;
  out.f2 = 0;
  out.x = text;
  return out;
}

/** Parts of any exact decimal (a sum), normalised: |f1|, |f2| < 10⁹. */
export function partsOfDecimal(d: Decimal): Parts {
  const n = trimmed(d);
  if (n.exp < -18) return fallback(n.toString());
  const scaled = n.coef * 10n ** BigInt(n.exp + 18);
  const i = scaled / E18;
  if (i > MAX_I64 || i < -MAX_I64) return fallback(n.toString());
  const r = scaled % E18;
  return {
    i: i >= -BigInt(Number.MAX_SAFE_INTEGER) && i <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(i) : i,
    f1: Number(r / E9),
    f2: Number(r % E9),
    x: null,
  };
}

/**
 * d without trailing fraction zeros. Decimal.normalize strips one digit per
 * BigInt division; sums at 10⁻¹⁸ have up to 18, so strip nine, then three,
 * then one at a time.
 */
export function trimmed(d: Decimal): Decimal {
  let coef = d.coef;
  let exp = d.exp;
  if (coef === 0n) return Decimal.ZERO;
  if (exp >= 0) return d;
  while (exp <= -9 && coef % E9 === 0n) {
    coef /= E9;
    exp += 9;
  }
  while (exp <= -3 && coef % 1000n === 0n) {
    coef /= 1000n;
    exp += 3;
  }
  while (exp < 0 && coef % 10n === 0n) {
    coef /= 10n;
    exp += 1;
  }
  return exp === d.exp ? d : Decimal.of(coef, exp);
}

/** The exact value of summed parts. */
export function decimalOfSums(i: bigint | number, f1: bigint | number, f2: bigint | number): Decimal {
  return Decimal.of(BigInt(i) * E18 + BigInt(f1) * E9 + BigInt(f2), -18);
}

/** An exact running total of parts (and of x texts). */
export class PartsSum {
  private i = 0;
  private f1 = 0;
  private f2 = 0;
  private big = 0n;
  private extra = Decimal.ZERO;

  add(p: Parts): void {
    if (p.x !== null) {
      this.extra = this.extra.add(Decimal.parse(p.x));
      return;
    }
    if (typeof p.i === "bigint" || Math.abs(this.i) >= SAFE || Math.abs(p.i) >= SAFE || Math.abs(this.f1) >= SAFE) {
      this.spill();
      this.big += BigInt(p.i) * E18 + BigInt(p.f1) * E9 + BigInt(p.f2);
      return;
    }
    this.i += p.i;
    this.f1 += p.f1;
    this.f2 += p.f2;
  }

  private spill(): void {
    this.big += BigInt(this.i) * E18 + BigInt(this.f1) * E9 + BigInt(this.f2);
    this.i = 0;
    this.f1 = 0;
    this.f2 = 0;
  }

  value(): Decimal {
    const total = this.big + BigInt(this.i) * E18 + BigInt(this.f1) * E9 + BigInt(this.f2);
    return trimmed(Decimal.of(total, -18).add(this.extra));
  }
}
