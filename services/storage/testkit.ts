/**
 * What the storage tests and benchmarks share: one way to open each engine
 * on a fresh database, and builders of CommitPeriod requests that go
 * through the same validation as the gRPC handler.
 */
import { join } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import pg from "pg";
import { AuditServiceService } from "../../libs/gen/ratemesh/v1/audit.js";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import {
  type AddDataFramesRequest,
  type CommitPeriodRequest,
  ReprocessServiceService,
  ScopeServiceService,
  StorageServiceService,
} from "../../libs/gen/ratemesh/v1/storage.js";
import { connect, startService, tempDir, writeConfig } from "../../test/support/mesh.js";
import { createTestDatabase } from "../../test/support/postgres.js";
import { addFramesInputFrom, commitInputFrom } from "./api/requests.js";
import type { AddFramesInput, CommitInput, StorageEngine } from "./domain.js";
import { openPostgresEngine } from "./postgres/dialect.js";
import { openSqliteEngine } from "./sqlite/dialect.js";

export const PERIOD = 3600;
export const T0 = new Date("2026-03-01T00:00:00Z");

/** The begin of period n after T0. */
export function at(n: number, period = PERIOD): Date {
  return new Date(T0.getTime() + n * period * 1000);
}

export interface OpenedEngine {
  engine: StorageEngine;
  /** Another engine on the same database (as a restart would open it). */
  reopen: () => Promise<StorageEngine>;
  /** Runs SQL on the database directly, to look at what the engine wrote. */
  sql: (text: string) => Promise<Array<Record<string, unknown>>>;
}

export interface EngineCase {
  name: "sqlite" | "postgresql";
  /** A fresh engine on its own database, closed (and the database dropped) after the test. */
  open(t: TestContext, periodSeconds?: number): Promise<OpenedEngine>;
}

export const sqliteCase: EngineCase = {
  name: "sqlite",
  async open(t, periodSeconds = PERIOD) {
    const file = join(tempDir(t), "storage.sqlite");
    const opened: StorageEngine[] = [];
    const open = async () => {
      const e = openSqliteEngine(file, { periodSeconds });
      opened.push(e);
      return e;
    };
    const engine = await open();
    const raw = new Database(file);
    t.after(async () => {
      raw.close();
      for (const e of opened) await e.close().catch(() => {});
    });
    const sql = async (text: string) => {
      const statement = raw.prepare(text);
      if (statement.reader) return statement.all() as Array<Record<string, unknown>>;
      statement.run();
      return [];
    };
    return { engine, reopen: open, sql };
  },
};

export function point(
  type: string,
  qty: string,
  price: string,
  groupby: Record<string, string> = {},
  metadata: Record<string, string> = {},
): DataPoint {
  return { type, unit: "u", qty, price, groupby, metadata };
}

export interface CommitOptions {
  expected?: Date | null;
  token?: number | bigint;
  epoch?: number | bigint;
  taskId?: string;
  owner?: string;
  period?: number;
  /** Points of the frame no rule priced. */
  unpriced?: number;
}

/** A CommitPeriod request for period n of scope (expected state: its begin, unless n = 0 or given). */
export function commitRequest(scopeId: string, n: number, points: DataPoint[], o: CommitOptions = {}): CommitPeriodRequest {
  const period = o.period ?? PERIOD;
  const begin = at(n, period);
  const expected = o.expected === undefined ? begin : o.expected === null ? undefined : o.expected;
  return {
    frame: { scopeId, begin, end: at(n + 1, period), points },
    expectedState: expected,
    fencingToken: String(o.token ?? 1),
    fencingEpoch: String(o.epoch ?? 0),
    owner: o.owner ?? "test",
    reprocessTaskId: o.taskId ?? "",
    scopeKey: "project_id",
    fetcher: "source",
    collector: "file",
    unpricedPoints: String(o.unpriced ?? 0),
  };
}

export function commitInput(scopeId: string, n: number, points: DataPoint[], o: CommitOptions = {}): CommitInput {
  return commitInputFrom(commitRequest(scopeId, n, points, o), o.period ?? PERIOD);
}

/** An AddDataFrames request: for each [scope, n, points], the points of period n after T0. */
export function addRequest(frames: Array<[string, number, DataPoint[]]>, idempotencyKey = ""): AddDataFramesRequest {
  return {
    frames: frames.map(([scopeId, n, points]) => ({ scopeId, begin: at(n), end: at(n + 1), points })),
    idempotencyKey,
    scopeKey: "project_id",
    fetcher: "",
    collector: "",
  };
}

export function addInput(frames: Array<[string, number, DataPoint[]]>, idempotencyKey = ""): AddFramesInput {
  return addFramesInputFrom(addRequest(frames, idempotencyKey), PERIOD);
}

export const postgresCase: EngineCase = {
  name: "postgresql",
  async open(t, periodSeconds = PERIOD) {
    const url = await createTestDatabase(t);
    const opened: StorageEngine[] = [];
    const open = async () => {
      const e = await openPostgresEngine(url, { periodSeconds, poolSize: 4 });
      opened.push(e);
      return e;
    };
    const engine = await open();
    const raw = new pg.Client({ connectionString: url });
    raw.on("error", () => {});
    await raw.connect();
    t.after(async () => {
      await raw.end();
      for (const e of opened) await e.close().catch(() => {});
    });
    return { engine, reopen: open, sql: async (text) => (await raw.query(text)).rows as Array<Record<string, unknown>> };
  },
};

export type Backend = "sqlite" | "postgresql";

/** A storage process on a free port over its own SQLite file or PostgreSQL database, with a client of each of its services. */
export async function startStorage(t: TestContext, backend: Backend) {
  const dir = tempDir(t);
  const url = backend === "sqlite" ? join(dir, "storage.sqlite") : await createTestDatabase(t);
  const configFile = writeConfig(dir, {
    storage: { backend, url, listen: "127.0.0.1:0", pool_size: 3 },
    collect: { period: PERIOD },
    server: { grace_period: "2s", readiness_interval: "0.2s" },
  });
  const proc = await startService(t, { service: "storage", configFile });
  const conn = connect(t, proc.address);
  return {
    proc,
    configFile,
    url,
    storage: conn.client(StorageServiceService),
    scopes: conn.client(ScopeServiceService),
    reprocess: conn.client(ReprocessServiceService),
    audit: conn.client(AuditServiceService),
  };
}

/** A moment strictly between two writes (times are recorded to the millisecond). */
export async function instant(): Promise<Date> {
  await sleep(5);
  const t = new Date();
  await sleep(5);
  return t;
}
