/**
 * Tiered prices over the billing month, and time-of-use prices, on hashmap
 * service mappings (README, "Tiers and time of use").
 *
 * Tiers. A tiered mapping's price is a list of tiers `{from, price}` (the
 * first from 0, strictly increasing) over the month-to-date quantity of the
 * scope and type. With F(x) the price of the first x units of the month:
 *
 * - graduated: each unit at its tier's price: F(x) = Σ price_i × the part
 *   of [0, x] that lies in (from_i, from_{i+1}];
 * - volume: every unit of the month at the price of the tier x reached (the
 *   last tier with from_i < x): F(x) = x × price(x).
 *
 * A period (or a point) of quantity q that starts with m units already in
 * the month is billed F(m + q) − F(m). So the amounts of a month's periods
 * add up to F(month's quantity) exactly, whatever the periods: a period
 * that crosses a boundary has its quantity split between the tiers
 * (graduated), and in volume mode the period that crosses into a cheaper
 * tier carries the re-pricing of the earlier units of the month (its amount
 * can be negative). Arithmetic is exact (no rounding): tiers' prices and
 * quantities are plain decimals.
 *
 * Time of use. A mapping's cost can depend on when the period starts, in a
 * time zone: the first window whose days include the local day of week and
 * whose [from, to) holds the local time of day (to <= from: past midnight)
 * gives the cost; no window: the mapping's own cost.
 */
import { Decimal } from "../../../../libs/money/decimal.js";
import type { ExplainStep } from "../../domain.js";

export type TierMode = "graduated" | "volume";

export interface Tier {
  /** The month-to-date quantity the tier starts above (exact decimal). */
  from: string;
  /** Price per unit (exact decimal). */
  price: string;
}

export interface Tiers {
  mode: TierMode;
  tiers: Tier[];
}

export interface TouWindow {
  /** Days of week, 0 = Sunday ... 6 = Saturday; empty: every day. */
  days: number[];
  /** Minutes since local midnight: [from, to), to < from wraps past midnight; from = to: the whole day. */
  from: number;
  to: number;
  cost: string;
}

export interface TimeOfUse {
  timeZone: string;
  windows: TouWindow[];
}

interface ParsedTier {
  from: Decimal;
  price: Decimal;
}

export interface ParsedTiers {
  mode: TierMode;
  tiers: ParsedTier[];
  /** Graduated: F(from_i), the price of the month's units below each tier, so F(x) is one step. */
  below: Decimal[];
}

export function parseTiers(t: Tiers): ParsedTiers {
  const tiers = t.tiers.map((x) => ({ from: Decimal.parse(x.from), price: Decimal.parse(x.price) }));
  const below = [Decimal.ZERO];
  for (let i = 1; i < tiers.length; i++) {
    const prev = tiers[i - 1] as ParsedTier;
    below.push((below[i - 1] as Decimal).add((tiers[i] as ParsedTier).from.sub(prev.from).mul(prev.price)));
  }
  return { mode: t.mode, tiers, below };
}

/** The price of the first x units of the month (x may be negative: the first tier extends below 0). */
export function monthAmount(t: ParsedTiers, x: Decimal): Decimal {
  const tiers = t.tiers;
  // The tier x reaches: the last whose from is below x (the first for x <= 0).
  let i = 0;
  while (i + 1 < tiers.length && (tiers[i + 1] as ParsedTier).from.lt(x)) i++;
  const tier = tiers[i] as ParsedTier;
  if (t.mode === "volume") return x.mul(tier.price);
  if (i === 0) return x.mul(tier.price);
  return (t.below[i] as Decimal).add(x.sub(tier.from).mul(tier.price));
}

/** The parts of [m, m + q] in each tier (graduated), for Explain. */
function splitOf(t: ParsedTiers, m: Decimal, q: Decimal): string[] {
  const end = m.add(q);
  const parts: string[] = [];
  const tiers = t.tiers;
  for (let i = 0; i < tiers.length; i++) {
    const tier = tiers[i] as ParsedTier;
    const lo = i === 0 ? m : m.gt(tier.from) ? m : tier.from;
    const next = tiers[i + 1];
    const hi = next === undefined ? end : end.lt(next.from) ? end : next.from;
    if (hi.gt(lo)) parts.push(`${hi.sub(lo).toString()} × ${tier.price.toString()}`);
  }
  return parts;
}

/**
 * F(m + q) − F(m): the amount of q units that come after m units of the
 * month. `trace`, if given, hears the split (Explain).
 */
export function tieredAmount(t: ParsedTiers, m: Decimal, q: Decimal, trace?: (s: ExplainStep) => void, group = "", ruleId = ""): Decimal {
  const amount = monthAmount(t, m.add(q)).sub(monthAmount(t, m));
  if (trace !== undefined) {
    const detail =
      t.mode === "graduated"
        ? `graduated tiers, month to date ${m.toString()}, qty ${q.toString()}: ${splitOf(t, m, q).join(" + ") || "0"} = ${amount.toString()}`
        : `volume tiers, month to date ${m.toString()} → ${m.add(q).toString()}: ${monthAmount(t, m.add(q)).toString()} − ${monthAmount(t, m).toString()} = ${amount.toString()}`;
    trace({ group, kind: "tiers", ruleId, detail, value: amount.toString() });
  }
  return amount;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the time zone is one Intl knows ("UTC", "Europe/Paris"). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The local day of week (0 = Sunday) and minute of day of an instant. */
export function localTime(at: number, timeZone: string): { day: number; minute: number } {
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const p of formatter(timeZone).formatToParts(new Date(at))) {
    if (p.type === "weekday") day = WEEKDAYS[p.value] ?? 0;
    else if (p.type === "hour") hour = Number(p.value);
    else if (p.type === "minute") minute = Number(p.value);
  }
  return { day, minute: hour * 60 + minute };
}

function windowHolds(w: TouWindow, day: number, minute: number): boolean {
  if (w.days.length > 0 && !w.days.includes(day)) return false;
  if (w.from === w.to) return true;
  return w.from < w.to ? minute >= w.from && minute < w.to : minute >= w.from || minute < w.to;
}

/** The index of the window in force at the instant, or -1 (the mapping's own cost). */
export function touWindow(tou: TimeOfUse, at: number): number {
  const { day, minute } = localTime(at, tou.timeZone);
  return tou.windows.findIndex((w) => windowHolds(w, day, minute));
}

/** What a mapping with tiers or time of use must be; returns the field at fault and why, or undefined. */
export function shapeProblem(m: {
  fieldId: string | null;
  type: "flat" | "rate";
  tiers?: Tiers | null | undefined;
  timeOfUse?: TimeOfUse | null | undefined;
}): { field: string; problem: string } | undefined {
  if (!m.tiers) return undefined;
  if (m.fieldId !== null)
    return { field: "tiers", problem: "only a service mapping can have tiers (they count the month's quantity of the scope and type)" };
  if (m.type !== "flat") return { field: "tiers", problem: "a tiered mapping is a flat price per unit, not a rate" };
  if (m.timeOfUse)
    return { field: "time_of_use", problem: "a tiered mapping's prices are its tiers: it cannot also have time-of-use windows" };
  return undefined;
}
