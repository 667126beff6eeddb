/**
 * The embedded engine: one SQLite file (WAL) through one better-sqlite3
 * connection. Statements are synchronous but the behaviour awaits between
 * them, so every use of the connection holds a mutex: no other call's
 * statement can land inside an open transaction, and a summary's snapshot
 * sees no write of this process.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { migrateSqlite, openSqlite, type SqliteDatabase } from "../../../libs/db/sqlite.js";
import type { ConnectionStats, StorageEngine } from "../domain.js";
import { type Dialect, int, type Sql } from "../engine/dialect.js";
import { SqlStorageEngine } from "../engine/storage-engine.js";
import { migrations } from "./schema.js";
import { SqliteStatements } from "./statements.js";

export interface SqliteEngineOptions {
  periodSeconds: number;
  /** Page cache in MiB. */
  cacheMiB?: number;
}

/** How long a write waits for another connection's write lock (as the busy timeout of openSqlite). */
const BUSY_MS = 5000;

/** Runs one call at a time, in the order they came. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  /** Calls holding or waiting for the mutex. */
  entered = 0;

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.tail;
    let release = () => {};
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.entered++;
    try {
      await before;
      return await fn();
    } finally {
      this.entered--;
      release();
    }
  }
}

function isBusy(err: unknown): boolean {
  return ((err as { code?: unknown }).code as string | undefined)?.startsWith("SQLITE_BUSY") === true;
}

export class SqliteDialect implements Dialect {
  private readonly db: SqliteDatabase;
  private readonly sql: SqliteStatements;
  private readonly mutex = new Mutex();

  constructor(path: string, opts: SqliteEngineOptions) {
    this.db = openSqlite(path);
    this.db.pragma(`cache_size = -${(opts.cacheMiB ?? 64) * 1024}`);
    migrateSqlite(this.db, migrations, "storage_migrations");
    this.sql = new SqliteStatements(this.db);
  }

  write<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      await this.beginImmediate();
      return this.finish(fn);
    });
  }

  snapshot<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      // A read transaction: its snapshot is taken at the first read and
      // kept to the end, against the other processes on the file.
      this.sql.prepare("BEGIN").run();
      return this.finish(fn);
    });
  }

  read<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.mutex.run(() => fn(this.sql));
  }

  ping(): Promise<boolean> {
    return this.read(async (sql) => int((await sql.all<{ one: unknown }>("SELECT 1 AS one"))[0]?.one) === 1);
  }

  /** The one connection: in use while a call holds the mutex; the others wait. */
  connections(): ConnectionStats {
    const entered = this.mutex.entered;
    return { inUse: Math.min(1, entered), max: 1, waiting: Math.max(0, entered - 1) };
  }

  close(): Promise<void> {
    return this.mutex.run(async () => {
      this.db.close();
    });
  }

  /** COMMIT when fn resolves, ROLLBACK when it throws. */
  private async finish<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      const out = await fn(this.sql);
      this.sql.prepare("COMMIT").run();
      return out;
    } catch (err) {
      if (this.db.inTransaction) this.sql.prepare("ROLLBACK").run();
      throw err;
    }
  }

  /**
   * IMMEDIATE: the write lock is taken before the first read, so what the
   * checks read is still true when the transaction writes, even with
   * another process on the same file. While another connection holds the
   * lock, this one waits without blocking the event loop (SQLite's busy
   * timeout would block the thread, and so the holder too when it is
   * another connection of this process).
   */
  private async beginImmediate(): Promise<void> {
    const deadline = Date.now() + BUSY_MS;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      this.sql.prepare("PRAGMA busy_timeout = 0").get();
      try {
        this.sql.prepare("BEGIN IMMEDIATE").run();
        return;
      } catch (err) {
        if (!isBusy(err) || Date.now() >= deadline) throw err;
      } finally {
        this.sql.prepare(`PRAGMA busy_timeout = ${BUSY_MS}`).get();
      }
      await sleep(wait);
    }
  }
}

export function openSqliteEngine(path: string, opts: SqliteEngineOptions): StorageEngine {
  return new SqlStorageEngine(new SqliteDialect(path, opts), opts.periodSeconds);
}
