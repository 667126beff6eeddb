/**
 * Time as the rating domain sees it: periods are half-open [begin, end),
 * `period` seconds long and aligned to the epoch (so to UTC days, since a
 * period divides 86400). Domain code takes a Clock instead of reading the
 * system time, so catch-up and lateness are testable.
 */

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Seconds since the epoch (whole). */
export function epochSeconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

export function fromEpochSeconds(s: number): Date {
  return new Date(s * 1000);
}

export function isAligned(d: Date, periodSeconds: number): boolean {
  const ms = d.getTime();
  return ms % 1000 === 0 && (ms / 1000) % periodSeconds === 0;
}

/** The boundary at or before d. */
export function alignDown(d: Date, periodSeconds: number): Date {
  const s = Math.floor(d.getTime() / 1000);
  return fromEpochSeconds(s - (((s % periodSeconds) + periodSeconds) % periodSeconds));
}

export function addSeconds(d: Date, seconds: number): Date {
  return new Date(d.getTime() + seconds * 1000);
}

/** 00:00 UTC on the first day of d's month. */
export function monthStart(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

export function nextMonthStart(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

/**
 * The last period end that may be rated at `now`, by CloudKitty's rule: a
 * period [b, b + period) is rated once b + wait_periods × period < now
 * (`check_time_state`). One deviation: a period is never rated before it
 * has ended (b + period <= now), which only matters with wait_periods = 0,
 * where CloudKitty rates the period in progress as soon as it has begun.
 */
export function ratableUntil(now: Date, periodSeconds: number, waitPeriods: number): Date {
  const step = periodSeconds * 1000;
  // The period that begins at the largest boundary b < now - wait_periods × period ends at the next boundary up.
  const byWait = Math.ceil((now.getTime() - waitPeriods * step) / step) * step;
  return new Date(Math.min(byWait, alignDown(now, periodSeconds).getTime()));
}

/** Number of whole periods in [from, to), 0 if to <= from. */
export function periodsBetween(from: Date, to: Date, periodSeconds: number): number {
  return Math.max(0, Math.floor((to.getTime() - from.getTime()) / 1000 / periodSeconds));
}

/** RFC 3339 in UTC, without milliseconds when there are none: 2026-01-01T00:00:00Z. */
export function rfc3339(d: Date): string {
  const s = d.toISOString();
  return s.endsWith(".000Z") ? `${s.slice(0, -5)}Z` : s;
}
