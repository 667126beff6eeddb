/**
 * Options several commands share, with their parsers: a bad value fails
 * with commander's InvalidArgumentError, which names the option (exit
 * status 4).
 */
import { InvalidArgumentError, Option } from "commander";
import { DATE_HELP, parseDate } from "./dates.js";
import type { Format } from "./output.js";

export function formatOption(formats: readonly Format[] = ["table", "csv", "json"]): Option {
  return new Option("-f, --format <format>", "output format").choices(formats).default(formats[0]);
}

export function precisionOption(defaultDecimals = 2): Option {
  return new Option("--precision <decimals>", "decimals shown for quantities and prices in tables (csv and json are exact)")
    .argParser((v) => {
      if (!/^\d{1,2}$/.test(v) || Number(v) > 28) throw new InvalidArgumentError("expected a whole number from 0 to 28");
      return Number(v);
    })
    .default(defaultDecimals);
}

/** One "now" for every date of a command line, so that `--begin -3d --end now` spans exactly three days. */
const invokedAt = new Date();

export function parseDateArg(v: string): Date {
  const d = parseDate(v, invokedAt);
  if (d === undefined) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a date; use ${DATE_HELP}`);
  return d;
}

/** A date option: `dateOption("--begin <when>", "start of the range")`. */
export function dateOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser(parseDateArg);
}

export function parseIntArg(v: string): number {
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a whole number`);
  return Number(v);
}

export function parsePositiveArg(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n <= 0) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a positive number`);
  return n;
}

/** An exact decimal argument, kept as its text. */
export function parseDecimalArg(v: string): string {
  if (!/^[+-]?\d+(\.\d+)?$/.test(v)) throw new InvalidArgumentError(`${JSON.stringify(v)} is not an exact decimal (e.g. 0.01, 12.5)`);
  return v;
}

/** `--filter key=v1,v2`, repeatable: the point's attribute equals any of the values. */
export function collectFilter(v: string, previous: Array<{ key: string; values: string[] }> = []) {
  const eq = v.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`${JSON.stringify(v)} is not key=value[,value...]`);
  return [...previous, { key: v.slice(0, eq), values: v.slice(eq + 1).split(",") }];
}

export function filterOption(): Option {
  return new Option(
    "--filter <key=values>",
    "only points whose attribute (a groupby key, type or scope_id) is one of the comma-separated values; repeatable",
  ).argParser(collectFilter);
}

/** `--groupby k=v`, repeatable, into a map. */
export function collectPair(v: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = v.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`${JSON.stringify(v)} is not key=value`);
  return { ...previous, [v.slice(0, eq)]: v.slice(eq + 1) };
}

export function collectList(v: string, previous: string[] = []): string[] {
  return [...previous, ...v.split(",").filter((s) => s !== "")];
}

/** The options among `keys` that were given, as given: what an update changes. */
export function given<O extends object, K extends keyof O>(o: O, ...keys: K[]): Partial<Pick<O, K>> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Partial<Pick<O, K>>;
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;
}
