/**
 * PostgreSQL through pg: a pool per service, versioned forward-only
 * migrations applied at start under an advisory lock (replicas starting
 * together apply each migration once), and transactions that always end.
 */
import pg from "pg";
import { latestVersion, type Migration } from "./migration.js";

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

export interface PgPoolOptions {
  /** Connections at most. */
  max?: number;
  applicationName?: string;
}

// NUMERIC, BIGINT and TIMESTAMPTZ come back as strings: exact decimals and
// int64 must never go through a JS number. (pg's defaults already give
// strings for NUMERIC and INT8; dates are parsed by the code that reads them.)
export function createPgPool(url: string, opts: PgPoolOptions = {}): PgPool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? "ratemesh",
    // A dead server must not hang a call forever.
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that loses its connection emits here; without a
  // listener it would crash the process. The next query reconnects.
  pool.on("error", () => {});
  return pool;
}

/** Runs fn in a transaction: COMMIT when it resolves, ROLLBACK when it throws. */
export async function withTransaction<T>(pool: PgPool, fn: (client: PgClient) => Promise<T>, isolation = "READ COMMITTED"): Promise<T> {
  const client = await pool.connect();
  // A connection lost while the client is checked out (the server stopped
  // between two statements) is emitted as an event, which would crash the
  // process without a listener; the next query fails with it anyway.
  const lost = () => {};
  client.on("error", lost);
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.off("error", lost);
    client.release();
  }
}

/** A stable 64-bit key for pg_advisory_xact_lock from a name. */
function lockKey(name: string): string {
  let h = 1469598103934665603n;
  for (const c of Buffer.from(name)) h = ((h ^ BigInt(c)) * 1099511628211n) & 0xffffffffffffffffn;
  return BigInt.asIntN(64, h).toString();
}

/**
 * Applies the migrations newer than the database's version, each in its own
 * transaction with its version record. Returns the versions applied. A
 * database newer than the code is refused.
 */
export async function migratePostgres(pool: PgPool, migrations: readonly Migration[], table: string): Promise<number[]> {
  const latest = latestVersion(migrations);
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    const done = await withTransaction(pool, async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1)", [lockKey(table)]);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`,
      );
      const current = Number((await c.query(`SELECT COALESCE(MAX(version), 0) AS v FROM ${table}`)).rows[0].v);
      if (current > latest) {
        throw new Error(`database schema version ${current} (${table}) is newer than this program knows (${latest}): refusing to use it`);
      }
      if (m.version <= current) return false;
      await c.query(m.sql);
      await c.query(`INSERT INTO ${table} (version, name, applied_at) VALUES ($1, $2, now())`, [m.version, m.name]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}
