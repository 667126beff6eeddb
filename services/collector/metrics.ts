/**
 * metrics.yml, read in CloudKitty's own format: a `metrics` map whose keys
 * are the metrics' names in the source and whose values are one rating
 * configuration (a map) or several (a list of maps, each with its own
 * alt_name). Validation reports every problem at once, each naming the
 * metric and the key.
 *
 * Deliberate difference: factor and offset given as fractions ("1/1048576")
 * are computed in exact decimals (28 significant digits), where CloudKitty
 * goes through a float first.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ConfigFileError } from "../../libs/config/config.js";
import { Decimal, DecimalSyntaxError } from "../../libs/money/decimal.js";

export const MUTATES = ["NONE", "NUMBOOL", "NOTNUMBOOL", "FLOOR", "CEIL", "MAP"] as const;
export type Mutate = (typeof MUTATES)[number];

export interface MetricConfig {
  /** "name" or "name@#alt_name" (several rating types for one source metric). */
  key: string;
  /** The metric's name in the source. */
  name: string;
  /** The rating type of its points (the hashmap service name). */
  altName: string;
  unit: string;
  /** Includes the scope key (and collector specific keys, such as Gnocchi's resource_key). */
  groupby: string[];
  metadata: string[];
  factor: Decimal;
  offset: Decimal;
  mutate: Mutate;
  /** Keys are normalized decimal strings. */
  mutateMap: Map<string, Decimal> | undefined;
  description: string;
  extraArgs: Record<string, unknown>;
}

const METRICS_FILE = "metrics configuration";

/**
 * Checks and completes a metric's extra_args for one collector: returns the
 * arguments with defaults filled in, and reports problems by key.
 */
export type ExtraArgsValidator = (
  args: Record<string, unknown>,
  report: (key: string, message: string) => void,
) => { args: Record<string, unknown>; groupbyExtra: string[] };

export interface ParseOptions {
  scopeKey: string;
  extraArgs: ExtraArgsValidator;
}

const METRIC_KEYS = new Set([
  "unit",
  "alt_name",
  "groupby",
  "metadata",
  "factor",
  "offset",
  "mutate",
  "mutate_map",
  "description",
  "extra_args",
  "skip_datapoints_expression",
]);

export function loadMetrics(file: string, opts: ParseOptions): MetricConfig[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw ConfigFileError.unreadable(file, err, METRICS_FILE);
  }
  return parseMetrics(text, file, opts);
}

export function parseMetrics(text: string, file: string, opts: ParseOptions): MetricConfig[] {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigFileError(file, [`not valid YAML: ${(err as Error).message}`], METRICS_FILE);
  }
  const metrics = isMap(doc) ? doc.metrics : undefined;
  if (!isMap(metrics) || Object.keys(metrics).length === 0) {
    throw new ConfigFileError(file, ["'metrics' is required and must be a non-empty map of metric names"], METRICS_FILE);
  }
  const out: MetricConfig[] = [];
  const keys = new Set<string>();
  for (const [name, value] of Object.entries(metrics)) {
    const entries = Array.isArray(value) ? value : [value];
    if (entries.length === 0) problems.push(`metric ${name}: an empty list defines no rating type`);
    entries.forEach((entry, i) => {
      const label = Array.isArray(value) ? `metric ${name}[${i}]` : `metric ${name}`;
      const report = (key: string, message: string) => problems.push(`${label}: ${key}: ${message}`);
      const m = parseEntry(name, entry, opts, report);
      if (m === undefined) return;
      if (keys.has(m.key)) {
        report("alt_name", `${m.key} is defined twice (give each rating type of ${name} its own alt_name)`);
        return;
      }
      keys.add(m.key);
      out.push(m);
    });
  }
  if (problems.length > 0) throw new ConfigFileError(file, problems, METRICS_FILE);
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

function parseEntry(
  name: string,
  entry: unknown,
  opts: ParseOptions,
  report: (key: string, message: string) => void,
): MetricConfig | undefined {
  if (!isMap(entry)) {
    report("(entry)", "must be a map with at least 'unit'");
    return undefined;
  }
  for (const k of Object.keys(entry)) {
    if (!METRIC_KEYS.has(k)) report(k, `unknown key (known: ${[...METRIC_KEYS].join(", ")})`);
  }
  const unit = entry.unit;
  if (typeof unit !== "string" || unit.trim() === "") report("unit", "is required and must be a non-empty string");
  const altName = entry.alt_name ?? name;
  if (typeof altName !== "string" || altName.trim() === "") report("alt_name", "must be a non-empty string");
  const groupby = stringList(entry.groupby, "groupby", report);
  const metadata = stringList(entry.metadata, "metadata", report);
  const factor = number(entry.factor, "factor", Decimal.ONE, report);
  const offset = number(entry.offset, "offset", Decimal.ZERO, report);
  const mutate = entry.mutate ?? "NONE";
  if (typeof mutate !== "string" || !(MUTATES as readonly string[]).includes(mutate)) {
    report("mutate", `${JSON.stringify(mutate)} is not one of ${MUTATES.join(", ")}`);
  }
  let mutateMap: Map<string, Decimal> | undefined;
  if (mutate === "MAP") {
    // As CloudKitty: required, and may be empty (every value then maps to 0).
    if (!isMap(entry.mutate_map)) {
      report("mutate_map", "is required (a map) when mutate is MAP");
    } else {
      mutateMap = new Map();
      for (const [k, v] of Object.entries(entry.mutate_map)) {
        const key = number(k, `mutate_map key ${JSON.stringify(k)}`, undefined, report);
        const val = number(v, `mutate_map[${k}]`, undefined, report);
        if (key !== undefined && val !== undefined) mutateMap.set(key.normalize().toString(), val);
      }
    }
  } else if (entry.mutate_map !== undefined) {
    report("mutate_map", "is only allowed when mutate is MAP");
  }
  const description = entry.description ?? "";
  if (typeof description !== "string") report("description", "must be a string");
  if (entry.skip_datapoints_expression !== undefined) {
    report("skip_datapoints_expression", "is not supported: ratemesh does not evaluate Python; use a rating rule instead");
  }
  const rawArgs = entry.extra_args ?? {};
  if (!isMap(rawArgs)) {
    report("extra_args", "must be a map");
    return undefined;
  }
  const { args, groupbyExtra } = opts.extraArgs(rawArgs, (k, msg) => report(`extra_args.${k}`, msg));
  for (const k of groupby) {
    if (metadata.includes(k)) report("metadata", `${JSON.stringify(k)} is also in groupby: an attribute is either grouped on or metadata`);
  }
  const fullGroupby = [...groupby];
  for (const k of [opts.scopeKey, ...groupbyExtra]) if (!fullGroupby.includes(k)) fullGroupby.push(k);
  if (typeof unit !== "string" || typeof altName !== "string" || factor === undefined || offset === undefined) return undefined;
  return {
    key: altName === name ? name : `${name}@#${altName}`,
    name,
    altName,
    unit,
    groupby: fullGroupby,
    metadata,
    factor,
    offset,
    mutate: mutate as Mutate,
    mutateMap,
    description: typeof description === "string" ? description : "",
    extraArgs: args,
  };
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, key: string, report: (key: string, message: string) => void): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string" && x !== "")) {
    report(key, "must be a list of attribute names");
    return [];
  }
  const seen = new Set<string>();
  for (const x of v as string[]) {
    if (seen.has(x)) report(key, `${JSON.stringify(x)} is listed twice`);
    seen.add(x);
  }
  return v as string[];
}

/** A number, a decimal string, or a fraction string such as "1/1048576". */
export function parseNumber(v: unknown): Decimal {
  if (typeof v === "number") return Decimal.fromNumber(v);
  if (typeof v !== "string") throw new DecimalSyntaxError(String(v));
  const frac = /^\s*([+-]?[\d.]+(?:[eE][+-]?\d+)?)\s*\/\s*([+-]?[\d.]+(?:[eE][+-]?\d+)?)\s*$/.exec(v);
  if (frac !== null) {
    const den = Decimal.parseLoose(frac[2] as string);
    if (den.isZero()) throw new DecimalSyntaxError(v);
    return Decimal.parseLoose(frac[1] as string).div(den);
  }
  return Decimal.parseLoose(v);
}

function number(v: unknown, key: string, def: Decimal | undefined, report: (key: string, message: string) => void): Decimal | undefined {
  if (v === undefined || v === null) {
    if (def === undefined) report(key, "is required");
    return def;
  }
  try {
    return parseNumber(v);
  } catch {
    report(key, `${JSON.stringify(v)} is not a number or a fraction such as "1/1048576"`);
    return undefined;
  }
}
