/**
 * Calendar months in a time zone: where the month holding an instant starts
 * and ends (local midnight of the 1st, as an instant). Daylight-saving
 * shifts are handled by reading the zone's offset at the instant found.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the time zone ("UTC", "Europe/Paris"). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

function parts(ms: number, timeZone: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

/** Local time minus UTC at the instant, in milliseconds. */
function offsetAt(ms: number, timeZone: string): number {
  const p = parts(ms, timeZone);
  const local = Date.UTC(p.year as number, (p.month as number) - 1, p.day, p.hour, p.minute, p.second);
  return local - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The instant of local midnight starting day 1 of month (0-based) of year in the zone. */
function localMonthStart(year: number, month: number, timeZone: string): number {
  const wall = Date.UTC(year, month, 1);
  let t = wall - offsetAt(wall, timeZone);
  t = wall - offsetAt(t, timeZone);
  return t;
}

/** Where the month holding `at` starts, in the zone. */
export function monthStart(at: Date, timeZone = "UTC"): Date {
  const p = parts(at.getTime(), timeZone);
  return new Date(localMonthStart(p.year as number, (p.month as number) - 1, timeZone));
}

/** Where the month holding `at` ends (the next month's start), in the zone. */
export function monthEnd(at: Date, timeZone = "UTC"): Date {
  const p = parts(at.getTime(), timeZone);
  return new Date(localMonthStart(p.year as number, p.month as number, timeZone));
}
