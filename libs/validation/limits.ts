/**
 * Limits on every request, checked once for every method before its
 * handler: each string field by what it holds (an id, a key, a value, free
 * text, an exact decimal), each timestamp in range. A value past a limit is
 * refused with INVALID_ARGUMENT naming the field (snake_case, as in the
 * .proto) and quoting at most a few characters of it. Decimals are
 * measured, never parsed, so a two-million-digit number costs what reading
 * its length costs.
 *
 * What a field holds is told by its name in the contracts (CONTRACT_FIELDS);
 * a field not listed there is an id. Only plain objects and arrays are
 * walked: a request a service decodes into objects of its own (rating's
 * Rate) is checked by that service.
 */
import { InvalidArgumentError } from "../errors/errors.js";

export interface InputLimits {
  maxDecimalDigits: number;
  maxIdLength: number;
  maxKeyLength: number;
  maxValueLength: number;
  maxTextLength: number;
}

type FieldClass = "decimal" | "map" | "text" | "key" | "value";

/** The contracts' field names (as decoded: camelCase) by what they hold. */
export const CONTRACT_FIELDS: Readonly<Record<string, FieldClass>> = {
  qty: "decimal",
  price: "decimal",
  cost: "decimal",
  level: "decimal",
  total: "decimal",
  factor: "decimal",
  offset: "decimal",
  groupby: "map",
  metadata: "map",
  mutateMap: "map",
  message: "text",
  reason: "text",
  description: "text",
  condition: "text",
  expression: "text",
  key: "key",
  column: "key",
  groupBy: "key",
  values: "value",
  value: "value",
};

/** The first and last instants a google.protobuf.Timestamp may hold (years 1 to 9999). */
const MIN_MS = -62135596800000;
const MAX_MS = 253402300799999;

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function tooLong(field: string, value: string, max: number): InvalidArgumentError {
  return new InvalidArgumentError(field, `is ${value.length} characters long; at most ${max}`);
}

/** Digits before and after the point, by scanning at most what the limit allows. */
export function checkDecimalDigits(value: string, field: string, max: number): void {
  // A plain decimal within the limit has at most 2 × max digits, a sign and a point.
  if (value.length > 2 * max + 2) {
    throw new InvalidArgumentError(
      field,
      `has ${value.length} characters: a decimal has at most ${max} digits before the point and ${max} after`,
    );
  }
  const point = value.indexOf(".");
  const int = (point < 0 ? value : value.slice(0, point)).replace(/^[+-]/, "");
  const frac = point < 0 ? "" : value.slice(point + 1);
  if (int.length > max || frac.length > max) {
    throw new InvalidArgumentError(field, `has ${Math.max(int.length, frac.length)} digits on one side of the point; at most ${max}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export class RequestLimits {
  constructor(readonly limits: InputLimits) {}

  /** Throws InvalidArgumentError for the first field past its limit. */
  check(request: unknown): void {
    if (isPlainObject(request)) this.message(request, "");
  }

  private message(msg: Record<string, unknown>, prefix: string): void {
    for (const name in msg) {
      const v = msg[name];
      if (v === undefined || v === null || typeof v === "number" || typeof v === "boolean") continue;
      const field = `${prefix}${snake(name)}`;
      this.value(v, field, CONTRACT_FIELDS[name]);
    }
  }

  private value(v: unknown, field: string, cls: FieldClass | undefined): void {
    if (typeof v === "string") {
      this.string(v, field, cls);
    } else if (v instanceof Date) {
      const ms = v.getTime();
      // An invalid date is the handler's to refuse, naming the field as it knows it.
      if (!Number.isNaN(ms) && (ms < MIN_MS || ms > MAX_MS))
        throw new InvalidArgumentError(field, "is not a timestamp between years 1 and 9999");
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) this.value(v[i], `${field}[${i}]`, cls);
    } else if (isPlainObject(v)) {
      if (cls === "map") this.map(v, field);
      else this.message(v, `${field}.`);
    }
  }

  private string(v: string, field: string, cls: FieldClass | undefined): void {
    const l = this.limits;
    switch (cls) {
      case "decimal":
        checkDecimalDigits(v, field, l.maxDecimalDigits);
        return;
      case "text":
        if (v.length > l.maxTextLength) throw tooLong(field, v, l.maxTextLength);
        return;
      case "key":
        if (v.length > l.maxKeyLength) throw tooLong(field, v, l.maxKeyLength);
        return;
      case "value":
        if (v.length > l.maxValueLength) throw tooLong(field, v, l.maxValueLength);
        return;
      default:
        if (v.length > l.maxIdLength) throw tooLong(field, v, l.maxIdLength);
    }
  }

  private map(m: Record<string, unknown>, field: string): void {
    const l = this.limits;
    for (const k in m) {
      if (k.length > l.maxKeyLength)
        throw new InvalidArgumentError(`${field}`, `a key is ${k.length} characters long; at most ${l.maxKeyLength}`);
      const v = m[k];
      if (typeof v === "string" && v.length > l.maxValueLength) {
        throw new InvalidArgumentError(`${field}[${JSON.stringify(k)}]`, `is ${v.length} characters long; at most ${l.maxValueLength}`);
      }
    }
  }
}

export function inputLimitsFrom(c: {
  max_decimal_digits: number;
  max_id_length: number;
  max_key_length: number;
  max_value_length: number;
  max_text_length: number;
}): InputLimits {
  return {
    maxDecimalDigits: c.max_decimal_digits,
    maxIdLength: c.max_id_length,
    maxKeyLength: c.max_key_length,
    maxValueLength: c.max_value_length,
    maxTextLength: c.max_text_length,
  };
}
