/**
 * Stored points in pages: ordered by scope (in registration order), then
 * period, then position in the frame, resumed from a cursor.
 */
import { fromEpochSeconds } from "../../../libs/time/period.js";
import type { PeriodPoint, PointPage, PointQuery } from "../domain.js";
import { int, type Param, type Row, type Sql } from "./dialect.js";
import { trimmed } from "./exact.js";
import { aggregateBase, SqlSummarySource } from "./sources.js";
import { intersect } from "./summary.js";

/** What a page of points reads: the window in epoch seconds, the filters on keys, and the scopes from the cursor's on, in order. */
export interface PointScan {
  begin: number;
  end: number;
  keyFilters: PointQuery["filters"];
  refs: number[];
}

export function pointScan(q: Pick<PointQuery, "begin" | "end" | "filters" | "after">, scopeRefs: Iterable<number>): PointScan {
  return {
    begin: Math.ceil(q.begin.getTime() / 1000),
    end: Math.ceil(q.end.getTime() / 1000),
    keyFilters: q.filters.filter((f) => f.key !== "scope_id" && f.key !== "type"),
    refs: [...scopeRefs].filter((r) => q.after === undefined || r >= q.after.scopeRef).sort((a, b) => a - b),
  };
}

/** The condition on one scope's points of the scan (alias s), resumed after the cursor in its scope. */
export function scopePoints(
  sql: Sql,
  scan: PointScan,
  ref: number,
  typeRefs: number[] | undefined,
  after: PointQuery["after"],
): { where: string; params: Param[] } {
  const { where, params } = aggregateBase(sql, {
    source: "points",
    begin: scan.begin,
    end: scan.end,
    scopeRefs: [ref],
    typeRefs,
    keyFilters: scan.keyFilters,
    grain: "none",
    byScope: false,
    byType: false,
    groupKeys: [],
  });
  if (after === undefined || ref !== after.scopeRef) return { where, params };
  return { where: `${where} AND s.begin >= ? AND (s.begin > ? OR s.seq > ?)`, params: [...params, after.begin, after.begin, after.seq] };
}

export async function listPoints(sql: Sql, q: PointQuery, period: number): Promise<PointPage> {
  const dictionaries = new SqlSummarySource(sql);
  const scopes = await dictionaries.scopeRefs(intersect(q.filters, "scope_id"));
  const typeFilter = intersect(q.filters, "type");
  const types = await dictionaries.typeRefs(undefined);
  const typeRefs = typeFilter === undefined ? undefined : [...types].filter(([, name]) => typeFilter.includes(name)).map(([ref]) => ref);
  if (typeRefs !== undefined && typeRefs.length === 0) return { points: [], next: undefined };
  const scan = pointScan(q, scopes.keys());
  const { exact } = sql;
  const out: Row[] = [];
  for (const ref of scan.refs) {
    const { where, params } = scopePoints(sql, scan, ref, typeRefs, q.after);
    const rows = await sql.all(
      `SELECT s.scope_ref, s.begin, s.seq, s.type_ref, s.groupset_ref, s.unit, ${exact.select("qty", "s")}, ${exact.select("price", "s")},
         s.metadata, g.canon
       FROM points s JOIN groupsets g ON g.ref = s.groupset_ref
       WHERE ${where} ORDER BY s.begin, s.seq LIMIT ?`,
      [...params, q.limit + 1 - out.length],
    );
    out.push(...rows);
    if (out.length > q.limit) break;
  }
  const page = out.slice(0, q.limit);
  const maps = new Map<number, Record<string, string>>();
  const points: PeriodPoint[] = page.map((r) => {
    const groupset = int(r.groupset_ref);
    let groupby = maps.get(groupset);
    if (groupby === undefined) {
      groupby = JSON.parse(r.canon as string) as Record<string, string>;
      maps.set(groupset, groupby);
    }
    const b = int(r.begin);
    return {
      scopeId: scopes.get(int(r.scope_ref)) ?? "",
      begin: fromEpochSeconds(b),
      end: fromEpochSeconds(b + period),
      type: types.get(int(r.type_ref)) ?? "",
      unit: r.unit as string,
      qty: trimmed(exact.read(r, "qty")).toString(),
      price: trimmed(exact.read(r, "price")).toString(),
      groupby,
      metadata: r.metadata === null ? {} : (JSON.parse(r.metadata as string) as Record<string, string>),
    };
  });
  const last = page[page.length - 1];
  return {
    points,
    next:
      out.length > q.limit && last !== undefined
        ? { scopeRef: int(last.scope_ref), begin: int(last.begin), seq: int(last.seq) }
        : undefined,
  };
}
