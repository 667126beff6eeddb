/**
 * Dates as people type them on a command line, all in UTC (the mesh's
 * periods are UTC): RFC 3339 or a bare date, `now`, `today`, `yesterday`,
 * relative offsets (`-3d`, `+12h`, `3 days ago`, `in 2 weeks`), months
 * (`november`, `nov 2026`, `2026-11`, `this month`, `last month`), and
 * epoch seconds (`@1793491200`). A month or a day means its first instant.
 */

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

const UNIT_WORDS: Record<string, string> = {
  s: "s",
  sec: "s",
  secs: "s",
  second: "s",
  seconds: "s",
  m: "m",
  min: "m",
  mins: "m",
  minute: "m",
  minutes: "m",
  h: "h",
  hr: "h",
  hrs: "h",
  hour: "h",
  hours: "h",
  d: "d",
  day: "d",
  days: "d",
  w: "w",
  week: "w",
  weeks: "w",
  mo: "mo",
  month: "mo",
  months: "mo",
  y: "y",
  year: "y",
  years: "y",
};

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

export const DATE_HELP =
  "a date in UTC: 2026-11-01, 2026-11-01T06:00:00Z, now, today, yesterday, -3d, +12h, '3 days ago', november, 'nov 2026', 2026-11, 'last month', @<epoch seconds>";

function dayStart(d: Date, addDays = 0): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + addDays));
}

function shift(now: Date, amount: number, unit: string): Date {
  if (unit === "mo" || unit === "y") {
    const months = unit === "y" ? amount * 12 : amount;
    const d = new Date(now.getTime());
    d.setUTCMonth(d.getUTCMonth() + months);
    return d;
  }
  return new Date(now.getTime() + amount * (SECONDS[unit] ?? 0) * 1000);
}

function monthIndex(word: string): number | undefined {
  if (word.length < 3) return undefined;
  const i = MONTHS.findIndex((m) => m.startsWith(word));
  return i < 0 ? undefined : i;
}

/** The given date, or undefined when `text` is not one (the caller names the option in its error). */
export function parseDate(text: string, now: Date): Date | undefined {
  const t = text.trim().toLowerCase().replace(/\s+/g, " ");
  if (t === "") return undefined;
  if (t === "now") return new Date(now.getTime());
  if (t === "today") return dayStart(now);
  if (t === "yesterday") return dayStart(now, -1);
  if (t === "tomorrow") return dayStart(now, 1);

  const rel = /^([+-])\s?(\d+)\s?([a-z]+)$/.exec(t) ?? /^(in )?(\d+) ?([a-z]+)( ago)?$/.exec(t);
  if (rel !== null) {
    const unit = UNIT_WORDS[rel[3] ?? ""];
    const ago = rel[1] === "-" || rel[4] === " ago";
    const ahead = rel[1] === "+" || rel[1] === "in ";
    if (unit !== undefined && ago !== ahead) return shift(now, (ago ? -1 : 1) * Number(rel[2]), unit);
  }

  const named = /^(this|last|next) (month|year)$/.exec(t);
  if (named !== null) {
    const step = named[1] === "last" ? -1 : named[1] === "next" ? 1 : 0;
    const y = now.getUTCFullYear();
    return named[2] === "month" ? new Date(Date.UTC(y, now.getUTCMonth() + step, 1)) : new Date(Date.UTC(y + step, 0, 1));
  }

  const month = /^([a-z]+)\.?(?: (\d{4}))?$/.exec(t);
  if (month !== null) {
    const m = monthIndex(month[1] ?? "");
    if (m === undefined) return undefined;
    if (month[2] !== undefined) return new Date(Date.UTC(Number(month[2]), m, 1));
    // A bare month name is the latest one that has begun: "november" in March is last November.
    const y = now.getUTCFullYear();
    return new Date(Date.UTC(m > now.getUTCMonth() ? y - 1 : y, m, 1));
  }

  const epoch = /^@(\d{1,12})$/.exec(t);
  if (epoch !== null) return new Date(Number(epoch[1]) * 1000);

  const ym = /^(\d{4})-(\d{2})$/.exec(t);
  if (ym !== null) return checked(Date.UTC(Number(ym[1]), Number(ym[2]) - 1, 1), Number(ym[2]) - 1);

  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(z|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (iso !== null) {
    const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = iso;
    const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Math.floor(Number(`0${frac}`) * 1000));
    const probe = new Date(local);
    const valid = probe.getUTCMonth() === Number(mo) - 1 && probe.getUTCDate() === Number(d) && probe.getUTCHours() === Number(h);
    if (!valid || Number(mi) > 59 || Number(s) > 59) return undefined;
    return new Date(local - zoneOffsetMs(zone));
  }
  return undefined;
}

function checked(ms: number, month: number): Date | undefined {
  return month >= 0 && month < 12 ? new Date(ms) : undefined;
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === "z") return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (m === null) return 0;
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
}

/** RFC 3339 in UTC, whole seconds shown without a fraction. */
export function iso(d: Date | undefined): string {
  if (d === undefined) return "";
  const s = d.toISOString();
  return s.endsWith(".000Z") ? `${s.slice(0, -5)}Z` : s;
}

/** For tables: `2026-11-01` at midnight, else `2026-11-01 06:00` (seconds when there are some). */
export function shortTime(d: Date | string | undefined): string {
  if (d === undefined || d === "") return "";
  const date = typeof d === "string" ? new Date(d) : d;
  if (Number.isNaN(date.getTime())) return String(d);
  const s = iso(date);
  if (s.endsWith("T00:00:00Z")) return s.slice(0, 10);
  return s.endsWith(":00Z") ? `${s.slice(0, 10)} ${s.slice(11, 16)}` : `${s.slice(0, 10)} ${s.slice(11, -1)}`;
}
