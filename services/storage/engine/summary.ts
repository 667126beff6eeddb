/**
 * Summaries, planned once for every engine. The database provides exact
 * aggregates over four sources, from the finest to the coarsest:
 *
 *  - points: every stored point (keyed by scope, period, position);
 *  - sums_period: per (scope, period, type), written by every commit;
 *  - sums_day: per (scope, UTC day, type), updated by every commit;
 *  - sums_day_groupset: per (scope, day, type, groupby map), and
 *    sums_day_key: per (scope, day, type, groupby key, value), both built
 *    when a scope's day is complete (the commit of its last period),
 *    removed when any period of that day is written again, and rebuilt at
 *    the next completion. rolled_days lists the (scope, day) pairs they
 *    cover.
 *
 * A query on scope, type and time only reads sums_day and sums_period. A
 * query that groups or filters on one groupby key reads that key's rows of
 * sums_day_key for the complete days (the points without the key are the
 * day's total minus them); on several keys, sums_day_groupset. Days not
 * rolled up, and the partial days at the edges of the range, come from the
 * points. Every source is exact and kept equal to the points in the commit
 * transaction, so the plan changes the cost of a query, never its result.
 */

import type { Decimal } from "../../../libs/money/decimal.js";
import { type CalendarBucket, calendarBucket } from "../../../libs/time/buckets.js";
import { fromEpochSeconds } from "../../../libs/time/period.js";
import type { PointFilter, SummaryQuery, SummaryRow, TimeBucket } from "../domain.js";
import { isTimeBucket } from "../domain.js";
import { asBilledAt } from "./as-of.js";
import { trimmed } from "./exact.js";

export const DAY = 86400;

export type Source = "points" | "sums_period" | "sums_day" | "sums_day_groupset" | "sums_day_key" | "adjustment_lines";

/** One aggregate the database computes in SQL. */
export interface AggregateRequest {
  source: Source;
  /** Range of the source's time column: the period begin, or the day. */
  begin: number;
  end: number;
  /** Only these scopes (never empty). */
  scopeRefs: number[];
  /** Only these types; undefined: all. */
  typeRefs: number[] | undefined;
  /** Equality filters on groupby keys ("" matches a point without the key). */
  keyFilters: PointFilter[];
  /** What t is in the result: 0, the period begin, or the UTC day. */
  grain: "none" | "period" | "day";
  byScope: boolean;
  byType: boolean;
  /** Groupby keys to group by; a point without the key gives "". For sums_day_key: [key] or []. */
  groupKeys: string[];
  /** sums_day_key: the key, and the values kept (undefined: all). */
  key?: string;
  keyValues?: string[] | undefined;
  /** sums_day: only the (scope, day) pairs that are rolled up. */
  rolledOnly?: boolean;
  /** adjustment_lines: the lines of this kind (adjustments.ts) recorded after this time (epoch ms). */
  lines?: { kind: number; recordedAfter: number };
  /** Only the periods first committed after this time (epoch ms) when late, else only the others (as-of.ts). */
  periods?: { firstCommittedAfter: number; late: boolean };
}

export interface AggregateRow {
  t: number;
  scopeRef: number;
  typeRef: number;
  keys: string[];
  count: number;
  qty: Decimal;
  price: Decimal;
}

/** What the planner reads (sources.ts). */
export interface SummaryBackend {
  /** Refs of the scopes with these ids (every scope when undefined), with their ids. */
  scopeRefs(scopeIds: string[] | undefined): Promise<Map<number, string>>;
  /** Refs of the types with these names (every type when undefined), with their names. */
  typeRefs(names: string[] | undefined): Promise<Map<number, string>>;
  aggregate(req: AggregateRequest): Promise<AggregateRow[]>;
  /** (scope, day) pairs with points in [d0, d1) that sums_day_groupset does not cover. */
  unrolledDays(scopeRefs: number[], d0: number, d1: number): Promise<Array<{ scopeRef: number; day: number }>>;
  /** Of these scopes, those with periods in [begin, end) first committed after `at` (epoch ms), each with the earliest such period. */
  firstCommittedAfter(scopeRefs: number[], begin: number, end: number, at: number): Promise<Array<{ scopeRef: number; begin: number }>>;
  /** Whether every point of these scopes in [begin, end) is in a period first committed after `at` (epoch ms). */
  allLateFrom(scopeRefs: number[], begin: number, end: number, at: number): Promise<boolean>;
}

/** The values a point's attribute may take under every filter on key; undefined: no filter on it. */
export function intersect(filters: PointFilter[], key: string): string[] | undefined {
  let out: string[] | undefined;
  for (const f of filters) {
    if (f.key !== key) continue;
    out = out === undefined ? [...new Set(f.values)] : out.filter((v) => f.values.includes(v));
  }
  return out;
}

const CALENDAR: Record<Exclude<TimeBucket, "time">, CalendarBucket> = {
  "time-d": "day",
  "time-w": "week",
  "time-m": "month",
  "time-y": "year",
};

/** The calendar bucket [begin, end) of a UTC day (libs/time/buckets.ts). */
export function bucketOf(day: number, bucket: Exclude<TimeBucket, "time">): [number, number] {
  return calendarBucket(day, CALENDAR[bucket]);
}

interface Group {
  begin: number;
  end: number;
  groups: string[];
  count: number;
  qty: Decimal;
  price: Decimal;
}

/** What a summary groups and filters on, apart from its range and scopes. */
interface Shape {
  typeRefs: number[] | undefined;
  keyFilters: PointFilter[];
  byScope: boolean;
  byType: boolean;
  groupKeys: string[];
  bucket: TimeBucket | undefined;
}

/** The request of the finest source of [begin, end): the points when a groupby key is involved, else sums_period. */
function fineRequest(shape: Shape, scopeRefs: number[], begin: number, end: number, grain: AggregateRequest["grain"]): AggregateRequest {
  const { typeRefs, keyFilters, byScope, byType, groupKeys } = shape;
  const byGroupby = groupKeys.length > 0 || keyFilters.length > 0;
  return { scopeRefs, typeRefs, keyFilters, byScope, byType, groupKeys, source: byGroupby ? "points" : "sums_period", begin, end, grain };
}

/**
 * The rows of what these scopes hold now in [b, e), each source read where
 * it is cheapest (the plan at the top of this file).
 */
async function planNow(backend: SummaryBackend, shape: Shape, b: number, e: number, scopeRefs: number[]): Promise<AggregateRow[][]> {
  const { typeRefs, keyFilters, byScope, byType, groupKeys, bucket } = shape;
  const byGroupby = groupKeys.length > 0 || keyFilters.length > 0;
  const base = { scopeRefs, typeRefs, keyFilters, byScope, byType, groupKeys };
  const fine = (begin: number, end: number, grain: AggregateRequest["grain"]) => fineRequest(shape, scopeRefs, begin, end, grain);
  const requests: AggregateRequest[] = [];
  const extra: AggregateRow[] = [];
  if (bucket === "time") {
    requests.push(fine(b, e, "period"));
  } else {
    const grain: AggregateRequest["grain"] = bucket === undefined ? "none" : "day";
    const d0 = Math.ceil(b / DAY) * DAY;
    const d1 = Math.floor(e / DAY) * DAY;
    if (d0 >= d1) {
      requests.push(fine(b, e, grain));
    } else {
      if (b < d0) requests.push(fine(b, d0, grain));
      if (d1 < e) requests.push(fine(d1, e, grain));
      const keys = new Set([...groupKeys, ...keyFilters.map((f) => f.key)]);
      if (!byGroupby) {
        requests.push({ ...base, source: "sums_day", begin: d0, end: d1, grain });
      } else if (keys.size === 1) {
        const key = [...keys][0] as string;
        const values = intersect(keyFilters, key);
        const byValue = groupKeys.length === 1;
        const day = { ...base, begin: d0, end: d1, grain, keyFilters: [] };
        const rows = await backend.aggregate({ ...day, source: "sums_day_key", key, keyValues: values, groupKeys: byValue ? [key] : [] });
        extra.push(...rows);
        if (values === undefined ? byValue : values.includes("")) {
          // The points without the key: the rolled days' totals minus every
          // value of the key (the rows just read, when no value was left out).
          const total = await backend.aggregate({ ...day, source: "sums_day", groupKeys: [], rolledOnly: true });
          const withKey =
            values === undefined
              ? rows
              : await backend.aggregate({ ...day, source: "sums_day_key", key, keyValues: undefined, groupKeys: [] });
          extra.push(...subtract(total, withKey, byValue ? [""] : []));
        }
      } else {
        requests.push({ ...base, source: "sums_day_groupset", begin: d0, end: d1, grain });
      }
      if (byGroupby) {
        for (const run of runs(await backend.unrolledDays(scopeRefs, d0, d1))) {
          requests.push({ ...fine(run.begin, run.end, grain), scopeRefs: [run.scopeRef] });
        }
      }
    }
  }

  const results: AggregateRow[][] = [extra];
  for (const req of requests) results.push(await backend.aggregate(req));
  return results;
}

/**
 * Rows of a summary, in the default order (begin, then each group-by value).
 * A point belongs to a time bucket by its period's begin; calendar buckets
 * are clipped to the query's range, a period bucket is the period itself.
 */
export async function summarize(backend: SummaryBackend, q: SummaryQuery, periodSeconds: number): Promise<SummaryRow[]> {
  const bucket = q.groupBy.find(isTimeBucket);
  const columns = q.groupBy.filter((k) => !isTimeBucket(k));
  const groupKeys = columns.filter((k) => k !== "scope_id" && k !== "type");
  const keyFilters = q.filters.filter((f) => f.key !== "scope_id" && f.key !== "type");
  const scopes = await backend.scopeRefs(intersect(q.filters, "scope_id"));
  const typeFilter = intersect(q.filters, "type");
  const types = await backend.typeRefs(typeFilter);
  if (scopes.size === 0 || types.size === 0) return [];
  const scopeRefs = [...scopes.keys()].sort((a, b) => a - b);
  const typeRefs = typeFilter === undefined ? undefined : [...types.keys()];
  const byScope = columns.includes("scope_id");
  const byType = columns.includes("type");

  const b = Math.ceil(q.begin.getTime() / 1000);
  const e = Math.ceil(q.end.getTime() / 1000);
  const shape: Shape = { typeRefs, keyFilters, byScope, byType, groupKeys, bucket };
  const results = await planNow(backend, shape, b, e, scopeRefs);
  if (q.asOf !== undefined) {
    const grain: AggregateRequest["grain"] = bucket === undefined ? "none" : bucket === "time" ? "period" : "day";
    const now = (begin: number, refs: number[]) => planNow(backend, shape, begin, e, refs);
    results.push(...(await asBilledAt(backend, fineRequest(shape, scopeRefs, b, e, grain), q.asOf, now)));
  }
  const groups = new Map<string, Group>();
  for (const rows of results) {
    for (const r of rows) {
      let begin = b;
      let end = e;
      if (bucket === "time") {
        begin = r.t;
        end = r.t + periodSeconds;
      } else if (bucket !== undefined) {
        const [bb, be] = bucketOf(r.t, bucket);
        begin = Math.max(bb, b);
        end = Math.min(be, e);
      }
      const values = columns.map((c) => {
        if (c === "scope_id") return scopes.get(r.scopeRef) ?? "";
        if (c === "type") return types.get(r.typeRef) ?? "";
        return r.keys[groupKeys.indexOf(c)] ?? "";
      });
      const key = `${begin}\u0000${end}\u0000${values.join("\u0000")}`;
      const g = groups.get(key);
      if (g === undefined) {
        groups.set(key, { begin, end, groups: values, count: r.count, qty: r.qty, price: r.price });
      } else {
        g.count += r.count;
        g.qty = g.qty.add(r.qty);
        g.price = g.price.add(r.price);
      }
    }
  }
  const rows = [...groups.values()].filter((g) => g.count > 0);
  rows.sort((x, y) => x.begin - y.begin || compareLists(x.groups, y.groups));
  return rows.map((g) => ({
    begin: fromEpochSeconds(g.begin),
    end: fromEpochSeconds(g.end),
    qty: trimmed(g.qty),
    price: trimmed(g.price),
    count: g.count,
    groups: g.groups,
  }));
}

/** total minus part, per (t, scope, type), as rows with the given keys; empty differences dropped. */
function subtract(total: AggregateRow[], part: AggregateRow[], keys: string[]): AggregateRow[] {
  const id = (r: AggregateRow) => `${r.t}:${r.scopeRef}:${r.typeRef}`;
  const out = new Map<string, AggregateRow>();
  for (const r of total) out.set(id(r), { ...r, keys });
  for (const r of part) {
    const o = out.get(id(r));
    if (o === undefined) continue;
    o.count -= r.count;
    o.qty = o.qty.sub(r.qty);
    o.price = o.price.sub(r.price);
  }
  return [...out.values()].filter((r) => r.count > 0);
}

/** Consecutive days of the same scope, merged into ranges. */
function runs(days: Array<{ scopeRef: number; day: number }>): Array<{ scopeRef: number; begin: number; end: number }> {
  const sorted = [...days].sort((a, b) => a.scopeRef - b.scopeRef || a.day - b.day);
  const out: Array<{ scopeRef: number; begin: number; end: number }> = [];
  for (const d of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last.scopeRef === d.scopeRef && last.end === d.day) last.end = d.day + DAY;
    else out.push({ scopeRef: d.scopeRef, begin: d.day, end: d.day + DAY });
  }
  return out;
}

export function compareLists(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? "";
    const y = b[i] ?? "";
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** One line of verifyRollups: what a rollup row holds against what its points give. */
export function rollupProblem(
  table: string,
  key: string,
  stored: Pick<AggregateRow, "count" | "qty" | "price"> | undefined,
  points: Pick<AggregateRow, "count" | "qty" | "price"> | undefined,
): string {
  const show = (s: Pick<AggregateRow, "count" | "qty" | "price"> | undefined) =>
    s === undefined ? "nothing" : `${s.count} points, qty ${trimmed(s.qty)}, price ${trimmed(s.price)}`;
  return `${table} ${key}: holds ${show(stored)}; the points give ${show(points)}`;
}
