/**
 * Timestamps as CloudKitty writes and reads them, and the shift between
 * CloudKitty's scope state and ratemesh's.
 *
 * CloudKitty writes Python's isoformat(): naive UTC in v1 and in scope
 * states ("2026-11-01T00:00:00"), with an offset in v2 summaries and
 * dataframes ("2026-11-01T00:00:00+00:00"); microseconds only when not
 * zero. It reads ISO 8601 with a "T" or a space, with or without seconds,
 * fractions and offset; a timestamp without offset is UTC.
 */
import { addSeconds } from "../../libs/time/period.js";

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** An ISO 8601 timestamp, or undefined if the text is not one. */
export function parseIsoTime(text: string): Date | undefined {
  const m = ISO.exec(text.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = m;
  const ms = Number(frac.padEnd(3, "0").slice(0, 3));
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(t);
  if (
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCHours() !== Number(h) ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return undefined;
  }
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0");
    t -= sign * offsetMinutes * 60_000;
  }
  return new Date(t);
}

/** Python's naive isoformat() of a UTC instant: 2026-11-01T00:00:00, or with .ffffff when there are milliseconds. */
export function naiveIso(d: Date): string {
  const s = d.toISOString();
  const ms = s.slice(20, 23);
  return ms === "000" ? s.slice(0, 19) : `${s.slice(0, 19)}.${ms}000`;
}

/** Python's isoformat() of an aware UTC datetime: 2026-11-01T00:00:00+00:00. */
export function awareIso(d: Date): string {
  return `${naiveIso(d)}+00:00`;
}

/**
 * CloudKitty's last_processed_timestamp is the BEGIN of the last rated
 * period; ratemesh's scope state is its END (where the next period starts).
 * Showing a ratemesh state the CloudKitty way subtracts one period.
 */
export function stateToLastProcessed(state: Date, periodSeconds: number): Date {
  return addSeconds(state, -periodSeconds);
}

/** A CloudKitty last_processed_timestamp given to a reset or a create, as a ratemesh state: one period later. */
export function lastProcessedToState(lastProcessed: Date, periodSeconds: number): Date {
  return addSeconds(lastProcessed, periodSeconds);
}
