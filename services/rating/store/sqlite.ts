/**
 * The rating database on SQLite (the embedded default): one file, shared by
 * every rating process that opens it.
 *
 * better-sqlite3 is synchronous, but repositories are written against the
 * async SqlExecutor so that PostgreSQL runs the same code. Between two
 * awaits of one transaction another request could run a statement on the
 * same connection and see (or be caught in) uncommitted work, so every
 * operation takes a process-wide mutex; across processes, BEGIN IMMEDIATE
 * takes SQLite's write lock (waiting up to busy_timeout).
 */
import type BetterSqlite3 from "better-sqlite3";
import { migrateSqlite, openSqlite, type SqliteDatabase } from "../../../libs/db/sqlite.js";
import { MIGRATIONS_TABLE, sqliteMigrations } from "./schema.js";
import { BUMP_VERSION, num, type Row, type SqlDatabase, type SqlExecutor, type SqlValue } from "./sql.js";

export class SqliteRatingDatabase implements SqlDatabase {
  readonly engine = "sqlite";
  private readonly db: SqliteDatabase;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.db = openSqlite(path);
    migrateSqlite(this.db, sqliteMigrations, MIGRATIONS_TABLE);
  }

  private statement(sql: string): BetterSqlite3.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private readonly executor: SqlExecutor = {
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => {
      const s = this.statement(sql);
      if (s.reader) return s.all(...params) as T[];
      s.run(...params);
      return [];
    },
    run: async (sql: string, params: readonly SqlValue[] = []) => this.statement(sql).run(...params).changes,
  };

  /** Runs fn after every operation queued before it, and before any queued after. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }

  private async transaction<T>(begin: string, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.db.exec(begin);
    try {
      const result = await fn(this.executor);
      this.db.exec("COMMIT");
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw err;
    }
  }

  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.exclusive(() => this.executor.all<T>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.exclusive(() => this.executor.run(sql, params));
  }

  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<{ result: T; version: number }> {
    return this.exclusive(() =>
      this.transaction("BEGIN IMMEDIATE", async (tx) => {
        const [row] = await tx.all<{ version: unknown }>(BUMP_VERSION);
        const result = await fn(tx);
        return { result, version: num(row?.version) };
      }),
    );
  }

  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusive(() => this.transaction("BEGIN", fn));
  }

  async ping(): Promise<boolean> {
    return (await this.all<{ one: number }>("SELECT 1 AS one"))[0]?.one === 1;
  }

  async close(): Promise<void> {
    await this.exclusive(async () => this.db.close());
  }
}
