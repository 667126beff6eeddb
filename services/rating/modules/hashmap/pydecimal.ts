/**
 * A field value read as a number the way CloudKitty reads it for field
 * thresholds: `decimal.Decimal(value)`. Python accepts more than our wire
 * format: surrounding whitespace, a leading "+", exponents ("1e3"),
 * underscores between digits ("1_000"), bare fractions (".5", "5."), and
 * "Infinity"/"Inf" (which compare above every level). "NaN" parses but
 * cannot be compared, so it fails the point as Python does.
 *
 * Known gap: Python also accepts non-ASCII decimal digits ("٥١٢"); those are
 * refused here as not numeric.
 */
import { Decimal } from "../../../../libs/money/decimal.js";

export type FieldNumber = { kind: "finite"; value: Decimal } | { kind: "infinite"; negative: boolean } | { kind: "nan" };

const DIGITS = "\\d(?:_?\\d)*";
const NUMERIC = new RegExp(`^([+-])?(?:(${DIGITS})(?:\\.(${DIGITS})?)?|\\.(${DIGITS}))(?:[eE]([+-]?${DIGITS}))?$`);
const INFINITY = /^([+-])?(?:inf|infinity)$/i;
const NAN = /^[+-]?s?nan\d*$/i;

/** null when Python's Decimal() would raise. */
export function parsePythonDecimal(text: string): FieldNumber | null {
  const s = text.trim();
  const m = NUMERIC.exec(s);
  if (m !== null) {
    const int = (m[2] ?? "").replaceAll("_", "");
    const frac = (m[3] ?? m[4] ?? "").replaceAll("_", "");
    const expText = m[5]?.replaceAll("_", "");
    const exp = expText === undefined ? 0 : Number.parseInt(expText, 10);
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 999_999) return null;
    const coef = BigInt(`${int}${frac}` || "0");
    return { kind: "finite", value: Decimal.of(m[1] === "-" ? -coef : coef, exp - frac.length) };
  }
  const inf = INFINITY.exec(s);
  if (inf !== null) return { kind: "infinite", negative: inf[1] === "-" };
  if (NAN.test(s)) return { kind: "nan" };
  return null;
}

/** value >= level, as Python compares a Decimal field value to a threshold level. */
export function fieldReaches(value: FieldNumber, level: Decimal): boolean {
  if (value.kind === "finite") return value.value.gte(level);
  if (value.kind === "infinite") return !value.negative;
  // Ordering comparisons with NaN raise InvalidOperation in Python; callers reject NaN first.
  throw new Error("NaN cannot be compared");
}
