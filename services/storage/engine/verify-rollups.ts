/**
 * Recomputes every rollup from the points, exactly, and lists each
 * difference (empty: the rollups are exactly the points); the adjustments
 * and the billed history are checked too (verify-adjustments.ts). A full scan, one
 * scope at a time: for tests and for an operator's check (../verify.ts),
 * not for the request path.
 */
import type { Decimal } from "../../../libs/money/decimal.js";
import { type GroupSumRow, int, type Param, type Sql } from "./dialect.js";
import { DAY, rollupProblem } from "./summary.js";
import { verifyAdjustments } from "./verify-adjustments.js";

const DAY_OF = `s.begin - s.begin % ${DAY}`;
const ROLLED = `points s JOIN rolled_days r ON r.scope_ref = s.scope_ref AND r.day = ${DAY_OF}`;

/** Each rollup table, its key columns, and the same key computed over the points it sums. */
const CHECKS = [
  { table: "sums_period", keys: ["scope_ref", "begin", "type_ref"], from: "points s", groups: ["s.scope_ref", "s.begin", "s.type_ref"] },
  { table: "sums_day", keys: ["scope_ref", "day", "type_ref"], from: "points s", groups: ["s.scope_ref", DAY_OF, "s.type_ref"] },
  {
    table: "sums_day_groupset",
    keys: ["scope_ref", "day", "type_ref", "groupset_ref"],
    from: ROLLED,
    groups: ["s.scope_ref", DAY_OF, "s.type_ref", "s.groupset_ref"],
  },
  {
    table: "sums_day_key",
    keys: ["key", "scope_ref", "day", "type_ref", "value"],
    from: `${ROLLED} JOIN groupset_values v ON v.groupset_ref = s.groupset_ref`,
    groups: ["v.key", "s.scope_ref", DAY_OF, "s.type_ref", "v.value"],
  },
];

type Totals = Pick<GroupSumRow, "count" | "qty" | "price">;

export async function verifyRollups(sql: Sql): Promise<string[]> {
  const problems: string[] = [];
  const keys = (await sql.all<{ key: string }>("SELECT DISTINCT key FROM groupby_keys")).map((r) => r.key);
  const scopes = (await sql.all("SELECT ref FROM scopes ORDER BY ref")).map((r) => int(r.ref));
  for (const scopeRef of scopes) {
    for (const check of CHECKS) {
      const want = new Map<string, Totals>();
      for (const r of await sql.sumGroups({ groups: check.groups, from: check.from, where: "s.scope_ref = ?", params: [scopeRef] })) {
        want.set(r.keys.map(String).join(":"), r);
      }
      for (const [key, stored] of await storedRows(sql, check.table, check.keys, scopeRef, keys)) {
        const w = want.get(key);
        want.delete(key);
        if (w === undefined || w.count !== stored.count || !w.qty.eq(stored.qty) || !w.price.eq(stored.price)) {
          problems.push(rollupProblem(check.table, key, stored, w));
        }
      }
      for (const [key, w] of want) problems.push(rollupProblem(check.table, key, undefined, w));
    }
    await verifyAdjustments(sql, scopeRef, problems);
  }
  return problems;
}

/** The rows of a rollup table for one scope, by their key columns joined with ":". */
async function storedRows(sql: Sql, table: string, columns: string[], scopeRef: number, keys: string[]): Promise<Map<string, Totals>> {
  let where = "scope_ref = ?";
  const params: Param[] = [scopeRef];
  if (table === "sums_day_key" && keys.length > 0) {
    // Clustered by key first: one seek per key, not a scan per scope.
    const [known, list] = sql.anyOf("key", keys, "text");
    where = `${known} AND ${where}`;
    params.unshift(list);
  }
  const { exact } = sql;
  const rows = await sql.all(
    `SELECT ${columns.join(", ")}, points, ${exact.select("qty")}, ${exact.select("price")} FROM ${table} WHERE ${where}`,
    params,
  );
  const out = new Map<string, { count: number; qty: Decimal; price: Decimal }>();
  for (const r of rows) {
    out.set(columns.map((c) => String(r[c])).join(":"), { count: int(r.points), qty: exact.read(r, "qty"), price: exact.read(r, "price") });
  }
  return out;
}
