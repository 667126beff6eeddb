/**
 * The summary planner's view of the database (SummaryBackend): the
 * dictionaries, the days not rolled up, and exact aggregates over one
 * source, with the filters every query applies.
 */
import { int, type Param, type Sql } from "./dialect.js";
import { type AggregateRequest, type AggregateRow, DAY, type SummaryBackend } from "./summary.js";
import { Where } from "./where.js";

/** FROM and WHERE of an aggregate over a source, its parameters, and its group expressions (time, scope, type, keys). */
export function aggregateBase(sql: Sql, req: AggregateRequest): { from: string; where: string; params: Param[]; groups: string[] } {
  const timeCol = req.source === "points" || req.source === "sums_period" || req.source === "adjustment_lines" ? "begin" : "day";
  const groups = [
    req.grain === "none" ? "0" : req.grain === "period" || timeCol === "day" ? `s.${timeCol}` : `(s.begin - s.begin % ${DAY})`,
    req.byScope ? "s.scope_ref" : "0",
    req.byType ? "s.type_ref" : "0",
  ];
  let from = `${req.source} s`;
  const fromParams: Param[] = [];
  const where = new Where(sql);
  if (req.source === "sums_day_key") {
    // The key leads the clustered key: only that key's rows are read.
    where.add("s.key = ?", req.key ?? "");
    if (req.groupKeys.length > 0) groups.push("s.value");
  } else {
    req.groupKeys.forEach((key, n) => {
      from += ` LEFT JOIN groupset_values k${n} ON k${n}.groupset_ref = s.groupset_ref AND k${n}.key = ?`;
      fromParams.push(key);
      groups.push(`COALESCE(k${n}.value, '')`);
    });
  }
  // One scope is an equality, so that the clustered key also gives the order (no sort before a LIMIT).
  if (req.scopeRefs.length === 1) where.add("s.scope_ref = ?", req.scopeRefs[0] as number);
  else where.anyOf("s.scope_ref", req.scopeRefs, "int");
  where.add(`s.${timeCol} >= ? AND s.${timeCol} < ?`, req.begin, req.end);
  if (req.typeRefs !== undefined) where.anyOf("s.type_ref", req.typeRefs, "int");
  if (req.keyValues !== undefined) where.anyOf("s.value", req.keyValues, "text");
  if (req.lines !== undefined) where.add("s.kind = ? AND s.recorded_at > ?", req.lines.kind, req.lines.recordedAfter);
  if (req.periods !== undefined) {
    const late = "SELECT 1 FROM frames f WHERE f.scope_ref = s.scope_ref AND f.begin = s.begin AND f.first_committed_at > ?";
    where.add(req.periods.late ? `EXISTS (${late})` : `NOT EXISTS (${late})`, req.periods.firstCommittedAfter);
  }
  if (req.rolledOnly) where.add("EXISTS (SELECT 1 FROM rolled_days r WHERE r.scope_ref = s.scope_ref AND r.day = s.day)");
  for (const f of req.keyFilters) {
    const either: string[] = [];
    const params: Param[] = [];
    const values = f.values.filter((v) => v !== "");
    if (values.length > 0) {
      const [isValue, list] = sql.anyOf("value", values, "text");
      either.push(`s.groupset_ref IN (SELECT groupset_ref FROM groupset_values WHERE key = ? AND ${isValue})`);
      params.push(f.key, list);
    }
    if (values.length < f.values.length) {
      either.push("s.groupset_ref NOT IN (SELECT groupset_ref FROM groupset_values WHERE key = ? AND value <> '')");
      params.push(f.key);
    }
    where.add(`(${either.join(" OR ")})`, ...params);
  }
  return { from, where: where.toString(), params: [...fromParams, ...where.params], groups };
}

/** Refs of the rows of `table` (scopes, types) whose `column` is one of values, or every row; with that column. */
async function refs(sql: Sql, table: string, column: string, values: string[] | undefined): Promise<Map<number, string>> {
  let rows: Array<Record<string, unknown>>;
  if (values === undefined) rows = await sql.all(`SELECT ref, ${column} FROM ${table}`);
  else {
    const [named, list] = sql.anyOf(column, values, "text");
    rows = await sql.all(`SELECT ref, ${column} FROM ${table} WHERE ${named}`, [list]);
  }
  return new Map(rows.map((r) => [int(r.ref), r[column] as string]));
}

export class SqlSummarySource implements SummaryBackend {
  constructor(private readonly sql: Sql) {}

  scopeRefs(scopeIds: string[] | undefined): Promise<Map<number, string>> {
    return refs(this.sql, "scopes", "scope_id", scopeIds);
  }

  typeRefs(names: string[] | undefined): Promise<Map<number, string>> {
    return refs(this.sql, "types", "name", names);
  }

  async unrolledDays(scopeRefs: number[], d0: number, d1: number): Promise<Array<{ scopeRef: number; day: number }>> {
    const [scoped, list] = this.sql.anyOf("d.scope_ref", scopeRefs, "int");
    const rows = await this.sql.all(
      `SELECT DISTINCT d.scope_ref, d.day FROM sums_day d
       WHERE ${scoped} AND d.day >= ? AND d.day < ?
         AND NOT EXISTS (SELECT 1 FROM rolled_days r WHERE r.scope_ref = d.scope_ref AND r.day = d.day)`,
      [list, d0, d1],
    );
    return rows.map((r) => ({ scopeRef: int(r.scope_ref), day: int(r.day) }));
  }

  async firstCommittedAfter(
    scopeRefs: number[],
    begin: number,
    end: number,
    at: number,
  ): Promise<Array<{ scopeRef: number; begin: number }>> {
    const [scoped, list] = this.sql.anyOf("f.scope_ref", scopeRefs, "int");
    const rows = await this.sql.all(
      `SELECT f.scope_ref, min(f.begin) AS first FROM frames f
       WHERE ${scoped} AND f.begin >= ? AND f.begin < ? AND f.first_committed_at > ?
       GROUP BY f.scope_ref`,
      [list, begin, end, at],
    );
    return rows.map((r) => ({ scopeRef: int(r.scope_ref), begin: int(r.first) }));
  }

  async allLateFrom(scopeRefs: number[], begin: number, end: number, at: number): Promise<boolean> {
    const [framed, frameList] = this.sql.anyOf("f.scope_ref", scopeRefs, "int");
    const billed = await this.sql.all(
      `SELECT 1 AS x FROM frames f WHERE ${framed} AND f.begin >= ? AND f.begin < ? AND f.first_committed_at <= ? LIMIT 1`,
      [frameList, begin, end, at],
    );
    if (billed.length > 0) return false;
    // Points added (AddDataFrames) to a period never committed count at any time.
    const [summed, sumList] = this.sql.anyOf("s.scope_ref", scopeRefs, "int");
    const unframed = await this.sql.all(
      `SELECT 1 AS x FROM sums_period s WHERE ${summed} AND s.begin >= ? AND s.begin < ?
         AND NOT EXISTS (SELECT 1 FROM frames f WHERE f.scope_ref = s.scope_ref AND f.begin = s.begin) LIMIT 1`,
      [sumList, begin, end],
    );
    return unframed.length === 0;
  }

  async aggregate(req: AggregateRequest): Promise<AggregateRow[]> {
    const { from, where, params, groups } = aggregateBase(this.sql, req);
    const rows = await this.sql.sumGroups({ groups, from, where, params, ...(req.source === "points" ? {} : { count: "s.points" }) });
    return rows.map((r) => ({
      t: int(r.keys[0]),
      scopeRef: int(r.keys[1]),
      typeRef: int(r.keys[2]),
      keys: req.groupKeys.map((_, n) => String(r.keys[n + 3])),
      count: r.count,
      qty: r.qty,
      price: r.price,
    }));
  }
}
