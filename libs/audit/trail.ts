/**
 * An audit trail: who changed what, through which method, when. It lives
 * in the service's own database (SQLite file or PostgreSQL), in a table of
 * its own with its own migration record, over a connection of its own, so
 * that it knows nothing of the service's tables. The server wrapper
 * records an event once an audited method succeeded (libs/grpc/server.ts);
 * AuditService reads them back (api.ts).
 */
import { createPgPool, migratePostgres, type PgPool } from "../db/postgres.js";
import { migrateSqlite, openSqlite, type SqliteDatabase } from "../db/sqlite.js";

export interface AuditEventInput {
  at: Date;
  actor: string;
  project: string | undefined;
  method: string;
  target: string;
}

export interface AuditEventRecord extends AuditEventInput {
  seq: number;
}

export interface AuditQuery {
  method: string;
  actor: string;
  limit: number;
  /** Events older than this seq (the page token). */
  before: number | undefined;
}

/** Where the server wrapper records the events of audited methods. */
export interface AuditSink {
  record(e: AuditEventInput): Promise<void>;
}

function ddl(engine: "sqlite" | "postgresql", table: string): string {
  const seq = engine === "sqlite" ? "seq INTEGER PRIMARY KEY AUTOINCREMENT" : "seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";
  const ms = engine === "sqlite" ? "INTEGER" : "BIGINT";
  return `CREATE TABLE ${table} (
    ${seq},
    at_ms ${ms} NOT NULL,
    actor TEXT NOT NULL,
    project TEXT,
    method TEXT NOT NULL,
    target TEXT NOT NULL
  )`;
}

interface Row {
  seq: number | string;
  at_ms: number | string;
  actor: string;
  project: string | null;
  method: string;
  target: string;
}

function toRecord(r: Row): AuditEventRecord {
  return {
    seq: Number(r.seq),
    at: new Date(Number(r.at_ms)),
    actor: r.actor,
    project: r.project ?? undefined,
    method: r.method,
    target: r.target,
  };
}

export class AuditTrail implements AuditSink {
  private constructor(
    private readonly table: string,
    private readonly sqlite: SqliteDatabase | undefined,
    private readonly pg: PgPool | undefined,
  ) {}

  /** Opens the trail in `table` of the database at `url` (its schema created or brought up to date). */
  static async open(o: { backend: "sqlite" | "postgresql"; url: string; table: string }): Promise<AuditTrail> {
    const migrations = [{ version: 1, name: "audit events", sql: ddl(o.backend, o.table) }];
    if (o.backend === "postgresql") {
      const pool = createPgPool(o.url, { max: 2, applicationName: `ratemesh-${o.table}` });
      await migratePostgres(pool, migrations, `${o.table}_migrations`);
      return new AuditTrail(o.table, undefined, pool);
    }
    const db = openSqlite(o.url);
    migrateSqlite(db, migrations, `${o.table}_migrations`);
    return new AuditTrail(o.table, db, undefined);
  }

  async record(e: AuditEventInput): Promise<void> {
    const params = [e.at.getTime(), e.actor, e.project ?? null, e.method, e.target];
    const sql = `INSERT INTO ${this.table} (at_ms, actor, project, method, target) VALUES `;
    if (this.sqlite !== undefined) this.sqlite.prepare(`${sql}(?, ?, ?, ?, ?)`).run(...params);
    else await this.pg?.query(`${sql}($1, $2, $3, $4, $5)`, params);
  }

  async list(q: AuditQuery): Promise<AuditEventRecord[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    const p = (v: string | number) => {
      params.push(v);
      return this.sqlite !== undefined ? "?" : `$${params.length}`;
    };
    if (q.method !== "") where.push(`method = ${p(q.method)}`);
    if (q.actor !== "") where.push(`actor = ${p(q.actor)}`);
    if (q.before !== undefined) where.push(`seq < ${p(q.before)}`);
    const sql = `SELECT * FROM ${this.table}${where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`} ORDER BY seq DESC LIMIT ${p(q.limit)}`;
    const rows =
      this.sqlite !== undefined ? (this.sqlite.prepare(sql).all(...params) as Row[]) : ((await this.pg?.query(sql, params))?.rows as Row[]);
    return rows.map(toRecord);
  }

  async close(): Promise<void> {
    this.sqlite?.close();
    await this.pg?.end();
  }
}
