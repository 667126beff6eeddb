/**
 * SQLite through better-sqlite3: WAL journal, foreign keys on, and
 * versioned forward-only migrations applied at start, each in its own
 * transaction together with its version record.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { latestVersion, type Migration } from "./migration.js";

export type SqliteDatabase = Database.Database;

export type { Migration } from "./migration.js";

export function openSqlite(path: string): SqliteDatabase {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  return db;
}

/**
 * Applies the migrations newer than the database's version, in order. The
 * version is kept in `table`, one per owner, so that two services can share
 * a database file.
 * Returns the versions applied. A database newer than the code is refused
 * rather than used half-understood.
 */
export function migrateSqlite(db: SqliteDatabase, migrations: readonly Migration[], table: string): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const current = (db.prepare(`SELECT COALESCE(MAX(version), 0) AS v FROM ${table}`).get() as { v: number }).v;
  const latest = latestVersion(migrations);
  if (current > latest) {
    throw new Error(`database schema version ${current} is newer than this program knows (${latest}): refusing to use it`);
  }
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare(`INSERT INTO ${table} (version, name, applied_at) VALUES (?, ?, ?)`).run(m.version, m.name, new Date().toISOString());
    })();
    applied.push(m.version);
  }
  return applied;
}
