/**
 * Stored points as columns, for bulk readers (StreamPointColumns): the
 * same points, order and cursor as listPoints (points.ts), read as arrays
 * (no object per row, exact decimals made text by the database, no BigInt),
 * without the join to the groupsets: the canonical JSON of a groupset
 * comes once, for the references the caller does not know yet.
 */
import type { PointColumnsPage, PointColumnsQuery } from "../domain.js";
import { int, type Sql } from "./dialect.js";
import { pointScan, scopePoints } from "./points.js";
import { SqlSummarySource } from "./sources.js";
import { intersect } from "./summary.js";

/** "12.500" -> "12.5", "3.000" -> "3", "-0.10" -> "-0.1": the text of an exact value without trailing fraction zeros. */
function trimZeros(text: string): string {
  // Most values end in another digit (SQLite's text of the parts has no trailing zero): one comparison.
  if (text.charCodeAt(text.length - 1) !== 48 /* 0 */ || text.indexOf(".") < 0) return text;
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48) end--;
  if (text.charCodeAt(end - 1) === 46 /* . */) end--;
  const out = text.slice(0, end);
  return out === "-0" ? "0" : out;
}

export async function listPointColumns(sql: Sql, q: PointColumnsQuery): Promise<PointColumnsPage> {
  const dictionaries = new SqlSummarySource(sql);
  const scopes = await dictionaries.scopeRefs(intersect(q.filters, "scope_id"));
  const types = await dictionaries.typeRefs(undefined);
  const page: PointColumnsPage = {
    scopeRef: [],
    begin: [],
    typeRef: [],
    groupsetRef: [],
    unit: [],
    qty: [],
    price: [],
    metadata: [],
    scopes,
    types,
    groupsets: new Map(),
    next: undefined,
  };
  const typeFilter = intersect(q.filters, "type");
  const typeRefs = typeFilter === undefined ? undefined : [...types].filter(([, name]) => typeFilter.includes(name)).map(([ref]) => ref);
  if (typeRefs !== undefined && typeRefs.length === 0) return page;
  const scan = pointScan(q, scopes.keys());
  const { exact } = sql;
  let last: unknown[] | undefined;
  let more = false;
  for (const ref of scan.refs) {
    const { where, params } = scopePoints(sql, scan, ref, typeRefs, q.after);
    const room = q.limit - page.qty.length;
    const rows = await sql.arrays(
      // One scope per query: its reference is not read again on every row (each column read costs).
      `SELECT s.begin, s.seq, s.type_ref, s.groupset_ref, s.unit, ${exact.text("qty", "s")}, ${exact.text("price", "s")}, s.metadata
       FROM points s WHERE ${where} ORDER BY s.begin, s.seq LIMIT ?`,
      [...params, room + 1],
    );
    const n = Math.min(rows.length, room);
    for (let i = 0; i < n; i++) {
      const r = rows[i] as unknown[];
      page.scopeRef.push(ref);
      page.begin.push(int(r[0]));
      page.typeRef.push(int(r[2]));
      page.groupsetRef.push(int(r[3]));
      page.unit.push(r[4] as string);
      page.qty.push(trimZeros(r[5] as string));
      page.price.push(trimZeros(r[6] as string));
      page.metadata.push((r[7] as string | null) ?? "");
    }
    if (n > 0) last = [ref, ...(rows[n - 1] as unknown[])];
    if (rows.length > room) {
      more = true;
      break;
    }
  }
  if (more && last !== undefined) page.next = { scopeRef: int(last[0]), begin: int(last[1]), seq: int(last[2]) };
  const unknown: number[] = [];
  const seen = new Set<number>();
  for (const r of page.groupsetRef) {
    if (!seen.has(r) && !q.knownGroupsets.has(r)) unknown.push(r);
    seen.add(r);
  }
  for (let i = 0; i < unknown.length; i += 10_000) {
    const [cond, param] = sql.anyOf("ref", unknown.slice(i, i + 10_000), "int");
    for (const r of await sql.arrays(`SELECT ref, canon FROM groupsets WHERE ${cond}`, [param]))
      page.groupsets.set(int(r[0]), r[1] as string);
  }
  return page;
}
