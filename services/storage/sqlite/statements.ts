/**
 * SQLite's side of the Sql handle: better-sqlite3 statements (prepared
 * once per text, integers read as safe integers), its fragments of SQL,
 * and its bulk and exact-sum statements. better-sqlite3 is synchronous:
 * each method does all its work before it returns.
 */
import type { Statement } from "better-sqlite3";
import type { SqliteDatabase } from "../../../libs/db/sqlite.js";
import type { Column, GroupSumRow, GroupSums, Param, PointRows, Row, Sql, TypeSum } from "../engine/dialect.js";
import type { Parts } from "../engine/exact.js";
import { EXACT_COLUMNS, exactValue, insertSums, PARTS, partsParams, sumGroups } from "./exact-parts.js";

const POINT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const POINT_COLUMNS = 15;
const INSERT_POINTS = `INSERT INTO points (scope_ref, begin, seq, type_ref, groupset_ref, unit, ${EXACT_COLUMNS}, metadata) VALUES`;
/** Rows per INSERT of points: one call into SQLite per batch instead of per row, about twice as fast. */
const POINT_BATCH = 32;
/** insertRows: at most this many rows per statement, in power-of-two batches (a few statement texts per table). */
const ROW_BATCH = 256;

/** better-sqlite3 binds no booleans. */
function bind(params: readonly Param[]): unknown[] {
  return params.some((p) => typeof p === "boolean") ? params.map((p) => (typeof p === "boolean" ? (p ? 1 : 0) : p)) : (params as unknown[]);
}

export class SqliteStatements implements Sql {
  private readonly statements = new Map<string, Statement<unknown[]>>();
  readonly exact = PARTS;
  readonly groupsetKey = { column: "canon", of: (canon: string) => canon };

  constructor(private readonly db: SqliteDatabase) {}

  /** Prepared once per SQL text: preparing costs more than running a small statement. */
  readonly prepare = (text: string): Statement<unknown[]> => {
    let s = this.statements.get(text);
    if (s === undefined) {
      s = this.db.prepare(text);
      if (s.reader) s.safeIntegers(true);
      this.statements.set(text, s);
    }
    return s;
  };

  async all<R extends object = Row>(text: string, params: readonly Param[] = []): Promise<R[]> {
    const s = this.prepare(text);
    if (s.reader) return s.all(bind(params)) as R[];
    s.run(bind(params));
    return [];
  }

  async run(text: string, params: readonly Param[] = []): Promise<number> {
    return this.prepare(text).run(bind(params)).changes;
  }

  anyOf(column: string, values: readonly string[] | readonly number[]): [string, Param] {
    return [`${column} IN (SELECT value FROM json_each(?))`, JSON.stringify(values)];
  }

  /** A write transaction holds the file's write lock (BEGIN IMMEDIATE): no row lock to ask for. */
  lock(): string {
    return "";
  }

  /** SQLite's default collation, BINARY, already compares bytes. */
  bytewise(column: string): string {
    return column;
  }

  async insertRows(
    table: string,
    columns: readonly Column[],
    rows: Param[][],
    opts: { skipConflictOn?: string; returning?: string } = {},
  ): Promise<Row[]> {
    const tail =
      (opts.skipConflictOn === undefined ? "" : ` ON CONFLICT (${opts.skipConflictOn}) DO NOTHING`) +
      (opts.returning === undefined ? "" : ` RETURNING ${opts.returning}`);
    const row = `(${columns.map(() => "?").join(", ")})`;
    const out: Row[] = [];
    for (let i = 0; i < rows.length; ) {
      let size = ROW_BATCH;
      while (size > rows.length - i) size >>= 1;
      const s = this.prepare(
        `INSERT INTO ${table} (${columns.map((c) => c.name).join(", ")}) VALUES ${Array(size).fill(row).join(", ")}${tail}`,
      );
      const args = bind(rows.slice(i, i + size).flat());
      if (s.reader) out.push(...(s.all(args) as Row[]));
      else s.run(args);
      i += size;
    }
    return out;
  }

  pointRows(scopeRef: number, begin: number): PointRows {
    return new SqlitePointRows(
      this.prepare(`${INSERT_POINTS} ${Array(POINT_BATCH).fill(POINT_ROW).join(", ")}`),
      this.prepare(`${INSERT_POINTS} ${POINT_ROW}`),
      scopeRef,
      begin,
    );
  }

  /** sums_day is read, added to exactly in BigInt, and written back (the parts of a sum stay normalised). */
  async writeSums(scopeRef: number, begin: number, day: number, period: TypeSum[], dayDelta: TypeSum[]): Promise<void> {
    const insert = this.prepare(
      `INSERT INTO sums_period (scope_ref, begin, type_ref, points, ${EXACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const s of period) insert.run(scopeRef, begin, s.typeRef, s.count, ...partsParams(s.qty), ...partsParams(s.price));
    const read = this.prepare(`SELECT points, ${EXACT_COLUMNS} FROM sums_day WHERE scope_ref = ? AND day = ? AND type_ref = ?`);
    const upsert = this.prepare(
      `INSERT INTO sums_day (scope_ref, day, type_ref, points, ${EXACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope_ref, day, type_ref) DO UPDATE SET points = excluded.points,
         qty_i = excluded.qty_i, qty_f1 = excluded.qty_f1, qty_f2 = excluded.qty_f2, qty_x = excluded.qty_x,
         price_i = excluded.price_i, price_f1 = excluded.price_f1, price_f2 = excluded.price_f2, price_x = excluded.price_x`,
    );
    for (const d of dayDelta) {
      const row = read.get(scopeRef, day, d.typeRef) as Row | undefined;
      const count = (row === undefined ? 0 : Number(row.points)) + d.count;
      if (count === 0) {
        this.prepare("DELETE FROM sums_day WHERE scope_ref = ? AND day = ? AND type_ref = ?").run(scopeRef, day, d.typeRef);
        continue;
      }
      const qty = row === undefined ? d.qty : exactValue(row.qty_i, row.qty_f1, row.qty_f2, row.qty_x).add(d.qty);
      const price = row === undefined ? d.price : exactValue(row.price_i, row.price_f1, row.price_f2, row.price_x).add(d.price);
      upsert.run(scopeRef, day, d.typeRef, count, ...partsParams(qty), ...partsParams(price));
    }
  }

  async sumGroups(q: GroupSums): Promise<GroupSumRow[]> {
    return sumGroups(this.prepare, q);
  }

  async insertSums(table: string, columns: string[], q: GroupSums): Promise<void> {
    insertSums(this.prepare, table, columns, q);
  }
}

/** Fills the parameters of a batch of rows in place, and runs it when full. */
class SqlitePointRows implements PointRows {
  private readonly args: unknown[] = new Array(POINT_COLUMNS * POINT_BATCH);
  private k = 0;

  constructor(
    private readonly batch: Statement<unknown[]>,
    private readonly one: Statement<unknown[]>,
    private readonly scopeRef: number,
    private readonly begin: number,
  ) {}

  add(seq: number, typeRef: number, groupsetRef: number, p: { unit: string; metadataJson: string }, q: Parts, pr: Parts): void {
    const a = this.args;
    const k = this.k;
    a[k] = this.scopeRef;
    a[k + 1] = this.begin;
    a[k + 2] = seq;
    a[k + 3] = typeRef;
    a[k + 4] = groupsetRef;
    a[k + 5] = p.unit;
    a[k + 6] = q.i;
    a[k + 7] = q.f1;
    a[k + 8] = q.f2;
    a[k + 9] = q.x;
    a[k + 10] = pr.i;
    a[k + 11] = pr.f1;
    a[k + 12] = pr.f2;
    a[k + 13] = pr.x;
    a[k + 14] = p.metadataJson === "" ? null : p.metadataJson;
    this.k = k + POINT_COLUMNS;
    if (this.k === a.length) {
      this.batch.run(a);
      this.k = 0;
    }
  }

  async flush(): Promise<void> {
    for (let j = 0; j < this.k; j += POINT_COLUMNS) this.one.run(this.args.slice(j, j + POINT_COLUMNS));
    this.k = 0;
  }
}
