/**
 * The PostgreSQL engine (pg). Many storage replicas may share one
 * database: every write transaction locks the rows it decides on
 * (SELECT ... FOR UPDATE: the scopes in scope_id order, then tasks), so
 * its checks still hold when it commits. Summaries read one snapshot
 * (REPEATABLE READ), so a day rolled up meanwhile is never counted twice.
 */
import { createPgPool, migratePostgres, type PgPool, withTransaction } from "../../../libs/db/postgres.js";
import type { ConnectionStats, StorageEngine } from "../domain.js";
import type { Dialect, Sql } from "../engine/dialect.js";
import { SqlStorageEngine } from "../engine/storage-engine.js";
import { migrations } from "./schema.js";
import { PgStatements } from "./statements.js";

export interface PostgresEngineOptions {
  periodSeconds: number;
  poolSize?: number;
}

export class PostgresDialect implements Dialect {
  private readonly numbered = new Map<string, string>();

  private constructor(
    private readonly pool: PgPool,
    private readonly poolSize: number,
  ) {}

  static async open(url: string, poolSize: number): Promise<PostgresDialect> {
    const pool = createPgPool(url, { max: poolSize, applicationName: "ratemesh-storage" });
    try {
      await migratePostgres(pool, migrations, "storage_migrations");
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresDialect(pool, poolSize);
  }

  write<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, (c) => fn(new PgStatements(c, this.numbered, c)));
  }

  snapshot<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return withTransaction(
      this.pool,
      async (c) => {
        // Snapshots are for summaries: enough memory to group a month of
        // day rollups in a hash table, not on disk (the default 4 MB sorts
        // on disk); for this transaction only.
        await c.query("SET LOCAL work_mem = '32MB'");
        return fn(new PgStatements(c, this.numbered, undefined));
      },
      "REPEATABLE READ READ ONLY",
    );
  }

  read<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return fn(new PgStatements(this.pool, this.numbered, undefined));
  }

  async ping(): Promise<boolean> {
    return (await this.pool.query("SELECT 1 AS one")).rows[0]?.one === 1;
  }

  connections(): ConnectionStats {
    return { inUse: this.pool.totalCount - this.pool.idleCount, max: this.poolSize, waiting: this.pool.waitingCount };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

export async function openPostgresEngine(url: string, opts: PostgresEngineOptions): Promise<StorageEngine> {
  return new SqlStorageEngine(await PostgresDialect.open(url, opts.poolSize ?? 10), opts.periodSeconds);
}
