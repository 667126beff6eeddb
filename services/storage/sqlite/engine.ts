/**
 * The embedded storage engine: one SQLite file (WAL). Every write is one
 * synchronous better-sqlite3 transaction, so nothing else runs in this
 * process while it is open, and the transaction is all-or-nothing on disk.
 */
import { randomUUID } from "node:crypto";
import type { Statement } from "better-sqlite3";
import { migrateSqlite, openSqlite, type SqliteDatabase } from "../../../libs/db/sqlite.js";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../../../libs/errors/errors.js";
import { Decimal } from "../../../libs/money/decimal.js";
import { epochSeconds, fromEpochSeconds } from "../../../libs/time/period.js";
import type {
  CommitInput,
  CommitResult,
  CreateScopeInput,
  CreateTasksInput,
  PeriodPoint,
  PointPage,
  PointQuery,
  ResetInput,
  ScopeErrorInput,
  ScopeQuery,
  ScopeRecord,
  StorageEngine,
  SummaryQuery,
  SummaryRow,
  TaskQuery,
  TaskRecord,
  UpdateScopeInput,
} from "../domain.js";
import { decimalOfSums, type Parts, PartsSum, parseParts, partsOfDecimal, trimmed } from "../exact.js";
import { canonicalJson, type FramePattern, FramePatterns, FrameTotals, keysByType, Learnt, RefCache, sameMap } from "../frame.js";
import {
  type CommitRequest,
  checkNoOverlap,
  checkReset,
  checkTaskScope,
  clipTask,
  decideCommit,
  decideReprocessCommit,
  type FrameState,
  type ScopeState,
  type TaskState,
} from "../rules.js";
import { type AggregateRequest, type AggregateRow, DAY, intersect, rollupProblem, type SummaryBackend, summarize } from "../summary.js";
import { migrations } from "./schema.js";

export interface SqliteEngineOptions {
  periodSeconds: number;
  /** Page cache in MiB. */
  cacheMiB?: number;
}

interface ScopeRow {
  ref: number;
  scope_id: string;
  state: number | null;
  active: number;
  scope_key: string;
  fetcher: string;
  collector: string;
  fencing_token: string;
  last_error: string | null;
  last_error_at: number | null;
  active_toggled_at: number | null;
  created_at: number;
}

interface TaskRow {
  task_id: string;
  scope_ref: number;
  scope_id: string;
  begin: number;
  end: number;
  progress: number;
  reason: string;
  created_at: number;
  finished_at: number | null;
}

/** A row's exact value columns, read with safe integers. */
interface ExactRow {
  qty_i: bigint;
  qty_f1: bigint;
  qty_f2: bigint;
  qty_x: string | null;
  price_i: bigint;
  price_f1: bigint;
  price_f2: bigint;
  price_x: string | null;
}

const EXACT_COLUMNS = "qty_i, qty_f1, qty_f2, qty_x, price_i, price_f1, price_f2, price_x";
const INSERT_POINTS = `INSERT INTO points (scope_ref, begin, seq, type_ref, groupset_ref, unit, ${EXACT_COLUMNS}, metadata) VALUES`;
const POINT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const POINT_COLUMNS = 15;
const INSERT_BATCH = 32;

function exactValue(i: bigint | number, f1: bigint | number, f2: bigint | number, x: string | null): Decimal {
  const v = decimalOfSums(i, f1, f2);
  return x === null ? v : v.add(Decimal.parse(x));
}

function exactParams(p: Parts): Array<number | bigint | string | null> {
  return [p.i, p.f1, p.f2, p.x];
}

function toScope(r: ScopeRow): ScopeRecord {
  return {
    scopeId: r.scope_id,
    state: r.state === null ? undefined : fromEpochSeconds(r.state),
    active: r.active === 1,
    scopeKey: r.scope_key,
    fetcher: r.fetcher,
    collector: r.collector,
    lastError: r.last_error ?? undefined,
    lastErrorAt: r.last_error_at === null ? undefined : fromEpochSeconds(r.last_error_at),
    activeToggledAt: r.active_toggled_at === null ? undefined : fromEpochSeconds(r.active_toggled_at),
    fencingToken: BigInt(r.fencing_token),
    createdAt: fromEpochSeconds(r.created_at),
  };
}

function scopeState(r: ScopeRow | undefined): ScopeState | undefined {
  return r === undefined ? undefined : { state: r.state, active: r.active === 1, fencingToken: BigInt(r.fencing_token) };
}

function isOverflow(err: unknown): boolean {
  return err instanceof Error && /integer overflow/.test(err.message);
}

const json = (v: unknown) => JSON.stringify(v);

export class SqliteEngine implements StorageEngine, SummaryBackend {
  private readonly db: SqliteDatabase;
  private readonly period: number;
  private readonly groupsets = new RefCache<string, number>(250_000);
  private readonly patterns = new FramePatterns(500_000);
  private readonly types = new RefCache<string, number>(10_000);
  private readonly catalog = new RefCache<string, true>(100_000);

  constructor(path: string, opts: SqliteEngineOptions) {
    this.period = opts.periodSeconds;
    this.db = openSqlite(path);
    this.db.pragma(`cache_size = -${(opts.cacheMiB ?? 64) * 1024}`);
    migrateSqlite(this.db, migrations, "storage_migrations");
  }

  private readonly statements = new Map<string, Statement<unknown[]>>();

  /** Prepared once per SQL text: preparing costs more than running a small statement. */
  private st(sql: string, safeIntegers = false): Statement<unknown[]> {
    const key = safeIntegers ? `1${sql}` : `0${sql}`;
    let s = this.statements.get(key);
    if (s === undefined) {
      s = this.db.prepare(sql);
      if (safeIntegers) s.safeIntegers(true);
      this.statements.set(key, s);
    }
    return s;
  }

  async ping(): Promise<boolean> {
    return (this.st("SELECT 1 AS one").get() as { one: number }).one === 1;
  }

  private scopeRow(scopeId: string): ScopeRow | undefined {
    return this.st("SELECT * FROM scopes WHERE scope_id = ?").get(scopeId) as ScopeRow | undefined;
  }

  private reading = 0;

  private transaction<T>(fn: (learnt: Learnt) => T): T {
    if (this.reading > 0) throw new Error("a write started while a summary snapshot is open");
    const learnt = new Learnt();
    // IMMEDIATE: the write lock is taken before the first read, so what the
    // checks read is still true when the transaction writes, even with
    // another process on the same file.
    const out = this.db.transaction(() => fn(learnt)).immediate();
    this.groupsets.learn(learnt.groupsets);
    this.types.learn(learnt.types);
    this.catalog.learn(learnt.catalog);
    return out;
  }

  /**
   * Invariant: the points of a (scope, period) are written only by the
   * transaction that moves the scope's state from the period's begin to its
   * end (or a reprocess task's progress likewise), and replace whatever the
   * period held; the rollups of the period are rewritten in the same
   * transaction. SQLite applies all of it or none of it, so each partial
   * failure leaves the database as it was:
   *  - a stale fencing token, a state or progress that moved, an inactive
   *    scope, a finished task: refused before anything is written;
   *  - the same commit again after a lost reply (same digest and token,
   *    state already at its end): answered as replayed, nothing written;
   *  - a crash or an error anywhere after the checks: the transaction rolls
   *    back, the state has not moved, and the committer retries the period.
   */
  async commitPeriod(input: CommitInput): Promise<CommitResult> {
    const begin = epochSeconds(input.begin);
    const end = epochSeconds(input.end);
    const req: CommitRequest = {
      scopeId: input.scopeId,
      begin,
      end,
      expected: input.expectedState === undefined ? null : epochSeconds(input.expectedState),
      fencingToken: input.fencingToken,
      digest: input.digest,
      taskId: input.reprocessTaskId,
    };
    const catalog = keysByType(input.points);
    const now = Math.floor(Date.now() / 1000);
    let seen: { scopeRef: number; pattern: FramePattern } | undefined;
    const result = this.transaction((learnt): CommitResult => {
      const scope = this.scopeRow(input.scopeId);
      const frameRow =
        scope === undefined
          ? undefined
          : (this.st("SELECT fencing_token, digest, task_id FROM frames WHERE scope_ref = ? AND begin = ?").get(scope.ref, begin) as
              | { fencing_token: string; digest: string; task_id: string | null }
              | undefined);
      const frame: FrameState | undefined =
        frameRow === undefined
          ? undefined
          : { fencingToken: BigInt(frameRow.fencing_token), digest: frameRow.digest, taskId: frameRow.task_id };
      let task: TaskState | undefined;
      if (req.taskId !== undefined) {
        const row = this.st("SELECT t.*, s.scope_id FROM reprocess_tasks t JOIN scopes s ON s.ref = t.scope_ref WHERE t.task_id = ?").get(
          req.taskId,
        ) as TaskRow | undefined;
        task =
          row === undefined
            ? undefined
            : {
                taskId: row.task_id,
                scopeId: row.scope_id,
                begin: row.begin,
                end: row.end,
                progress: row.progress,
                finished: row.finished_at !== null,
              };
        if (decideReprocessCommit(req, scopeState(scope), task, frame) === "replay") {
          return { state: input.end, replayed: true, pointsWritten: 0 };
        }
      } else if (decideCommit(req, scopeState(scope), frame) === "replay") {
        return { state: input.end, replayed: true, pointsWritten: 0 };
      }

      let scopeRef: number;
      if (scope === undefined) {
        scopeRef = Number(
          this.st("INSERT INTO scopes (scope_id, state, scope_key, fetcher, collector, created_at) VALUES (?, NULL, ?, ?, ?, ?)").run(
            input.scopeId,
            input.scopeKey,
            input.fetcher,
            input.collector,
            now,
          ).lastInsertRowid,
        );
      } else {
        scopeRef = scope.ref;
      }
      const day = begin - (begin % DAY);
      // Any write into a day invalidates that day's groupby rollup: drop it
      // now (queries read the points meanwhile) and rebuild it when the day
      // is complete again, so it never differs from the points.
      if (this.st("DELETE FROM rolled_days WHERE scope_ref = ? AND day = ?").run(scopeRef, day).changes > 0) {
        this.st("DELETE FROM sums_day_groupset WHERE scope_ref = ? AND day = ?").run(scopeRef, day);
        // sums_day_key is clustered by key first: one seek per key.
        this.st("DELETE FROM sums_day_key WHERE key IN (SELECT DISTINCT key FROM groupby_keys) AND scope_ref = ? AND day = ?").run(
          scopeRef,
          day,
        );
      }
      // The period's previous rating (after a reset, or for reprocessing) is
      // replaced, never added to: its totals leave sums_day with it.
      const old = this.st(`SELECT type_ref, points, ${EXACT_COLUMNS} FROM sums_period WHERE scope_ref = ? AND begin = ?`, true).all(
        scopeRef,
        begin,
      ) as Array<ExactRow & { type_ref: bigint; points: bigint }>;
      if (frame !== undefined || old.length > 0) {
        this.st("DELETE FROM points WHERE scope_ref = ? AND begin = ?").run(scopeRef, begin);
        this.st("DELETE FROM sums_period WHERE scope_ref = ? AND begin = ?").run(scopeRef, begin);
      }

      const typeRefs = new Map<string, number>();
      for (const [type, keys] of catalog) {
        const ref = this.typeRef(type, learnt);
        typeRefs.set(type, ref);
        for (const key of keys) this.catalogKey(ref, key, learnt);
      }
      // Rows go in batches of INSERT_BATCH per statement: one call into
      // SQLite per batch instead of per row, about twice as fast.
      const batch = this.st(`${INSERT_POINTS} ${Array(INSERT_BATCH).fill(POINT_ROW).join(", ")}`);
      const args: unknown[] = new Array(POINT_COLUMNS * INSERT_BATCH);
      let k = 0;
      const totals = new FrameTotals();
      const q: Parts = { i: 0, f1: 0, f2: 0, x: null };
      const pr: Parts = { i: 0, f1: 0, f2: 0, x: null };
      let lastType = "";
      let typeRef = 0;
      const pattern = this.patterns.get(scopeRef);
      const maps: Array<Record<string, string>> = new Array(input.points.length);
      const refs = new Int32Array(input.points.length);
      seen = { scopeRef, pattern: { maps, refs } };
      for (let n = 0; n < input.points.length; n++) {
        const p = input.points[n];
        if (p === undefined) continue;
        if (p.type !== lastType) {
          lastType = p.type;
          typeRef = typeRefs.get(p.type) ?? 0;
        }
        parseParts(p.qty, q);
        parseParts(p.price, pr);
        totals.add(p.type, q, pr);
        args[k] = scopeRef;
        args[k + 1] = begin;
        args[k + 2] = n;
        args[k + 3] = typeRef;
        const last = pattern?.maps[n];
        const groupset =
          last !== undefined && sameMap(last, p.groupby)
            ? (pattern?.refs[n] as number)
            : this.groupsetRef(JSON.stringify(p.groupby), p.groupby, learnt);
        maps[n] = p.groupby;
        refs[n] = groupset;
        args[k + 4] = groupset;
        args[k + 5] = p.unit;
        args[k + 6] = q.i;
        args[k + 7] = q.f1;
        args[k + 8] = q.f2;
        args[k + 9] = q.x;
        args[k + 10] = pr.i;
        args[k + 11] = pr.f1;
        args[k + 12] = pr.f2;
        args[k + 13] = pr.x;
        args[k + 14] = p.metadataJson === "" ? null : p.metadataJson;
        k += POINT_COLUMNS;
        if (k === args.length) {
          batch.run(args);
          k = 0;
        }
      }
      const one = this.st(`${INSERT_POINTS} ${POINT_ROW}`);
      for (let j = 0; j < k; j += POINT_COLUMNS) one.run(args.slice(j, j + POINT_COLUMNS));

      const delta = new Map<number, { count: number; qty: Decimal; price: Decimal }>();
      for (const o of old) {
        delta.set(Number(o.type_ref), {
          count: -Number(o.points),
          qty: exactValue(o.qty_i, o.qty_f1, o.qty_f2, o.qty_x).neg(),
          price: exactValue(o.price_i, o.price_f1, o.price_f2, o.price_x).neg(),
        });
      }
      const insertSum = this.st(
        `INSERT INTO sums_period (scope_ref, begin, type_ref, points, ${EXACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const [type, t] of totals.byType) {
        const ref = typeRefs.get(type) ?? 0;
        const qty = t.qty.value();
        const price = t.price.value();
        insertSum.run(scopeRef, begin, ref, t.count, ...exactParams(partsOfDecimal(qty)), ...exactParams(partsOfDecimal(price)));
        const d = delta.get(ref);
        if (d === undefined) delta.set(ref, { count: t.count, qty, price });
        else delta.set(ref, { count: d.count + t.count, qty: d.qty.add(qty), price: d.price.add(price) });
      }
      this.applyDayDelta(scopeRef, day, delta);

      this.st(
        `INSERT INTO frames (scope_ref, begin, end, fencing_token, owner, digest, task_id, points, committed_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (scope_ref, begin) DO UPDATE SET end = excluded.end, fencing_token = excluded.fencing_token,
             owner = excluded.owner, digest = excluded.digest, task_id = excluded.task_id, points = excluded.points,
             committed_at = excluded.committed_at`,
      ).run(scopeRef, begin, end, input.fencingToken.toString(), input.owner, input.digest, req.taskId ?? null, input.points.length, now);

      let finishesTask = false;
      if (task !== undefined) {
        finishesTask = end >= task.end;
        this.st("UPDATE reprocess_tasks SET progress = ?, finished_at = ? WHERE task_id = ?").run(
          end,
          finishesTask ? Date.now() : null,
          task.taskId,
        );
        this.st("UPDATE scopes SET fencing_token = ? WHERE ref = ?").run(input.fencingToken.toString(), scopeRef);
      } else {
        this.st("UPDATE scopes SET state = ?, fencing_token = ?, last_error = NULL, last_error_at = NULL WHERE ref = ?").run(
          end,
          input.fencingToken.toString(),
          scopeRef,
        );
      }
      // The day is complete when its last period is written; a reprocess
      // task that stops inside a day completes that day too.
      if (end - day === DAY || finishesTask) this.rollDay(scopeRef, day);
      return { state: input.end, replayed: false, pointsWritten: input.points.length };
    });
    if (seen !== undefined) this.patterns.set(seen.scopeRef, seen.pattern);
    return result;
  }

  private typeRef(name: string, learnt: Learnt): number {
    const cached = this.types.get(name, learnt.types);
    if (cached !== undefined) return cached;
    this.st("INSERT OR IGNORE INTO types (name) VALUES (?)").run(name);
    const ref = (this.st("SELECT ref FROM types WHERE name = ?").get(name) as { ref: number }).ref;
    learnt.types.set(name, ref);
    return ref;
  }

  private catalogKey(typeRef: number, key: string, learnt: Learnt): void {
    const k = `${typeRef}\u0000${key}`;
    if (this.catalog.get(k, learnt.catalog) !== undefined) return;
    this.st("INSERT OR IGNORE INTO groupby_keys (type_ref, key) VALUES (?, ?)").run(typeRef, key);
    learnt.catalog.set(k, true);
  }

  private groupsetRef(receivedJson: string, map: Record<string, string>, learnt: Learnt): number {
    const cached = this.groupsets.get(receivedJson, learnt.groupsets);
    if (cached !== undefined) return cached;
    const canon = canonicalJson(map);
    let row = this.st("SELECT ref FROM groupsets WHERE canon = ?").get(canon) as { ref: number } | undefined;
    if (row === undefined) {
      const ref = Number(this.st("INSERT INTO groupsets (canon) VALUES (?)").run(canon).lastInsertRowid);
      const value = this.st("INSERT INTO groupset_values (groupset_ref, key, value) VALUES (?, ?, ?)");
      for (const [k, v] of Object.entries(map)) value.run(ref, k, v);
      row = { ref };
    }
    learnt.groupsets.set(receivedJson, row.ref);
    return row.ref;
  }

  /** Adds a commit's net change per type to sums_day (exact, in BigInt); a row left with no point goes. */
  private applyDayDelta(scopeRef: number, day: number, delta: Map<number, { count: number; qty: Decimal; price: Decimal }>): void {
    const read = this.st(`SELECT points, ${EXACT_COLUMNS} FROM sums_day WHERE scope_ref = ? AND day = ? AND type_ref = ?`, true);
    const upsert = this.st(
      `INSERT INTO sums_day (scope_ref, day, type_ref, points, ${EXACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope_ref, day, type_ref) DO UPDATE SET points = excluded.points,
         qty_i = excluded.qty_i, qty_f1 = excluded.qty_f1, qty_f2 = excluded.qty_f2, qty_x = excluded.qty_x,
         price_i = excluded.price_i, price_f1 = excluded.price_f1, price_f2 = excluded.price_f2, price_x = excluded.price_x`,
    );
    for (const [typeRef, d] of delta) {
      if (d.count === 0 && d.qty.isZero() && d.price.isZero()) continue;
      const row = read.get(scopeRef, day, typeRef) as (ExactRow & { points: bigint }) | undefined;
      const count = (row === undefined ? 0 : Number(row.points)) + d.count;
      if (count === 0) {
        this.st("DELETE FROM sums_day WHERE scope_ref = ? AND day = ? AND type_ref = ?").run(scopeRef, day, typeRef);
        continue;
      }
      const qty = row === undefined ? d.qty : exactValue(row.qty_i, row.qty_f1, row.qty_f2, row.qty_x).add(d.qty);
      const price = row === undefined ? d.price : exactValue(row.price_i, row.price_f1, row.price_f2, row.price_x).add(d.price);
      upsert.run(scopeRef, day, typeRef, count, ...exactParams(partsOfDecimal(qty)), ...exactParams(partsOfDecimal(price)));
    }
  }

  /** Builds the groupby rollups of a complete (scope, day) from its points, and marks it rolled. */
  private rollDay(scopeRef: number, day: number): void {
    this.rollUp(
      "sums_day_groupset",
      ["scope_ref", "day", "type_ref", "groupset_ref"],
      ["s.scope_ref", "s.begin - s.begin % 86400", "s.type_ref", "s.groupset_ref"],
      "points s",
      "s.scope_ref = ? AND s.begin >= ? AND s.begin < ?",
      [scopeRef, day, day + DAY],
      "1",
    );
    this.rollUp(
      "sums_day_key",
      ["key", "scope_ref", "day", "type_ref", "value"],
      ["v.key", "s.scope_ref", "s.day", "s.type_ref", "v.value"],
      "sums_day_groupset s JOIN groupset_values v ON v.groupset_ref = s.groupset_ref",
      "s.scope_ref = ? AND s.day = ?",
      [scopeRef, day],
      "s.points",
    );
    this.st("INSERT INTO rolled_days (scope_ref, day) VALUES (?, ?)").run(scopeRef, day);
  }

  /**
   * INSERT INTO table the exact sums of the rows of `from` grouped by
   * `exprs`: in SQL when the integer parts suffice, else in BigInt (values
   * kept as text, or a sum beyond int64).
   */
  private rollUp(table: string, columns: string[], exprs: string[], from: string, where: string, args: unknown[], count: string): void {
    const into = `INSERT INTO ${table} (${columns.join(", ")}, points, ${EXACT_COLUMNS})`;
    const texts = this.st(
      `SELECT EXISTS (SELECT 1 FROM ${from} WHERE ${where} AND (s.qty_x IS NOT NULL OR s.price_x IS NOT NULL)) AS x`,
    ).get(...args) as { x: number };
    if (texts.x === 0) {
      try {
        this.st(
          `${into} SELECT ${exprs.join(", ")}, SUM(${count}), SUM(s.qty_i), SUM(s.qty_f1), SUM(s.qty_f2), NULL,
             SUM(s.price_i), SUM(s.price_f1), SUM(s.price_f2), NULL
           FROM ${from} WHERE ${where} GROUP BY ${exprs.join(", ")}`,
        ).run(...args);
        return;
      } catch (err) {
        if (!isOverflow(err)) throw err;
      }
    }
    const groups = new Map<string, { key: unknown[]; count: number; qty: PartsSum; price: PartsSum }>();
    const rows = this.st(
      `SELECT ${exprs.map((e, n) => `${e} AS g${n}`).join(", ")}, ${count} AS n, ${EXACT_COLUMNS.split(", ")
        .map((c) => `s.${c}`)
        .join(", ")} FROM ${from} WHERE ${where}`,
      true,
    ).iterate(...args) as Iterable<ExactRow & Record<string, unknown>>;
    for (const r of rows) {
      const key = exprs.map((_, n) => r[`g${n}`]);
      const id = key.join("\u0000");
      let g = groups.get(id);
      if (g === undefined) {
        g = { key, count: 0, qty: new PartsSum(), price: new PartsSum() };
        groups.set(id, g);
      }
      g.count += Number(r.n);
      g.qty.add({ i: r.qty_i, f1: Number(r.qty_f1), f2: Number(r.qty_f2), x: r.qty_x });
      g.price.add({ i: r.price_i, f1: Number(r.price_f1), f2: Number(r.price_f2), x: r.price_x });
    }
    const insert = this.st(
      `${into} VALUES (${Array(columns.length + 9)
        .fill("?")
        .join(", ")})`,
    );
    for (const g of groups.values()) {
      insert.run(...g.key, g.count, ...exactParams(partsOfDecimal(g.qty.value())), ...exactParams(partsOfDecimal(g.price.value())));
    }
  }

  // ---------------------------------------------------------------------------
  // Scopes

  async getScope(scopeId: string): Promise<ScopeRecord | undefined> {
    const row = this.scopeRow(scopeId);
    return row === undefined ? undefined : toScope(row);
  }

  async listScopes(q: ScopeQuery): Promise<ScopeRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.scopeIds.length > 0) {
      where.push("scope_id IN (SELECT value FROM json_each(?))");
      args.push(json(q.scopeIds));
    }
    if (q.active !== undefined) {
      where.push("active = ?");
      args.push(q.active ? 1 : 0);
    }
    for (const [col, v] of [
      ["scope_key", q.scopeKey],
      ["fetcher", q.fetcher],
      ["collector", q.collector],
    ] as const) {
      if (v !== "") {
        where.push(`${col} = ?`);
        args.push(v);
      }
    }
    if (q.after !== undefined) {
      where.push("scope_id > ?");
      args.push(q.after);
    }
    const sql = `SELECT * FROM scopes ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY scope_id LIMIT ?`;
    return (this.st(sql).all(...args, q.limit) as ScopeRow[]).map(toScope);
  }

  async createScope(input: CreateScopeInput, now: Date): Promise<ScopeRecord> {
    const t = epochSeconds(now);
    try {
      this.st(
        `INSERT INTO scopes (scope_id, state, active, scope_key, fetcher, collector, active_toggled_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        input.scopeId,
        input.state === undefined ? null : epochSeconds(input.state),
        input.active ? 1 : 0,
        input.scopeKey,
        input.fetcher,
        input.collector,
        input.active ? null : t,
        t,
      );
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
        throw new AlreadyExistsError(`scope ${JSON.stringify(input.scopeId)} already exists`);
      }
      throw err;
    }
    return toScope(this.scopeRow(input.scopeId) as ScopeRow);
  }

  async updateScope(input: UpdateScopeInput, now: Date): Promise<ScopeRecord> {
    return this.transaction(() => {
      const row = this.scopeRow(input.scopeId);
      if (row === undefined) throw new NotFoundError("scope", input.scopeId);
      const active = input.active === undefined ? row.active : input.active ? 1 : 0;
      this.st("UPDATE scopes SET active = ?, scope_key = ?, fetcher = ?, collector = ?, active_toggled_at = ? WHERE ref = ?").run(
        active,
        input.scopeKey ?? row.scope_key,
        input.fetcher ?? row.fetcher,
        input.collector ?? row.collector,
        active !== row.active ? epochSeconds(now) : row.active_toggled_at,
        row.ref,
      );
      return toScope(this.scopeRow(input.scopeId) as ScopeRow);
    });
  }

  /**
   * Moves states back; the stored periods from the new state on stay
   * visible until each is rated again, and the commit that rates one
   * replaces it (see commitPeriod): no period is ever missing or counted
   * twice, and a commit in flight that expected the old state is refused.
   */
  async resetScopes(input: ResetInput, now: Date): Promise<ScopeRecord[]> {
    const to = epochSeconds(input.state);
    return this.transaction(() => {
      const rows: ScopeRow[] = [];
      if (input.scopes.all) {
        for (const r of this.st("SELECT * FROM scopes ORDER BY scope_id").all() as ScopeRow[]) {
          if (checkReset(r.scope_id, scopeState(r) as ScopeState, to, false)) rows.push(r);
        }
      } else {
        for (const id of [...new Set(input.scopes.scopeIds)].sort()) {
          const r = this.scopeRow(id);
          if (r === undefined) throw new NotFoundError("scope", id);
          checkReset(id, scopeState(r) as ScopeState, to, true);
          rows.push(r);
        }
      }
      const tasks = this.st("SELECT task_id, progress, end FROM reprocess_tasks WHERE scope_ref = ? AND finished_at IS NULL");
      for (const r of rows) {
        this.st("UPDATE scopes SET state = ? WHERE ref = ?").run(to, r.ref);
        for (const t of tasks.all(r.ref) as Array<{ task_id: string; progress: number; end: number }>) {
          const clipped = clipTask(t, to);
          this.st("UPDATE reprocess_tasks SET end = ?, finished_at = ? WHERE task_id = ?").run(
            clipped.end,
            clipped.finished ? now.getTime() : null,
            t.task_id,
          );
        }
      }
      return rows.map((r) => toScope(this.scopeRow(r.scope_id) as ScopeRow));
    });
  }

  async recordScopeError(input: ScopeErrorInput): Promise<void> {
    this.transaction(() => {
      const row = this.scopeRow(input.scopeId);
      if (row === undefined) {
        this.st("INSERT INTO scopes (scope_id, state, created_at) VALUES (?, NULL, ?)").run(input.scopeId, epochSeconds(input.at));
      } else if (input.fencingToken < BigInt(row.fencing_token)) {
        throw new FailedPreconditionError(
          `fencing token ${input.fencingToken} is older than ${row.fencing_token}, already seen for scope ${input.scopeId}`,
        );
      }
      const where = input.periodBegin === undefined ? "" : ` (period ${input.periodBegin.toISOString()})`;
      this.st("UPDATE scopes SET last_error = ?, last_error_at = ? WHERE scope_id = ?").run(
        `${input.message}${where}`,
        epochSeconds(input.at),
        input.scopeId,
      );
    });
  }

  // ---------------------------------------------------------------------------
  // Reprocessing tasks

  private toTask(r: TaskRow): TaskRecord {
    return {
      taskId: r.task_id,
      scopeId: r.scope_id,
      begin: fromEpochSeconds(r.begin),
      end: fromEpochSeconds(r.end),
      progress: fromEpochSeconds(r.progress),
      reason: r.reason,
      createdAt: new Date(r.created_at),
      finishedAt: r.finished_at === null ? undefined : new Date(r.finished_at),
      periodsTotal: Math.round((r.end - r.begin) / this.period),
      periodsDone: Math.round((r.progress - r.begin) / this.period),
    };
  }

  async createTasks(input: CreateTasksInput, now: Date): Promise<TaskRecord[]> {
    const begin = epochSeconds(input.begin);
    const end = epochSeconds(input.end);
    return this.transaction(() => {
      const rows: ScopeRow[] = [];
      if (input.scopes.all) {
        for (const r of this.st("SELECT * FROM scopes ORDER BY scope_id").all() as ScopeRow[]) {
          if (checkTaskScope(r.scope_id, scopeState(r) as ScopeState, end, false)) rows.push(r);
        }
        if (rows.length === 0) {
          throw new FailedPreconditionError(`no active scope is rated up to ${input.end.toISOString()}: there is nothing to reprocess`);
        }
      } else {
        for (const id of [...new Set(input.scopes.scopeIds)].sort()) {
          const r = this.scopeRow(id);
          if (r === undefined) throw new NotFoundError("scope", id);
          checkTaskScope(id, scopeState(r) as ScopeState, end, true);
          rows.push(r);
        }
      }
      const open = this.st("SELECT task_id, begin, end FROM reprocess_tasks WHERE scope_ref = ? AND finished_at IS NULL");
      const insert = this.st(
        "INSERT INTO reprocess_tasks (task_id, scope_ref, begin, end, progress, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      const ids: string[] = [];
      for (const r of rows) {
        const tasks = (open.all(r.ref) as Array<{ task_id: string; begin: number; end: number }>).map((t) => ({
          taskId: t.task_id,
          begin: t.begin,
          end: t.end,
        }));
        checkNoOverlap(r.scope_id, begin, end, tasks);
        const id = randomUUID();
        insert.run(id, r.ref, begin, end, begin, input.reason, now.getTime());
        ids.push(id);
      }
      const get = this.st("SELECT t.*, s.scope_id FROM reprocess_tasks t JOIN scopes s ON s.ref = t.scope_ref WHERE t.task_id = ?");
      return ids.map((id) => this.toTask(get.get(id) as TaskRow));
    });
  }

  async listTasks(q: TaskQuery): Promise<TaskRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.scopeIds.length > 0) {
      where.push("s.scope_id IN (SELECT value FROM json_each(?))");
      args.push(json(q.scopeIds));
    }
    if (q.unfinishedOnly) where.push("t.finished_at IS NULL");
    if (q.after !== undefined) {
      where.push(`(t.created_at, t.task_id) ${q.ascending ? ">" : "<"} (?, ?)`);
      args.push(q.after.createdAt, q.after.taskId);
    }
    const dir = q.ascending ? "ASC" : "DESC";
    const rows = this.st(
      `SELECT t.*, s.scope_id FROM reprocess_tasks t JOIN scopes s ON s.ref = t.scope_ref
         ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY t.created_at ${dir}, t.task_id ${dir} LIMIT ?`,
    ).all(...args, q.limit) as TaskRow[];
    return rows.map((r) => this.toTask(r));
  }

  // ---------------------------------------------------------------------------
  // Queries

  async knownKeys(): Promise<Set<string>> {
    return new Set((this.st("SELECT DISTINCT key FROM groupby_keys").all() as Array<{ key: string }>).map((r) => r.key));
  }

  async scopeRefs(scopeIds: string[] | undefined): Promise<Map<number, string>> {
    const rows = (
      scopeIds === undefined
        ? this.st("SELECT ref, scope_id FROM scopes").all()
        : this.st("SELECT ref, scope_id FROM scopes WHERE scope_id IN (SELECT value FROM json_each(?))").all(json(scopeIds))
    ) as Array<{ ref: number; scope_id: string }>;
    return new Map(rows.map((r) => [r.ref, r.scope_id]));
  }

  async typeRefs(names: string[] | undefined): Promise<Map<number, string>> {
    const rows = (
      names === undefined
        ? this.st("SELECT ref, name FROM types").all()
        : this.st("SELECT ref, name FROM types WHERE name IN (SELECT value FROM json_each(?))").all(json(names))
    ) as Array<{ ref: number; name: string }>;
    return new Map(rows.map((r) => [r.ref, r.name]));
  }

  async unrolledDays(scopeRefs: number[], d0: number, d1: number): Promise<Array<{ scopeRef: number; day: number }>> {
    const rows = this.st(
      `SELECT DISTINCT d.scope_ref, d.day FROM sums_day d
         WHERE d.scope_ref IN (SELECT value FROM json_each(?)) AND d.day >= ? AND d.day < ?
           AND NOT EXISTS (SELECT 1 FROM rolled_days r WHERE r.scope_ref = d.scope_ref AND r.day = d.day)`,
    ).all(json(scopeRefs), d0, d1) as Array<{ scope_ref: number; day: number }>;
    return rows.map((r) => ({ scopeRef: r.scope_ref, day: r.day }));
  }

  /** FROM and WHERE of an aggregate, with its parameters. */
  private aggregateBase(req: AggregateRequest): { from: string; where: string; args: unknown[]; groups: string[] } {
    const timeCol = req.source === "points" || req.source === "sums_period" ? "begin" : "day";
    const args: unknown[] = [];
    const groups: string[] = [
      req.grain === "none" ? "0" : req.grain === "period" || timeCol === "day" ? `s.${timeCol}` : "(s.begin - s.begin % 86400)",
      req.byScope ? "s.scope_ref" : "0",
      req.byType ? "s.type_ref" : "0",
    ];
    let from = `${req.source} s`;
    const where: string[] = [];
    if (req.source === "sums_day_key") {
      // The key leads the clustered key: only that key's rows are read.
      where.push("s.key = ?");
      args.push(req.key);
      if (req.groupKeys.length > 0) groups.push("s.value");
    } else {
      req.groupKeys.forEach((key, n) => {
        from += ` LEFT JOIN groupset_values k${n} ON k${n}.groupset_ref = s.groupset_ref AND k${n}.key = ?`;
        args.push(key);
        groups.push(`COALESCE(k${n}.value, '')`);
      });
    }
    // One scope is an equality, so that the clustered key also gives the order (no sort before a LIMIT).
    where.push(req.scopeRefs.length === 1 ? "s.scope_ref = ?" : "s.scope_ref IN (SELECT value FROM json_each(?))");
    where.push(`s.${timeCol} >= ?`, `s.${timeCol} < ?`);
    args.push(req.scopeRefs.length === 1 ? req.scopeRefs[0] : json(req.scopeRefs), req.begin, req.end);
    if (req.typeRefs !== undefined) {
      where.push("s.type_ref IN (SELECT value FROM json_each(?))");
      args.push(json(req.typeRefs));
    }
    if (req.keyValues !== undefined) {
      where.push("s.value IN (SELECT value FROM json_each(?))");
      args.push(json(req.keyValues));
    }
    if (req.rolledOnly) where.push("EXISTS (SELECT 1 FROM rolled_days r WHERE r.scope_ref = s.scope_ref AND r.day = s.day)");
    for (const f of req.keyFilters) {
      const any: string[] = [];
      const values = f.values.filter((v) => v !== "");
      if (values.length > 0) {
        any.push(
          "s.groupset_ref IN (SELECT groupset_ref FROM groupset_values WHERE key = ? AND value IN (SELECT value FROM json_each(?)))",
        );
        args.push(f.key, json(values));
      }
      if (values.length < f.values.length) {
        any.push("s.groupset_ref NOT IN (SELECT groupset_ref FROM groupset_values WHERE key = ? AND value <> '')");
        args.push(f.key);
      }
      where.push(`(${any.join(" OR ")})`);
    }
    return { from, where: where.join(" AND "), args, groups };
  }

  async aggregate(req: AggregateRequest): Promise<AggregateRow[]> {
    const { from, where, args, groups } = this.aggregateBase(req);
    const select = groups.map((g, n) => `${g} AS g${n}`).join(", ");
    const groupBy = groups.map((_, n) => n + 1).join(", ");
    const count = req.source === "points" ? "COUNT(*)" : "SUM(s.points)";
    const keyOf = (r: Record<string, unknown>) => groups.map((_, n) => String(r[`g${n}`])).join("\u0000");
    const toRow = (r: Record<string, unknown>): AggregateRow => ({
      t: Number(r.g0),
      scopeRef: Number(r.g1),
      typeRef: Number(r.g2),
      keys: req.groupKeys.map((_, n) => String(r[`g${n + 3}`])),
      count: 0,
      qty: Decimal.ZERO,
      price: Decimal.ZERO,
    });
    const out = new Map<string, AggregateRow>();
    try {
      const rows = this.st(
        `SELECT ${select}, ${count} AS n, SUM(s.qty_i) AS qi, SUM(s.qty_f1) AS qf1, SUM(s.qty_f2) AS qf2,
             SUM(s.price_i) AS pi, SUM(s.price_f1) AS pf1, SUM(s.price_f2) AS pf2,
             SUM(s.qty_x IS NOT NULL OR s.price_x IS NOT NULL) AS xn
           FROM ${from} WHERE ${where} GROUP BY ${groupBy}`,
        true,
      ).all(...args) as Array<Record<string, bigint | string>>;
      let texts = false;
      for (const r of rows) {
        const row = toRow(r);
        row.count = Number(r.n);
        row.qty = decimalOfSums(r.qi as bigint, r.qf1 as bigint, r.qf2 as bigint);
        row.price = decimalOfSums(r.pi as bigint, r.pf1 as bigint, r.pf2 as bigint);
        if (Number(r.xn) > 0) texts = true;
        out.set(keyOf(r), row);
      }
      if (texts) {
        // The few values kept as text were counted above with zero parts: add them.
        const extra = this.st(
          `SELECT ${select}, s.qty_x, s.price_x FROM ${from} WHERE ${where} AND (s.qty_x IS NOT NULL OR s.price_x IS NOT NULL)`,
          true,
        ).iterate(...args) as Iterable<Record<string, bigint | string | null>>;
        for (const r of extra) {
          const row = out.get(keyOf(r));
          if (row === undefined) continue;
          if (r.qty_x !== null) row.qty = row.qty.add(Decimal.parse(r.qty_x as string));
          if (r.price_x !== null) row.price = row.price.add(Decimal.parse(r.price_x as string));
        }
      }
    } catch (err) {
      if (!isOverflow(err)) throw err;
      // Integer parts whose sum leaves int64: the same rows, summed in BigInt.
      out.clear();
      const sums = new Map<string, { row: AggregateRow; qty: PartsSum; price: PartsSum }>();
      const rows = this.st(
        `SELECT ${select}, ${req.source === "points" ? "1" : "s.points"} AS n, ${EXACT_COLUMNS} FROM ${from} WHERE ${where}`,
        true,
      ).iterate(...args) as Iterable<Record<string, bigint | string | null> & ExactRow>;
      for (const r of rows) {
        const key = keyOf(r);
        let s = sums.get(key);
        if (s === undefined) {
          s = { row: toRow(r), qty: new PartsSum(), price: new PartsSum() };
          sums.set(key, s);
        }
        s.row.count += Number(r.n);
        s.qty.add({ i: r.qty_i, f1: Number(r.qty_f1), f2: Number(r.qty_f2), x: r.qty_x });
        s.price.add({ i: r.price_i, f1: Number(r.price_f1), f2: Number(r.price_f2), x: r.price_x });
      }
      for (const [key, s] of sums) out.set(key, { ...s.row, qty: s.qty.value(), price: s.price.value() });
    }
    return [...out.values()];
  }

  /**
   * A summary reads several sources and must see them at one instant: a
   * day rolled up between two of its queries would be counted twice. One
   * read transaction pins the snapshot (against other processes on the
   * file); within this process every call the planner makes completes
   * synchronously, so no commit can run before it ends, and a write that
   * tried would throw rather than be counted half.
   */
  async summary(q: SummaryQuery): Promise<SummaryRow[]> {
    if (this.reading++ === 0) this.st("BEGIN").run();
    try {
      return await summarize(this, q, this.period);
    } finally {
      if (--this.reading === 0) this.st("COMMIT").run();
    }
  }

  async listPoints(q: PointQuery): Promise<PointPage> {
    const scopes = await this.scopeRefs(intersect(q.filters, "scope_id"));
    const typeFilter = intersect(q.filters, "type");
    const types = await this.typeRefs(undefined);
    const typeRefs = typeFilter === undefined ? undefined : [...types].filter(([, name]) => typeFilter.includes(name)).map(([ref]) => ref);
    const begin = Math.ceil(q.begin.getTime() / 1000);
    const end = Math.ceil(q.end.getTime() / 1000);
    const refs = [...scopes.keys()].filter((r) => q.after === undefined || r >= q.after.scopeRef).sort((a, b) => a - b);
    const base: AggregateRequest = {
      source: "points",
      begin,
      end,
      scopeRefs: [],
      typeRefs,
      keyFilters: q.filters.filter((f) => f.key !== "scope_id" && f.key !== "type"),
      grain: "none",
      byScope: false,
      byType: false,
      groupKeys: [],
    };
    const out: Array<Record<string, unknown> & ExactRow> = [];
    const canon = new Map<number, Record<string, string>>();
    for (const ref of refs) {
      if (typeRefs !== undefined && typeRefs.length === 0) break;
      const { where, args } = this.aggregateBase({ ...base, scopeRefs: [ref] });
      let resume = "";
      const resumeArgs: unknown[] = [];
      if (q.after !== undefined && ref === q.after.scopeRef) {
        resume = " AND s.begin >= ? AND (s.begin > ? OR s.seq > ?)";
        resumeArgs.push(q.after.begin, q.after.begin, q.after.seq);
      }
      const rows = this.st(
        `SELECT s.scope_ref, s.begin, s.seq, s.type_ref, s.groupset_ref, s.unit, ${EXACT_COLUMNS}, s.metadata, g.canon
           FROM points s JOIN groupsets g ON g.ref = s.groupset_ref
           WHERE ${where}${resume} ORDER BY s.begin, s.seq LIMIT ?`,
        true,
      ).all(...args, ...resumeArgs, q.limit + 1 - out.length) as Array<Record<string, unknown> & ExactRow>;
      out.push(...rows);
      if (out.length > q.limit) break;
    }
    const page = out.slice(0, q.limit);
    const points: PeriodPoint[] = page.map((r) => {
      const gs = Number(r.groupset_ref);
      let groupby = canon.get(gs);
      if (groupby === undefined) {
        groupby = JSON.parse(r.canon as string) as Record<string, string>;
        canon.set(gs, groupby);
      }
      const b = Number(r.begin);
      return {
        scopeId: scopes.get(Number(r.scope_ref)) ?? "",
        begin: fromEpochSeconds(b),
        end: fromEpochSeconds(b + this.period),
        type: types.get(Number(r.type_ref)) ?? "",
        unit: r.unit as string,
        qty: trimmed(exactValue(r.qty_i, r.qty_f1, r.qty_f2, r.qty_x)).toString(),
        price: trimmed(exactValue(r.price_i, r.price_f1, r.price_f2, r.price_x)).toString(),
        groupby,
        metadata: r.metadata === null ? {} : (JSON.parse(r.metadata as string) as Record<string, string>),
      };
    });
    const last = page[page.length - 1];
    return {
      points,
      next:
        out.length > q.limit && last !== undefined
          ? { scopeRef: Number(last.scope_ref), begin: Number(last.begin), seq: Number(last.seq) }
          : undefined,
    };
  }

  /**
   * Recomputes every rollup from the points, in BigInt, and lists each
   * difference (empty: the rollups are exactly the points). A full scan:
   * for tests and for an operator's check, not for the request path.
   */
  async verifyRollups(): Promise<string[]> {
    type Totals = { count: number; qty: PartsSum; price: PartsSum };
    const fromPoints = {
      sums_period: new Map<string, Totals>(),
      sums_day: new Map<string, Totals>(),
      sums_day_groupset: new Map<string, Totals>(),
      sums_day_key: new Map<string, Totals>(),
    };
    const values = new Map<number, Array<{ key: string; value: string }>>();
    for (const v of this.st("SELECT groupset_ref, key, value FROM groupset_values").all() as Array<{
      groupset_ref: number;
      key: string;
      value: string;
    }>) {
      values.set(v.groupset_ref, [...(values.get(v.groupset_ref) ?? []), v]);
    }
    const rolled = new Set(
      (this.st("SELECT scope_ref, day FROM rolled_days").all() as Array<{ scope_ref: number; day: number }>).map(
        (r) => `${r.scope_ref}:${r.day}`,
      ),
    );
    const add = (m: Map<string, Totals>, key: string, r: ExactRow) => {
      let t = m.get(key);
      if (t === undefined) {
        t = { count: 0, qty: new PartsSum(), price: new PartsSum() };
        m.set(key, t);
      }
      t.count++;
      t.qty.add({ i: r.qty_i, f1: Number(r.qty_f1), f2: Number(r.qty_f2), x: r.qty_x });
      t.price.add({ i: r.price_i, f1: Number(r.price_f1), f2: Number(r.price_f2), x: r.price_x });
    };
    const points = this.st(`SELECT scope_ref, begin, type_ref, groupset_ref, ${EXACT_COLUMNS} FROM points`, true).iterate() as Iterable<
      ExactRow & { scope_ref: bigint; begin: bigint; type_ref: bigint; groupset_ref: bigint }
    >;
    for (const r of points) {
      const day = Number(r.begin) - (Number(r.begin) % DAY);
      add(fromPoints.sums_period, `${r.scope_ref}:${r.begin}:${r.type_ref}`, r);
      add(fromPoints.sums_day, `${r.scope_ref}:${day}:${r.type_ref}`, r);
      if (!rolled.has(`${r.scope_ref}:${day}`)) continue;
      add(fromPoints.sums_day_groupset, `${r.scope_ref}:${day}:${r.type_ref}:${r.groupset_ref}`, r);
      for (const v of values.get(Number(r.groupset_ref)) ?? []) {
        add(fromPoints.sums_day_key, `${v.key}:${r.scope_ref}:${day}:${r.type_ref}:${v.value}`, r);
      }
    }
    const problems: string[] = [];
    const keys = {
      sums_period: "scope_ref, begin, type_ref",
      sums_day: "scope_ref, day, type_ref",
      sums_day_groupset: "scope_ref, day, type_ref, groupset_ref",
      sums_day_key: "key, scope_ref, day, type_ref, value",
    };
    for (const table of ["sums_period", "sums_day", "sums_day_groupset", "sums_day_key"] as const) {
      const want = fromPoints[table];
      const rows = this.st(`SELECT ${keys[table]}, points, ${EXACT_COLUMNS} FROM ${table}`, true).all() as Array<
        ExactRow & Record<string, bigint> & { points: bigint }
      >;
      const seen = new Set<string>();
      for (const r of rows) {
        const key = keys[table]
          .split(", ")
          .map((c) => String(r[c]))
          .join(":");
        seen.add(key);
        const w = want.get(key);
        const qty = exactValue(r.qty_i, r.qty_f1, r.qty_f2, r.qty_x);
        const price = exactValue(r.price_i, r.price_f1, r.price_f2, r.price_x);
        const stored = { count: Number(r.points), qty, price };
        if (w === undefined) problems.push(rollupProblem(table, key, stored, undefined));
        else if (w.count !== stored.count || !w.qty.value().eq(qty) || !w.price.value().eq(price)) {
          problems.push(rollupProblem(table, key, stored, { count: w.count, qty: w.qty.value(), price: w.price.value() }));
        }
      }
      for (const [key, w] of want) {
        if (!seen.has(key))
          problems.push(rollupProblem(table, key, undefined, { count: w.count, qty: w.qty.value(), price: w.price.value() }));
      }
    }
    return problems;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
