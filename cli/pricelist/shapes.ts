/**
 * Tiered and time-of-use prices written on one line, the same in the CLI's
 * flags and in the YAML price list:
 *
 *   tiers:        [graduated|volume] FROM:PRICE, FROM:PRICE, ...
 *                 "graduated 0:0.10, 1000:0.08"  (graduated when no mode)
 *   time of use:  [ZONE;] [DAYS] [HH:MM-HH:MM]=COST; ...
 *                 "Europe/Paris; 22:00-06:00=0.05; sat,sun=0.05"
 *                 DAYS: mon ... sun, comma separated, or a range mon-fri;
 *                 no days: every day; no hours: the whole day; the first
 *                 window that holds the period's begin gives the cost.
 *
 * Rating checks the values (decimals, order of tiers, the time zone) and
 * names the field; here only the shape of the text is read.
 */
import { type MappingTiers, TierMode, type TimeOfUse, type TimeOfUseWindow } from "../../libs/gen/ratemesh/v1/rating.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** Why the text is not a tiers spec, or the tiers. */
export function parseTiers(text: string): MappingTiers | string {
  let rest = text.trim();
  let mode = TierMode.TIER_MODE_GRADUATED;
  const m = /^(graduated|volume)\b\s*/i.exec(rest);
  if (m !== null) {
    mode = (m[1] as string).toLowerCase() === "volume" ? TierMode.TIER_MODE_VOLUME : TierMode.TIER_MODE_GRADUATED;
    rest = rest.slice(m[0].length);
  }
  const tiers = [];
  for (const part of rest.split(",")) {
    const [from, price, extra] = part.split(":").map((s) => s.trim());
    if (from === undefined || from === "" || price === undefined || price === "" || extra !== undefined)
      return `${JSON.stringify(part.trim())} is not FROM:PRICE (e.g. "graduated 0:0.10, 1000:0.08")`;
    tiers.push({ from, price });
  }
  return { mode, tiers };
}

export function formatTiers(t: MappingTiers): string {
  const mode = t.mode === TierMode.TIER_MODE_VOLUME ? "volume" : "graduated";
  return `${mode} ${t.tiers.map((x) => `${x.from}:${x.price}`).join(", ")}`;
}

function days(text: string): string[] | string {
  const out: string[] = [];
  for (const part of text.split(",")) {
    const [a, b, extra] = part
      .trim()
      .toLowerCase()
      .split("-")
      .map((s) => s.slice(0, 3));
    const i = DAYS.indexOf(a ?? "");
    const j = b === undefined ? i : DAYS.indexOf(b);
    if (i < 0 || j < 0 || extra !== undefined)
      return `${JSON.stringify(part.trim())} is not a day (mon ... sun) or a range of days (mon-fri)`;
    for (let k = i; ; k = (k + 1) % 7) {
      out.push(DAYS[k] as string);
      if (k === j) break;
    }
  }
  return out;
}

/** Why the text is not a time-of-use spec, or the windows. */
export function parseTimeOfUse(text: string): TimeOfUse | string {
  const parts = text
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  let timeZone = "";
  if (parts[0] !== undefined && !parts[0].includes("=")) timeZone = parts.shift() as string;
  if (parts.length === 0) return "needs at least one window, e.g. 22:00-06:00=0.05";
  const windows: TimeOfUseWindow[] = [];
  for (const part of parts) {
    const eq = part.lastIndexOf("=");
    const cost = part.slice(eq + 1).trim();
    let when = part.slice(0, eq).trim();
    const w: TimeOfUseWindow = { days: [], from: "", to: "", cost };
    const hours = /(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$/.exec(when);
    if (hours !== null) {
      w.from = (hours[1] as string).padStart(5, "0");
      w.to = (hours[2] as string).padStart(5, "0");
      when = when.slice(0, hours.index).trim();
    }
    if (when !== "") {
      const d = days(when);
      if (typeof d === "string") return d;
      w.days = d;
    }
    if (cost === "") return `${JSON.stringify(part)} has no cost (e.g. sat,sun=0.05)`;
    windows.push(w);
  }
  return { timeZone, windows };
}

export function formatTimeOfUse(t: TimeOfUse): string {
  const windows = t.windows.map((w) => {
    const days = [...w.days].sort((a, b) => DAYS.indexOf(a) - DAYS.indexOf(b));
    const when = [days.join(","), w.from === w.to ? "" : `${w.from}-${w.to}`].filter((s) => s !== "").join(" ");
    return `${when}=${w.cost}`;
  });
  return [t.timeZone === "" ? "UTC" : t.timeZone, ...windows].join("; ");
}
