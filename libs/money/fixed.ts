/**
 * Fixed-point decimals in JS numbers: a fast path next to Decimal for hot
 * loops, where a BigInt per operation costs too much.
 *
 * A value is `m / 10^s` with `m` an integer whose magnitude stays below 2^53
 * and `s >= 0`: every such integer is exact in a double, and so is the
 * result of `*`, `+` or `-` on two of them as long as that result is below
 * 2^53 too (IEEE arithmetic is correctly rounded, and a result below 2^53 is
 * representable). Each operation checks that bound, so a fast result is
 * exact or not produced at all; the caller then takes the BigInt path.
 *
 * Below 2^53 a coefficient has at most 16 digits, far from the 28 digits at
 * which Python's context would round, so an exact result here is also the
 * exact Python result, with the same exponent: a product's scale is the sum
 * of the scales, a sum's scale the larger one, as Python's Decimal does.
 */
import type { Decimal } from "./decimal.js";

export const LIMIT = 2 ** 53;

/** Exact powers of ten as doubles (10^22 is the last exact one). */
export const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);

export interface Fixed {
  m: number;
  s: number;
}

/**
 * x × 10^k when that is exact (below 2^53; zero stays zero at any k), else
 * NaN, which every later check of the bound refuses.
 */
export function timesPow10(x: number, k: number): number {
  if (k >= POW10.length) return x === 0 ? 0 : Number.NaN;
  const y = x * (POW10[k] as number);
  return Math.abs(y) < LIMIT ? y : Number.NaN;
}

/** The fixed form of a decimal, or undefined when it does not fit (or has a positive exponent). */
export function toFixed(d: Decimal): Fixed | undefined {
  if (d.exp > 0) return undefined;
  const m = Number(d.coef);
  if (!(Math.abs(m) < LIMIT)) return undefined;
  return { m, s: -d.exp };
}

/**
 * Result registers of parseFixedInto: reading two module-level numbers
 * instead of allocating a pair per point keeps the hot loop allocation-free.
 */
export const reg = { m: 0, s: 0 };

/**
 * Parses a validated plain decimal string ("12.50", "-3", "+0.1") into reg.
 * Returns false when it has too many digits to be exact in a double.
 */
export function parseFixedInto(text: string): boolean {
  const n = text.length;
  let i = 0;
  let neg = false;
  let c = text.charCodeAt(0);
  if (c === 45 /* - */) {
    neg = true;
    i = 1;
  } else if (c === 43 /* + */) {
    i = 1;
  }
  let m = 0;
  let s = 0;
  let frac = false;
  for (; i < n; i++) {
    c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      frac = true;
      continue;
    }
    m = m * 10 + (c - 48);
    if (frac) s++;
  }
  // Intermediate values only grow, so a final value below 2^53 means every step was exact.
  if (!(m < LIMIT)) return false;
  reg.m = neg ? -m : m;
  reg.s = s;
  return true;
}

const ZEROS: readonly string[] = Array.from({ length: 17 }, (_, i) => "0".repeat(i));

/**
 * The digits of a non-negative integer below 2^53, zero-padded to `width`.
 * Converted in chunks below 10^8: small integers take V8's fast (and
 * cached) integer-to-string path, large doubles a much slower one.
 */
function digits(a: number, width: number): string {
  let s: string;
  if (a < 1e8) {
    s = `${a | 0}`;
  } else {
    const hi = Math.floor(a / 1e8);
    const lo = `${(a - hi * 1e8) | 0}`;
    s = (hi < 1e8 ? `${hi | 0}` : digits(hi, 0)) + (ZEROS[8 - lo.length] as string) + lo;
  }
  if (s.length >= width) return s;
  return (ZEROS[width - s.length] ?? "0".repeat(width - s.length)) + s;
}

/** m / 10^s in plain notation, every digit kept, as Decimal.toString prints it. */
export function formatFixed(m: number, s: number): string {
  const neg = m < 0;
  const a = neg ? -m : m;
  let out: string;
  if (s === 0) {
    out = digits(a, 0);
  } else if (s <= 15) {
    // a % p and (a - a % p) / p are exact for integers below 2^53.
    const p = POW10[s] as number;
    const frac = a % p;
    out = `${digits((a - frac) / p, 0)}.${digits(frac, s)}`;
  } else {
    const d = digits(a, s + 1);
    out = `${d.slice(0, d.length - s)}.${d.slice(d.length - s)}`;
  }
  return neg && a !== 0 ? `-${out}` : out;
}

/** Number of decimal digits of a non-negative integer below 2^53. */
function digitCount(a: number): number {
  let n = 1;
  while (n < 16 && a >= (POW10[n] as number)) n++;
  return a >= (POW10[16] as number) ? 17 : n;
}

/** Length of formatFixed(m, s), without making the string. */
export function fixedLength(m: number, s: number): number {
  const a = m < 0 ? -m : m;
  const d = digitCount(a);
  const body = s === 0 ? d : Math.max(d, s + 1) + 1;
  return m < 0 ? body + 1 : body;
}

/**
 * Writes formatFixed(m, s) as ASCII into out[end - fixedLength(m, s), end),
 * digit by digit from the last one, without making the string.
 */
export function writeFixedAscii(out: Uint8Array, end: number, m: number, s: number): void {
  let a = m < 0 ? -m : m;
  // s digits after the point, then the integer part.
  let i = end - 1;
  if (s > 0) {
    for (let k = 0; k < s; k++) {
      const q = Math.floor(a / 10);
      out[i--] = 48 + (a - q * 10);
      a = q;
    }
    out[i--] = 46;
  }
  do {
    const q = Math.floor(a / 10);
    out[i--] = 48 + (a - q * 10);
    a = q;
  } while (a > 0);
  if (m < 0) out[i] = 45;
}
