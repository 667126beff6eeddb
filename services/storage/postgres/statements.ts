/**
 * PostgreSQL's side of the Sql handle (pg): `?` numbered as `$n`, lists as
 * array parameters (one parameter however long the list), NUMERIC for
 * exact decimals (pg hands them over as text), row locks, COPY for the
 * points and unnest() for other bulk inserts: few round trips per commit.
 */
import { createHash } from "node:crypto";
import type { PgClient } from "../../../libs/db/postgres.js";
import { Decimal } from "../../../libs/money/decimal.js";
import type { Column, ExactColumns, GroupSumRow, GroupSums, Param, PointRows, Row, Sql, TypeSum } from "../engine/dialect.js";
import { copyField, copyRows } from "./copy.js";

type Queryable = Pick<PgClient, "query">;

const num = (v: unknown): Decimal => (v === null || v === undefined ? Decimal.ZERO : Decimal.parse(v as string));

/** An array literal for a `$n::type[]` parameter; text is quoted, numbers and validated decimals need not be. */
function arrayLiteral(values: readonly Param[], quote: boolean): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    if (v === null || v === undefined) out += "NULL";
    else if (!quote) out += String(v);
    else {
      const s = String(v);
      out += `"${/["\\]/.test(s) ? s.replace(/["\\]/g, "\\$&") : s}"`;
    }
  }
  return `${out}}`;
}

const NUMERIC: ExactColumns = {
  columns: (name: string): Column[] => [{ name, type: "numeric" }],
  select: (name: string, alias?: string) => (alias === undefined ? name : `${alias}.${name}`),
  read: (row: Row, name: string) => num(row[name]),
  params: (value: Decimal) => [value.toString()],
};

const POINT_COLUMNS = ["scope_ref", "begin", "seq", "type_ref", "groupset_ref", "unit", "qty", "price", "metadata"];

export class PgStatements implements Sql {
  readonly exact = NUMERIC;
  /** A long map would not fit a btree entry: groupsets are keyed by the SHA-256 of the map. */
  readonly groupsetKey = { column: "digest", of: (canon: string) => createHash("sha256").update(canon).digest("hex") };

  /**
   * @param db the transaction's client, or the pool for reads
   * @param numbered SQL texts with `$n` placeholders, by their `?` text
   */
  constructor(
    private readonly db: Queryable,
    private readonly numbered: Map<string, string>,
    private readonly client: PgClient | undefined,
  ) {}

  private text(sql: string): string {
    let out = this.numbered.get(sql);
    if (out === undefined) {
      let n = 0;
      out = sql.replace(/\?/g, () => `$${++n}`);
      this.numbered.set(sql, out);
    }
    return out;
  }

  async all<R extends object = Row>(text: string, params: readonly Param[] = []): Promise<R[]> {
    return (await this.db.query(this.text(text), params as unknown[])).rows as R[];
  }

  async run(text: string, params: readonly Param[] = []): Promise<number> {
    return (await this.db.query(this.text(text), params as unknown[])).rowCount ?? 0;
  }

  anyOf(column: string, values: readonly string[] | readonly number[], type: "text" | "int"): [string, Param] {
    return [`${column} = ANY(?::${type}[])`, arrayLiteral(values, type === "text")];
  }

  lock(alias?: string): string {
    return alias === undefined ? " FOR UPDATE" : ` FOR UPDATE OF ${alias}`;
  }

  bytewise(column: string): string {
    return `${column} COLLATE "C"`;
  }

  async insertRows(
    table: string,
    columns: readonly Column[],
    rows: Param[][],
    opts: { skipConflictOn?: string; returning?: string } = {},
  ): Promise<Row[]> {
    const arrays = columns.map((c, j) =>
      arrayLiteral(
        rows.map((r) => r[j] ?? null),
        c.type === "text",
      ),
    );
    const text =
      `INSERT INTO ${table} (${columns.map((c) => c.name).join(", ")}) ` +
      `SELECT * FROM unnest(${columns.map((c, j) => `$${j + 1}::${c.type}[]`).join(", ")})` +
      (opts.skipConflictOn === undefined ? "" : ` ON CONFLICT (${opts.skipConflictOn}) DO NOTHING`) +
      (opts.returning === undefined ? "" : ` RETURNING ${opts.returning}`);
    return (await this.db.query(text, arrays)).rows as Row[];
  }

  /** The rows in COPY's text format, sent in one message by flush(): about twice as fast as an INSERT over unnest(). */
  pointRows(scopeRef: number, begin: number, count: number): PointRows {
    const client = this.client;
    if (client === undefined) throw new Error("points are written in a write transaction");
    const lines: string[] = new Array(count);
    const head = `${scopeRef}\t${begin}\t`;
    let rows = 0;
    return {
      add(seq, typeRef, groupsetRef, p) {
        // Decimals are validated digits: nothing to escape.
        lines[seq] =
          `${head}${seq}\t${typeRef}\t${groupsetRef}\t${copyField(p.unit)}\t${p.qty}\t${p.price}\t` +
          `${p.metadataJson === "" ? "\\N" : copyField(p.metadataJson)}\n`;
        rows++;
      },
      flush: () => (rows === 0 ? Promise.resolve() : copyRows(client, "points", POINT_COLUMNS, lines.join(""), rows)),
    };
  }

  /** One statement: the period's rows, and sums_day added to in place; then the rows left with no point go. */
  async writeSums(scopeRef: number, begin: number, day: number, period: TypeSum[], dayDelta: TypeSum[]): Promise<void> {
    const list = (values: Param[]) => arrayLiteral(values, false);
    const arrays = (sums: TypeSum[]) => [
      list(sums.map((s) => s.typeRef)),
      list(sums.map((s) => s.count)),
      list(sums.map((s) => s.qty.toString())),
      list(sums.map((s) => s.price.toString())),
    ];
    await this.db.query(
      `WITH by_period AS (INSERT INTO sums_period (scope_ref, begin, type_ref, points, qty, price)
           SELECT $1, $2, x.* FROM unnest($3::int[], $4::bigint[], $5::numeric[], $6::numeric[]) AS x)
       INSERT INTO sums_day AS d (scope_ref, day, type_ref, points, qty, price)
         SELECT $1, $7, x.* FROM unnest($8::int[], $9::bigint[], $10::numeric[], $11::numeric[]) AS x
         ON CONFLICT (scope_ref, day, type_ref) DO UPDATE SET points = d.points + excluded.points,
           qty = d.qty + excluded.qty, price = d.price + excluded.price`,
      [scopeRef, begin, ...arrays(period), day, ...arrays(dayDelta)],
    );
    if (dayDelta.some((d) => d.count < 0)) {
      await this.db.query("DELETE FROM sums_day WHERE scope_ref = $1 AND day = $2 AND points = 0", [scopeRef, day]);
    }
  }

  async sumGroups(q: GroupSums): Promise<GroupSumRow[]> {
    const k = q.groups.length;
    const rows = (
      await this.db.query({
        text: this.text(
          `SELECT ${q.groups.map((g, n) => `${g} AS g${n}`).join(", ")}, ${count(q)} AS n, sum(s.qty) AS q, sum(s.price) AS p
           FROM ${q.from} WHERE ${q.where} GROUP BY ${groupBy(q)}`,
        ),
        values: q.params as unknown[],
        rowMode: "array",
      })
    ).rows as unknown[][];
    return rows.map((r) => ({ keys: r.slice(0, k), count: Number(r[k]), qty: num(r[k + 1]), price: num(r[k + 2]) }));
  }

  async insertSums(table: string, columns: string[], q: GroupSums): Promise<void> {
    await this.run(
      `INSERT INTO ${table} (${columns.join(", ")}, points, qty, price)
       SELECT ${q.groups.join(", ")}, ${count(q)}, sum(s.qty), sum(s.price) FROM ${q.from} WHERE ${q.where} GROUP BY ${groupBy(q)}`,
      q.params,
    );
  }
}

const count = (q: GroupSums) => (q.count === undefined ? "count(*)" : `sum(${q.count})`);
const groupBy = (q: GroupSums) => q.groups.map((_, n) => n + 1).join(", ");
