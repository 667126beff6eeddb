/**
 * The rating database on PostgreSQL: many rating replicas share it.
 * Writers are serialized by the version row's lock (see sql.ts); reads of a
 * whole snapshot run in one REPEATABLE READ transaction so that the version
 * read matches the rows read.
 */
import { createPgPool, migratePostgres, type PgPool, withTransaction } from "../../../libs/db/postgres.js";
import { MIGRATIONS_TABLE, postgresMigrations } from "./schema.js";
import { BUMP_VERSION, num, type Row, type SqlDatabase, type SqlExecutor, type SqlValue } from "./sql.js";

const converted = new Map<string, string>();

/** `?` placeholders to `$1, $2, ...` (the repositories never put a `?` in a literal). */
function toPg(sql: string): string {
  let out = converted.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    converted.set(sql, out);
  }
  return out;
}

interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

function executor(q: Queryable): SqlExecutor {
  return {
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => (await q.query(toPg(sql), [...params])).rows as T[],
    run: async (sql: string, params: readonly SqlValue[] = []) => (await q.query(toPg(sql), [...params])).rowCount ?? 0,
  };
}

export class PostgresRatingDatabase implements SqlDatabase {
  readonly engine = "postgresql";
  private readonly direct: SqlExecutor;

  private constructor(private readonly pool: PgPool) {
    this.direct = executor(pool as unknown as Queryable);
  }

  static async open(url: string): Promise<PostgresRatingDatabase> {
    const pool = createPgPool(url, { applicationName: "ratemesh-rating", max: 8 });
    try {
      await migratePostgres(pool, postgresMigrations, MIGRATIONS_TABLE);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresRatingDatabase(pool);
  }

  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<{ result: T; version: number }> {
    return withTransaction(this.pool, async (client) => {
      const tx = executor(client as unknown as Queryable);
      const [row] = await tx.all<{ version: unknown }>(BUMP_VERSION);
      const result = await fn(tx);
      return { result, version: num(row?.version) };
    });
  }

  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, (client) => fn(executor(client as unknown as Queryable)), "REPEATABLE READ READ ONLY");
  }

  async ping(): Promise<boolean> {
    return (await this.all<{ one: number }>("SELECT 1 AS one"))[0]?.one === 1;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
