/**
 * Turning generated request messages into validated domain inputs: each
 * helper names the field it checks, so a bad request gets INVALID_ARGUMENT
 * saying which field and why.
 */
import { InvalidArgumentError } from "../errors/errors.js";
import { Decimal, DecimalSyntaxError } from "../money/decimal.js";
import { isAligned } from "../time/period.js";

export function requireText(value: string | undefined, field: string): string {
  if (value === undefined || value.trim() === "") throw new InvalidArgumentError(field, "is required");
  return value;
}

/** A timestamp that decoded to a real date (proto Timestamps out of range do not). */
export function optionalDate(value: Date | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new InvalidArgumentError(field, "is not a valid timestamp");
  }
  return value;
}

export function requireDate(value: Date | undefined, field: string): Date {
  const d = optionalDate(value, field);
  if (d === undefined) throw new InvalidArgumentError(field, "is required");
  return d;
}

export function requireAligned(value: Date, periodSeconds: number, field: string): Date {
  if (!isAligned(value, periodSeconds)) {
    throw new InvalidArgumentError(
      field,
      `${value.toISOString()} is not aligned to the period (${periodSeconds} s); the nearest boundary before it is ${new Date(
        Math.floor(value.getTime() / 1000 / periodSeconds) * periodSeconds * 1000,
      ).toISOString()}`,
    );
  }
  return value;
}

export function parseDecimalField(value: string, field: string, opts: { allowEmpty?: boolean } = {}): Decimal {
  if (value === "" && opts.allowEmpty) return Decimal.ZERO;
  try {
    return Decimal.parse(value);
  } catch (err) {
    if (err instanceof DecimalSyntaxError) {
      throw new InvalidArgumentError(field, `${JSON.stringify(value)} is not an exact decimal (e.g. "12.5", "-0.001")`);
    }
    throw err;
  }
}

/** A page size: 0 means the default; negative or above max is refused. */
export function pageSize(value: number, field: string, def: number, max: number): number {
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError(field, `must be a positive number, got ${value}`);
  if (value > max) throw new InvalidArgumentError(field, `must be at most ${max}, got ${value}`);
  return value === 0 ? def : value;
}

/** Fencing tokens and other int64 fields arrive as decimal strings. */
export function parseInt64(value: string, field: string): bigint {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(field, `${JSON.stringify(value)} is not an integer`);
  return BigInt(value);
}

/** Opaque page tokens: base64url JSON, refused with the field name when tampered with. */
export function encodePageToken(state: unknown): string {
  return Buffer.from(JSON.stringify(state)).toString("base64url");
}

export function decodePageToken<T>(token: string, field: string, check: (v: unknown) => v is T): T | undefined {
  if (token === "") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw new InvalidArgumentError(field, "is not a page token returned by this service");
  }
  // Every token this service returns is an object; anything else (null, a
  // number, a list) is refused here, before a check reads a property of it.
  if (typeof v !== "object" || v === null || Array.isArray(v) || !check(v)) {
    throw new InvalidArgumentError(field, "is not a page token returned by this service");
  }
  return v;
}
