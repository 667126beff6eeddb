/**
 * The wire form of tiered and time-of-use prices (MappingTiers, TimeOfUse in
 * rating.proto) to the stored form of tiers.ts and back, validated: a bad
 * value is INVALID_ARGUMENT naming the field.
 */
import { InvalidArgumentError } from "../../../../libs/errors/errors.js";
import {
  type MappingTiers,
  TierMode,
  type TimeOfUse as TimeOfUseMessage,
  type TimeOfUseWindow,
} from "../../../../libs/gen/ratemesh/v1/rating.js";
import { Decimal } from "../../../../libs/money/decimal.js";
import { isTimeZone, type Tiers, type TimeOfUse, type TouWindow } from "./tiers.js";

/** At most this many tiers, and windows, on one mapping. */
const MAX_TIERS = 100;
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

function decimal(value: string, field: string): Decimal {
  if (!Decimal.isValid(value)) throw new InvalidArgumentError(field, `${JSON.stringify(value)} is not an exact decimal (e.g. "0.10")`);
  return Decimal.parse(value);
}

export function tiersFromMessage(m: MappingTiers, field: string): Tiers {
  let mode: Tiers["mode"];
  switch (m.mode) {
    case TierMode.TIER_MODE_UNSPECIFIED:
    case TierMode.TIER_MODE_GRADUATED:
      mode = "graduated";
      break;
    case TierMode.TIER_MODE_VOLUME:
      mode = "volume";
      break;
    default:
      throw new InvalidArgumentError(`${field}.mode`, `${m.mode} is not a tier mode (TIER_MODE_GRADUATED or TIER_MODE_VOLUME)`);
  }
  if (m.tiers.length === 0) throw new InvalidArgumentError(`${field}.tiers`, "needs at least one tier");
  if (m.tiers.length > MAX_TIERS) throw new InvalidArgumentError(`${field}.tiers`, `has ${m.tiers.length} tiers; at most ${MAX_TIERS}`);
  let previous: Decimal | undefined;
  const tiers = m.tiers.map((t, i) => {
    const from = decimal(t.from === "" ? "0" : t.from, `${field}.tiers[${i}].from`);
    decimal(t.price, `${field}.tiers[${i}].price`);
    if (previous === undefined && !from.isZero()) throw new InvalidArgumentError(`${field}.tiers[0].from`, `must be 0, got ${t.from}`);
    if (previous !== undefined && !from.gt(previous))
      throw new InvalidArgumentError(`${field}.tiers[${i}].from`, `${t.from} is not above the previous tier's ${previous.toString()}`);
    previous = from;
    return { from: t.from === "" ? "0" : t.from, price: t.price };
  });
  return { mode, tiers };
}

export function tiersToMessage(t: Tiers): MappingTiers {
  return { mode: t.mode === "volume" ? TierMode.TIER_MODE_VOLUME : TierMode.TIER_MODE_GRADUATED, tiers: t.tiers.map((x) => ({ ...x })) };
}

function minutes(value: string, field: string): number {
  if (value === "") return 0;
  const m = /^(\d{2}):(\d{2})$/.exec(value);
  const h = Number(m?.[1]);
  const min = Number(m?.[2]);
  if (m === null || h > 24 || min > 59 || (h === 24 && min > 0))
    throw new InvalidArgumentError(field, `${JSON.stringify(value)} is not a time of day "HH:MM" (00:00 to 24:00)`);
  return (h * 60 + min) % (24 * 60);
}

function hhmm(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}

function windowFromMessage(w: TimeOfUseWindow, field: string): TouWindow {
  const days = w.days.map((d, i) => {
    const n = DAYS.indexOf(d.trim().toLowerCase().slice(0, 3));
    if (n < 0 || d.trim().length < 3)
      throw new InvalidArgumentError(`${field}.days[${i}]`, `${JSON.stringify(d)} is not a day (mon ... sun)`);
    return n;
  });
  decimal(w.cost, `${field}.cost`);
  return { days: [...new Set(days)].sort(), from: minutes(w.from, `${field}.from`), to: minutes(w.to, `${field}.to`), cost: w.cost };
}

export function timeOfUseFromMessage(m: TimeOfUseMessage, field: string): TimeOfUse {
  const timeZone = m.timeZone === "" ? "UTC" : m.timeZone;
  if (!isTimeZone(timeZone)) throw new InvalidArgumentError(`${field}.time_zone`, `${JSON.stringify(m.timeZone)} is not an IANA time zone`);
  if (m.windows.length === 0) throw new InvalidArgumentError(`${field}.windows`, "needs at least one window");
  if (m.windows.length > MAX_TIERS) throw new InvalidArgumentError(`${field}.windows`, `has ${m.windows.length}; at most ${MAX_TIERS}`);
  return { timeZone, windows: m.windows.map((w, i) => windowFromMessage(w, `${field}.windows[${i}]`)) };
}

export function timeOfUseToMessage(t: TimeOfUse): TimeOfUseMessage {
  return {
    timeZone: t.timeZone,
    windows: t.windows.map((w) => ({ days: w.days.map((d) => DAYS[d] as string), from: hhmm(w.from), to: hhmm(w.to), cost: w.cost })),
  };
}
