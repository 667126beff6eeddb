/**
 * The Gnocchi collector's query shapes and answer handling, as CloudKitty
 * builds them (cloudkitty/collector/gnocchi.py), kept free of I/O so each
 * rule is tested on its own:
 *
 *  - extra_args and their defaults (code defaults where the doc disagrees:
 *    re_aggregation_method max, force_granularity 3600);
 *  - the operation `(aggregate RE_AGG (metric NAME AGG))` or custom_query
 *    with its placeholders replaced;
 *  - the search filters (resource type and scope; the resource search's
 *    time filter widened by one collect period on each side);
 *  - use_all_resource_revisions = false;
 *  - the batch split: one answer over a window of several periods, cut
 *    into exactly the answer each period's own request would have had.
 */
import type { ExtraArgsValidator } from "../metrics.js";
import type { Aggregate, AggregateGroup } from "../sources/gnocchi.js";
import { isoformat } from "../sources/gnocchi.js";

const BASIC = ["mean", "sum", "last", "max", "min", "std", "median", "first", "count"];
const BASIC_AND_RATE = [...BASIC, ...BASIC.map((m) => `rate:${m}`)];
const PCT = Array.from({ length: 99 }, (_, i) => `${i + 1}pct`);
const AGGREGATION_METHODS = new Set([...BASIC_AND_RATE, ...PCT, ...PCT.map((m) => `rate:${m}`)]);
const RE_AGGREGATION_METHODS = new Set(BASIC_AND_RATE);

export interface GnocchiArgs {
  resource_type: string;
  resource_key: string;
  aggregation_method: string;
  re_aggregation_method: string;
  force_granularity: number;
  use_all_resource_revisions: boolean;
  custom_query: string;
}

const KNOWN = [
  "resource_type",
  "resource_key",
  "aggregation_method",
  "re_aggregation_method",
  "force_granularity",
  "use_all_resource_revisions",
  "custom_query",
];

/** extra_args of a Gnocchi metric: CloudKitty's GNOCCHI_EXTRA_SCHEMA, defaults filled in; resource_key joins the groupby. */
export const gnocchiExtraArgs: ExtraArgsValidator = (args, report) => {
  for (const k of Object.keys(args)) if (!KNOWN.includes(k)) report(k, `unknown argument (known: ${KNOWN.join(", ")})`);
  const text = (key: string, def: string | undefined): string => {
    const v = args[key] ?? def;
    if (v === undefined) {
      report(key, "is required (a non-empty string)");
      return "";
    }
    if (typeof v !== "string" || (v === "" && key !== "custom_query")) {
      report(key, `must be a ${key === "custom_query" ? "" : "non-empty "}string`);
      return typeof def === "string" ? def : "";
    }
    return v;
  };
  const out: GnocchiArgs = {
    resource_type: text("resource_type", undefined),
    resource_key: text("resource_key", "id"),
    aggregation_method: text("aggregation_method", "max"),
    re_aggregation_method: text("re_aggregation_method", "max"),
    force_granularity: 3600,
    use_all_resource_revisions: true,
    custom_query: text("custom_query", ""),
  };
  if (!AGGREGATION_METHODS.has(out.aggregation_method)) {
    report(
      "aggregation_method",
      `${JSON.stringify(out.aggregation_method)} is not one of ${BASIC.join(", ")}, rate:<those>, 1pct..99pct or rate:1pct..rate:99pct`,
    );
  }
  if (!RE_AGGREGATION_METHODS.has(out.re_aggregation_method)) {
    report("re_aggregation_method", `${JSON.stringify(out.re_aggregation_method)} is not one of ${BASIC.join(", ")} or rate:<those>`);
  }
  const fg = args.force_granularity;
  if (fg !== undefined) {
    if (typeof fg !== "number" || !Number.isSafeInteger(fg) || fg < 0)
      report("force_granularity", `${JSON.stringify(fg)} is not an integer >= 0 (seconds)`);
    else out.force_granularity = fg;
  }
  const all = args.use_all_resource_revisions;
  if (all !== undefined) {
    if (typeof all !== "boolean") report("use_all_resource_revisions", `${JSON.stringify(all)} is not a boolean`);
    else out.use_all_resource_revisions = all;
  }
  return { args: { ...out }, groupbyExtra: [out.resource_key] };
};

/** The extra_args a parsed metric carries (gnocchiExtraArgs filled them). */
export function gnocchiArgs(extraArgs: Record<string, unknown>): GnocchiArgs {
  return extraArgs as unknown as GnocchiArgs;
}

/** CloudKitty's generate_aggregation_operation. */
export function aggregationOperation(metricName: string, a: GnocchiArgs, reAggregation = a.re_aggregation_method): unknown {
  if (a.custom_query !== "") {
    return a.custom_query
      .replaceAll("RE_AGGREGATION_METHOD", reAggregation)
      .replaceAll("AGGREGATION_METHOD", a.aggregation_method)
      .replaceAll("METRIC_NAME", metricName);
  }
  return ["aggregate", reAggregation, ["metric", metricName, a.aggregation_method]];
}

/** CloudKitty's extend_filter: one clause stays as it is, several are and-ed. */
export function andFilter(clauses: unknown[]): unknown {
  return clauses.length === 1 ? clauses[0] : { and: clauses };
}

/** The aggregates search: the resource type and the scope(s). */
export function aggregatesSearch(resourceType: string, scopeKey: string, scopeIds: string[]): unknown {
  return andFilter([{ "=": { type: resourceType } }, scopeFilter(scopeKey, scopeIds)]);
}

export function scopeFilter(scopeKey: string, scopeIds: string[]): unknown {
  return scopeIds.length === 1 ? { "=": { [scopeKey]: scopeIds[0] } } : { in: { [scopeKey]: scopeIds } };
}

/**
 * The resource search of the metadata fetch: resources alive at some point
 * of [begin - period, end + period] (CloudKitty widens the window so a
 * resource whose measures outlive it is still found), in the scope(s).
 */
export function resourcesSearch(scopeKey: string, scopeIds: string[], begin: Date, end: Date, periodSeconds: number): unknown {
  const from = new Date(begin.getTime() - periodSeconds * 1000);
  const to = new Date(end.getTime() + periodSeconds * 1000);
  return andFilter([
    { or: [{ "=": { ended_at: null } }, { ">=": { ended_at: isoformat(from) } }] },
    { "<=": { started_at: isoformat(to) } },
    scopeFilter(scopeKey, scopeIds),
  ]);
}

/** Whether a resource passes the per-period time filter of resourcesSearch (for the batch). */
export function resourceAliveFor(startedAt: number, endedAt: number | undefined, begin: number, end: number, periodMs: number): boolean {
  return (endedAt === undefined || endedAt >= begin - periodMs) && startedAt <= end + periodMs;
}

/**
 * CloudKitty's filter_unecessary_measurements (use_all_resource_revisions =
 * false): one group per resource id, the one of its latest revision, whose
 * first aggregate becomes the float sum of the single aggregates of all
 * its revisions. Float arithmetic on purpose: it is CloudKitty's rule.
 */
export function keepLatestRevisions(groups: AggregateGroup[]): AggregateGroup[] {
  if (groups.length === 0 || !("id" in (groups[0] as AggregateGroup).group)) return groups;
  const original = groups;
  const copies = groups.map((g) => ({ group: g.group, aggregated: g.aggregated.map((a) => [...a] as Aggregate) }));
  const key = (g: AggregateGroup) => [String(g.group.id ?? ""), String(g.group.revision_start ?? "")] as const;
  const sorted = copies
    .map((g, i) => ({ g, i }))
    .sort((x, y) => {
      const [a1, a2] = key(x.g);
      const [b1, b2] = key(y.g);
      return a1 < b1 ? -1 : a1 > b1 ? 1 : a2 < b2 ? -1 : a2 > b2 ? 1 : x.i - y.i;
    })
    .map((x) => x.g);
  const byId = new Map<string, AggregateGroup>();
  for (const g of sorted) byId.set(String(g.group.id), g);
  const singles = [...byId.values()];
  const sums = new Map<AggregateGroup, number>();
  for (const g of singles) if (g.aggregated.length === 1) sums.set(g, 0);
  for (const g of original) {
    const id = g.group.id;
    if (id === undefined || id === null || id === "" || g.aggregated.length !== 1) continue;
    const entry = byId.get(String(id));
    const first = entry?.aggregated[0];
    if (entry === undefined || first === undefined) continue;
    const base = sums.get(entry) ?? Number(first[2]);
    sums.set(entry, base + Number((g.aggregated[0] as Aggregate)[2]));
  }
  for (const [g, sum] of sums) {
    const first = g.aggregated[0];
    if (first !== undefined) first[2] = String(sum);
  }
  return singles;
}

/**
 * How a batch answer is cut into periods. `pointwise`: each aggregate at a
 * timestamp depends only on the measures at that timestamp, so a period's
 * answer is the window's answer restricted to the period's own window.
 * `rate`: the answer holds the re-aggregation without its rate: prefix at
 * every timestamp, and each period's rates are recomputed from it as
 * Gnocchi computes them for that period's request (differences between
 * consecutive timestamps of the period's window, first one dropped).
 */
export type SplitMode = { kind: "pointwise" } | { kind: "rate" };

interface Series {
  granularity: string;
  gms: number;
  ts: number[];
  items: Aggregate[];
}

function seriesOf(group: AggregateGroup): Series[] {
  const byG = new Map<string, Series>();
  for (const item of group.aggregated) {
    const g = item[1];
    let s = byG.get(g);
    if (s === undefined) {
      s = { granularity: g, gms: Math.round(Number(g) * 1000), ts: [], items: [] };
      byG.set(g, s);
    }
    s.ts.push(Date.parse(item[0]));
    s.items.push(item);
  }
  // Gnocchi lists the largest granularity first, each in time order.
  return [...byG.values()].sort((a, b) => b.gms - a.gms);
}

function lowerBound(ts: number[], t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Gnocchi rounds a query's start down to each granularity (carbonara.round_timestamp). */
function roundDown(t: number, gms: number): number {
  return gms > 0 ? Math.floor(t / gms) * gms : t;
}

/**
 * Cuts a batch answer into per-period answers. `periods` are the periods'
 * begins (ms); `startShiftMs` is how far each period's own request would
 * start before its begin (force_granularity with a rate: re-aggregation).
 * Each group appears in every period, with the aggregates that period's
 * request would have returned (possibly none), in Gnocchi's order.
 */
export function splitByPeriod(
  groups: AggregateGroup[],
  periods: number[],
  periodMs: number,
  startShiftMs: number,
  mode: SplitMode,
): Map<number, AggregateGroup[]> {
  const out = new Map<number, AggregateGroup[]>(periods.map((p) => [p, []]));
  for (const group of groups) {
    const series = seriesOf(group);
    for (const p of periods) {
      const start = p - startShiftMs;
      const stop = p + periodMs;
      const aggregated: Aggregate[] = [];
      for (const s of series) {
        const from = lowerBound(s.ts, roundDown(start, s.gms));
        const to = lowerBound(s.ts, stop);
        if (mode.kind === "pointwise") {
          for (let i = from; i < to; i++) aggregated.push(s.items[i] as Aggregate);
        } else {
          for (let i = from + 1; i < to; i++) {
            const rate = Number((s.items[i] as Aggregate)[2]) - Number((s.items[i - 1] as Aggregate)[2]);
            // Gnocchi drops NaN and infinite results (fill=dropna).
            if (Number.isFinite(rate)) aggregated.push([(s.items[i] as Aggregate)[0], s.granularity, String(rate)]);
          }
        }
      }
      (out.get(p) as AggregateGroup[]).push({ group: group.group, aggregated });
    }
  }
  return out;
}

/**
 * Operation heads whose value at a timestamp depends only on the values at
 * that timestamp (Gnocchi's binary and unary operators, aggregate with a
 * plain method, metric): a window's answer restricted to a period is that
 * period's answer. Anything else (rolling, resample, rateofchange, a rate:
 * re-aggregation inside a custom query) is collected period by period.
 */
const POINTWISE_HEADS = new Set([
  "metric",
  "aggregate",
  "=",
  "==",
  "eq",
  "<",
  "lt",
  ">",
  "gt",
  "<=",
  "≤",
  "le",
  ">=",
  "≥",
  "ge",
  "!=",
  "≠",
  "ne",
  "%",
  "mod",
  "+",
  "add",
  "-",
  "sub",
  "*",
  "×",
  "mul",
  "/",
  "÷",
  "div",
  "**",
  "^",
  "pow",
  "abs",
  "absolute",
  "neg",
  "negative",
  "cos",
  "sin",
  "tan",
  "floor",
  "ceil",
  "clip",
  "clip_min",
  "clip_max",
]);

/** Whether a custom query (after substitution) can be batched exactly, and every aggregate in it is a plain one. */
export function isPointwiseQuery(query: string): boolean {
  const heads = [...query.matchAll(/\(\s*([^\s()]+)(?:\s+([^\s()]+))?/g)];
  if (heads.length === 0) return false;
  for (const m of heads) {
    const head = m[1] as string;
    if (!POINTWISE_HEADS.has(head)) return false;
    if (head === "aggregate" && (m[2] ?? "").startsWith("rate:")) return false;
  }
  return true;
}
