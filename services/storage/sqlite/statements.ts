/**
 * SQLite's side of the Sql handle: better-sqlite3 statements (prepared
 * once per text, integers read as safe integers), its fragments of SQL,
 * and its bulk and exact-sum statements. better-sqlite3 is synchronous:
 * each method does all its work before it returns.
 */
import type { Statement } from "better-sqlite3";
import type { SqliteDatabase } from "../../../libs/db/sqlite.js";
import { type Column, type InsertOptions, insertTail, type Param, type Row, type Sql } from "../engine/dialect.js";
import { insertSums, PARTS, sumGroups, writeSums } from "./exact-parts.js";
import { SqlitePointRows } from "./point-rows.js";

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

  private readonly arrayStatements = new Map<string, Statement<unknown[]>>();

  async arrays(text: string, params: readonly Param[] = []): Promise<unknown[][]> {
    let s = this.arrayStatements.get(text);
    if (s === undefined) {
      s = this.db.prepare(text);
      s.safeIntegers(false);
      s.raw(true);
      this.arrayStatements.set(text, s);
    }
    return s.all(bind(params)) as unknown[][];
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

  async insertRows(table: string, columns: readonly Column[], rows: Param[][], opts: InsertOptions = {}): Promise<Row[]> {
    const tail = insertTail(opts);
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

  readonly pointRows: Sql["pointRows"] = (scopeRef, begin) => new SqlitePointRows(this.prepare, scopeRef, begin);
  readonly writeSums: Sql["writeSums"] = async (...args) => writeSums(this.prepare, ...args);
  readonly sumGroups: Sql["sumGroups"] = async (q) => sumGroups(this.prepare, q);
  readonly insertSums: Sql["insertSums"] = async (...args) => insertSums(this.prepare, ...args);
}
