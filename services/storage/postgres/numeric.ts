/**
 * Exact decimals on PostgreSQL: NUMERIC columns, summed by sum() (exact),
 * handed over by pg as text and never through a JS number.
 */
import type { PgClient } from "../../../libs/db/postgres.js";
import { Decimal } from "../../../libs/money/decimal.js";
import type { ExactColumns, GroupSumRow, GroupSums, Param, Row, TypeSum } from "../engine/dialect.js";
import { arrayLiteral } from "./arrays.js";

export type Queryable = Pick<PgClient, "query">;

const num = (v: unknown): Decimal => (v === null || v === undefined ? Decimal.ZERO : Decimal.parse(v as string));

export const NUMERIC: ExactColumns = {
  select: (name: string, alias?: string) => (alias === undefined ? name : `${alias}.${name}`),
  read: (row: Row, name: string) => num(row[name]),
  text: (name: string, alias: string) => `${alias}.${name}::text`,
};

const count = (q: GroupSums) => (q.count === undefined ? "count(*)" : `sum(${q.count})`);
const groupBy = (q: GroupSums) => q.groups.map((_, n) => n + 1).join(", ");

/** One statement: the period's rows, and sums_day added to in place; then the rows left with no point go. */
export async function writeSums(db: Queryable, scopeRef: number, begin: number, day: number, period: TypeSum[], dayDelta: TypeSum[]) {
  const list = (values: Param[]) => arrayLiteral(values, false);
  const arrays = (sums: TypeSum[]) => [
    list(sums.map((s) => s.typeRef)),
    list(sums.map((s) => s.count)),
    list(sums.map((s) => s.qty.toString())),
    list(sums.map((s) => s.price.toString())),
  ];
  await db.query(
    `WITH by_period AS (INSERT INTO sums_period (scope_ref, begin, type_ref, points, qty, price)
         SELECT $1, $2, x.* FROM unnest($3::int[], $4::bigint[], $5::numeric[], $6::numeric[]) AS x)
     INSERT INTO sums_day AS d (scope_ref, day, type_ref, points, qty, price)
       SELECT $1, $7, x.* FROM unnest($8::int[], $9::bigint[], $10::numeric[], $11::numeric[]) AS x
       ON CONFLICT (scope_ref, day, type_ref) DO UPDATE SET points = d.points + excluded.points,
         qty = d.qty + excluded.qty, price = d.price + excluded.price`,
    [scopeRef, begin, ...arrays(period), day, ...arrays(dayDelta)],
  );
  if (dayDelta.some((d) => d.count < 0)) {
    await db.query("DELETE FROM sums_day WHERE scope_ref = $1 AND day = $2 AND points = 0", [scopeRef, day]);
  }
}

/** Grouped sums; `numbered` turns the `?` placeholders of q into `$n`. */
export async function sumGroups(db: Queryable, numbered: (sql: string) => string, q: GroupSums): Promise<GroupSumRow[]> {
  const k = q.groups.length;
  const rows = (
    await db.query({
      text: numbered(
        `SELECT ${q.groups.map((g, n) => `${g} AS g${n}`).join(", ")}, ${count(q)} AS n, sum(s.qty) AS q, sum(s.price) AS p
         FROM ${q.from} WHERE ${q.where} GROUP BY ${groupBy(q)}`,
      ),
      values: q.params as unknown[],
      rowMode: "array",
    })
  ).rows as unknown[][];
  return rows.map((r) => ({ keys: r.slice(0, k), count: Number(r[k]), qty: num(r[k + 1]), price: num(r[k + 2]) }));
}

export async function insertSums(db: Queryable, numbered: (sql: string) => string, table: string, columns: string[], q: GroupSums) {
  await db.query(
    numbered(
      `INSERT INTO ${table} (${columns.join(", ")}, points, qty, price)
       SELECT ${q.groups.join(", ")}, ${count(q)}, sum(s.qty), sum(s.price) FROM ${q.from} WHERE ${q.where} GROUP BY ${groupBy(q)}`,
    ),
    q.params as unknown[],
  );
}
