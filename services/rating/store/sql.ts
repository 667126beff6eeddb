/**
 * The rating service's database, whatever the engine: SQL with `?`
 * placeholders, run by SQLite or PostgreSQL, so that the repositories are
 * written once.
 *
 * Every change goes through `write`, which first bumps the version counter
 * (`rating_version`) in the same transaction. That single row does two
 * jobs: it serializes writers (the UPDATE takes the row lock, so two
 * replicas' checks-then-inserts cannot interleave), and it tells every
 * replica that its in-memory index is stale. A refused request throws, the
 * transaction rolls back, and neither the data nor the version moves.
 */

export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface SqlDatabase extends SqlExecutor {
  readonly engine: "sqlite" | "postgresql";
  /** A write transaction, after bumping the version; returns fn's result and the new version. */
  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<{ result: T; version: number }>;
  /** Several reads that see one consistent state. */
  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const BUMP_VERSION = "UPDATE rating_version SET version = version + 1 WHERE id = 1 RETURNING version";
export const READ_VERSION = "SELECT version FROM rating_version WHERE id = 1";

/** BIGINT columns come back as strings from PostgreSQL and as numbers from SQLite. */
export function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

export function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** A unique constraint refused the row (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown };
  return e.code === "23505" || e.code === "SQLITE_CONSTRAINT_UNIQUE" || e.code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
