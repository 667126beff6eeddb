/**
 * The PostgreSQL storage engine (pg). Many storage replicas may share one
 * database: every write transaction locks the rows of the scopes it
 * changes (SELECT ... FOR UPDATE, in scope_id order, then tasks), so the
 * checks it makes still hold when it commits. Summaries read one snapshot
 * (REPEATABLE READ), so a day rolled up meanwhile is never counted twice.
 */
import { createHash, randomUUID } from "node:crypto";
import { createPgPool, migratePostgres, type PgClient, type PgPool, withTransaction } from "../../../libs/db/postgres.js";
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
  StoredPoint,
  SummaryQuery,
  SummaryRow,
  TaskQuery,
  TaskRecord,
  UpdateScopeInput,
} from "../domain.js";
import { type Parts, parseParts, trimmed } from "../exact.js";
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
import { copyField, copyRows } from "./copy.js";
import { migrations } from "./schema.js";

export interface PostgresEngineOptions {
  periodSeconds: number;
  poolSize?: number;
}

interface ScopeRow {
  ref: number;
  scope_id: string;
  state: string | null;
  active: boolean;
  scope_key: string;
  fetcher: string;
  collector: string;
  fencing_token: string;
  last_error: string | null;
  last_error_at: string | null;
  active_toggled_at: string | null;
  created_at: string;
}

interface TaskRow {
  task_id: string;
  scope_ref: number;
  scope_id: string;
  begin: string;
  end: string;
  progress: string;
  reason: string;
  created_at: string;
  finished_at: string | null;
}

type Queryable = Pick<PgClient, "query">;

const seconds = (v: string | null): Date | undefined => (v === null ? undefined : fromEpochSeconds(Number(v)));

function toScope(r: ScopeRow): ScopeRecord {
  return {
    scopeId: r.scope_id,
    state: seconds(r.state),
    active: r.active,
    scopeKey: r.scope_key,
    fetcher: r.fetcher,
    collector: r.collector,
    lastError: r.last_error ?? undefined,
    lastErrorAt: seconds(r.last_error_at),
    activeToggledAt: seconds(r.active_toggled_at),
    fencingToken: BigInt(r.fencing_token),
    createdAt: fromEpochSeconds(Number(r.created_at)),
  };
}

function scopeState(r: ScopeRow | undefined): ScopeState | undefined {
  return r === undefined
    ? undefined
    : { state: r.state === null ? null : Number(r.state), active: r.active, fencingToken: BigInt(r.fencing_token) };
}

/** A PostgreSQL array literal of text (NULL for null), for unnest(): one parameter instead of one per value. */
function textArray(values: ReadonlyArray<string | null>): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    if (v === null || v === undefined) out += "NULL";
    else out += `"${/["\\]/.test(v) ? v.replace(/["\\]/g, "\\$&") : v}"`;
  }
  return `${out}}`;
}

/** Integers and validated plain decimals need no quoting. */
function plainArray(values: ReadonlyArray<number | string>): string {
  return `{${values.join(",")}}`;
}

const num = (v: string | null | undefined): Decimal => (v === null || v === undefined ? Decimal.ZERO : Decimal.parse(v));

export class PostgresEngine implements StorageEngine {
  private readonly groupsets = new RefCache<string, number>(250_000);
  private readonly patterns = new FramePatterns(500_000);
  private readonly types = new RefCache<string, number>(10_000);
  private readonly catalog = new RefCache<string, true>(100_000);

  private constructor(
    private readonly pool: PgPool,
    private readonly period: number,
  ) {}

  static async open(url: string, opts: PostgresEngineOptions): Promise<PostgresEngine> {
    const pool = createPgPool(url, { max: opts.poolSize ?? 10, applicationName: "ratemesh-storage" });
    try {
      await migratePostgres(pool, migrations, "storage_migrations");
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresEngine(pool, opts.periodSeconds);
  }

  async ping(): Promise<boolean> {
    return (await this.pool.query("SELECT 1 AS one")).rows[0]?.one === 1;
  }

  /** A write transaction; the dictionary refs it learnt are kept only if it commits. */
  private async write<T>(fn: (c: PgClient, learnt: Learnt) => Promise<T>): Promise<T> {
    const learnt = new Learnt();
    const out = await withTransaction(this.pool, (c) => fn(c, learnt));
    this.groupsets.learn(learnt.groupsets);
    this.types.learn(learnt.types);
    this.catalog.learn(learnt.catalog);
    return out;
  }

  private async lockScope(c: Queryable, scopeId: string): Promise<ScopeRow | undefined> {
    return (await c.query("SELECT * FROM scopes WHERE scope_id = $1 FOR UPDATE", [scopeId])).rows[0] as ScopeRow | undefined;
  }

  /**
   * Invariant: the points of a (scope, period) are written only by the
   * transaction that moves the scope's state from the period's begin to its
   * end (or a reprocess task's progress likewise), and replace whatever the
   * period held; its rollups are rewritten in the same transaction. The
   * scope row is locked first, so two committers of one scope serialise and
   * the second sees the first's state. Each partial failure leaves the
   * database as it was:
   *  - a stale fencing token, a state or progress that moved, an inactive
   *    scope, a finished task: refused before anything is written;
   *  - the same commit again after a lost reply: answered as replayed;
   *  - a lost connection, a crash or an error after the checks: PostgreSQL
   *    rolls the transaction back; the state has not moved and the
   *    committer retries the period (or finds it replayed, if the COMMIT
   *    itself went through before the connection broke).
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
    const result = await this.write(async (c, learnt): Promise<CommitResult> => {
      // Few round trips: the scope with its period's frame record in one
      // statement, every removal in one, every rollup and record write in
      // one (data-modifying CTEs), the points by COPY.
      let locked = await this.lockScopeAndFrame(c, input.scopeId, begin);
      const decide = async (): Promise<{ replay: boolean; task: TaskState | undefined }> => {
        const { scope, frame } = locked;
        if (req.taskId === undefined) return { replay: decideCommit(req, scopeState(scope), frame) === "replay", task: undefined };
        const row = (
          await c.query(
            `SELECT t.*, s.scope_id FROM reprocess_tasks t JOIN scopes s ON s.ref = t.scope_ref WHERE t.task_id = $1 FOR UPDATE OF t`,
            [req.taskId],
          )
        ).rows[0] as TaskRow | undefined;
        const task =
          row === undefined
            ? undefined
            : {
                taskId: row.task_id,
                scopeId: row.scope_id,
                begin: Number(row.begin),
                end: Number(row.end),
                progress: Number(row.progress),
                finished: row.finished_at !== null,
              };
        return { replay: decideReprocessCommit(req, scopeState(scope), task, frame) === "replay", task };
      };
      let { replay, task } = await decide();
      if (replay) return { state: input.end, replayed: true, pointsWritten: 0 };
      if (locked.scope === undefined) {
        const inserted = await c.query(
          `INSERT INTO scopes (scope_id, scope_key, fetcher, collector, created_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (scope_id) DO NOTHING RETURNING *`,
          [input.scopeId, input.scopeKey, input.fetcher, input.collector, now],
        );
        if (inserted.rows[0] === undefined) {
          // Another replica created the scope meanwhile (and maybe committed
          // to it): decide again on what it wrote.
          locked = await this.lockScopeAndFrame(c, input.scopeId, begin);
          ({ replay, task } = await decide());
          if (replay) return { state: input.end, replayed: true, pointsWritten: 0 };
        } else {
          locked = { scope: inserted.rows[0] as ScopeRow, frame: undefined };
        }
      }
      const scopeRef = (locked.scope as ScopeRow).ref;
      const day = begin - (begin % DAY);
      // Any write into a day invalidates that day's groupby rollups: they
      // go now (queries read the points meanwhile) and are rebuilt when the
      // day is complete again, so they never differ from the points. The
      // period's previous rating (after a reset, or for reprocessing) is
      // replaced, never added to: its totals come back to leave sums_day.
      const old = (
        await c.query(
          `WITH unrolled AS (DELETE FROM rolled_days WHERE scope_ref = $1 AND day = $2 RETURNING day),
             by_groupset AS (DELETE FROM sums_day_groupset WHERE scope_ref = $1 AND day = $2 AND EXISTS (SELECT 1 FROM unrolled)),
             by_key AS (DELETE FROM sums_day_key WHERE key = ANY(ARRAY(SELECT DISTINCT key FROM groupby_keys))
                          AND scope_ref = $1 AND day = $2 AND EXISTS (SELECT 1 FROM unrolled)),
             replaced AS (DELETE FROM points WHERE scope_ref = $1 AND begin = $3 AND $4::boolean)
           DELETE FROM sums_period WHERE scope_ref = $1 AND begin = $3 RETURNING type_ref, points, qty, price`,
          [scopeRef, day, begin, locked.frame !== undefined],
        )
      ).rows as Array<{ type_ref: number; points: string; qty: string; price: string }>;

      const typeRefs = await this.typeRefsFor(c, [...catalog.keys()], learnt);
      await this.catalogKeys(c, catalog, typeRefs, learnt);
      const n = input.points.length;
      // Refs of the groupby maps: by position from the scope's last frame
      // when the map is the same (the usual case), else from the dictionary.
      const pattern = this.patterns.get(scopeRef);
      const maps: Array<Record<string, string>> = new Array(n);
      const refs = new Int32Array(n);
      const misses: number[] = [];
      for (let i = 0; i < n; i++) {
        const map = (input.points[i] as StoredPoint).groupby;
        maps[i] = map;
        const last = pattern?.maps[i];
        if (last !== undefined && sameMap(last, map)) refs[i] = pattern?.refs[i] as number;
        else misses.push(i);
      }
      if (misses.length > 0) {
        const missed = misses.map((i) => input.points[i] as StoredPoint);
        const jsons = missed.map((p) => JSON.stringify(p.groupby));
        const found = await this.groupsetRefsFor(c, missed, jsons, learnt);
        misses.forEach((i, m) => {
          refs[i] = found.get(jsons[m] as string) ?? 0;
        });
      }
      seen = { scopeRef, pattern: { maps, refs } };
      const totals = new FrameTotals();
      if (n > 0) {
        const qp: Parts = { i: 0, f1: 0, f2: 0, x: null };
        const pp: Parts = { i: 0, f1: 0, f2: 0, x: null };
        const lines: string[] = new Array(n);
        const head = `${scopeRef}\t${begin}\t`;
        let lastType = "";
        let typeRef = 0;
        for (let i = 0; i < n; i++) {
          const p = input.points[i];
          if (p === undefined) continue;
          if (p.type !== lastType) {
            lastType = p.type;
            typeRef = typeRefs.get(p.type) ?? 0;
          }
          const groupset = refs[i];
          // Decimals are validated digits: nothing to escape.
          lines[i] =
            `${head}${i}\t${typeRef}\t${groupset}\t${copyField(p.unit)}\t${p.qty}\t${p.price}\t` +
            `${p.metadataJson === "" ? "\\N" : copyField(p.metadataJson)}\n`;
          totals.add(p.type, parseParts(p.qty, qp), parseParts(p.price, pp));
        }
        await copyRows(
          c,
          "points",
          ["scope_ref", "begin", "seq", "type_ref", "groupset_ref", "unit", "qty", "price", "metadata"],
          lines.join(""),
          n,
        );
      }

      const delta = new Map<number, { count: number; qty: Decimal; price: Decimal }>();
      for (const o of old) delta.set(o.type_ref, { count: -Number(o.points), qty: num(o.qty).neg(), price: num(o.price).neg() });
      const sums: Array<[number, number, string, string]> = [];
      for (const [typeName, t] of totals.byType) {
        const ref = typeRefs.get(typeName) ?? 0;
        const q = t.qty.value();
        const p = t.price.value();
        sums.push([ref, t.count, q.toString(), p.toString()]);
        const d = delta.get(ref);
        delta.set(
          ref,
          d === undefined ? { count: t.count, qty: q, price: p } : { count: d.count + t.count, qty: d.qty.add(q), price: d.price.add(p) },
        );
      }
      const changes = [...delta].filter(([, d]) => d.count !== 0 || !d.qty.isZero() || !d.price.isZero());
      let finishesTask = false;
      const advance =
        task === undefined
          ? "UPDATE scopes SET state = $13, fencing_token = $14, last_error = NULL, last_error_at = NULL WHERE ref = $1"
          : "UPDATE scopes SET fencing_token = $14 WHERE ref = $1";
      const args: unknown[] = [
        scopeRef,
        begin,
        plainArray(sums.map((r) => r[0])),
        plainArray(sums.map((r) => r[1])),
        plainArray(sums.map((r) => r[2])),
        plainArray(sums.map((r) => r[3])),
        day,
        plainArray(changes.map(([ref]) => ref)),
        plainArray(changes.map(([, d]) => d.count)),
        plainArray(changes.map(([, d]) => d.qty.toString())),
        plainArray(changes.map(([, d]) => d.price.toString())),
        now,
        end,
        input.fencingToken.toString(),
        input.owner,
        input.digest,
        req.taskId ?? null,
        n,
      ];
      let progress = "";
      if (task !== undefined) {
        finishesTask = end >= task.end;
        args.push(finishesTask ? Date.now() : null);
        progress = `, progress AS (UPDATE reprocess_tasks SET progress = $13, finished_at = $19 WHERE task_id = $17)`;
      }
      await c.query(
        `WITH by_period AS (INSERT INTO sums_period (scope_ref, begin, type_ref, points, qty, price)
             SELECT $1, $2, x.* FROM unnest($3::int[], $4::bigint[], $5::numeric[], $6::numeric[]) AS x),
           by_day AS (INSERT INTO sums_day AS d (scope_ref, day, type_ref, points, qty, price)
             SELECT $1, $7, x.* FROM unnest($8::int[], $9::bigint[], $10::numeric[], $11::numeric[]) AS x
             ON CONFLICT (scope_ref, day, type_ref) DO UPDATE SET points = d.points + excluded.points,
               qty = d.qty + excluded.qty, price = d.price + excluded.price),
           record AS (INSERT INTO frames (scope_ref, begin, "end", fencing_token, owner, digest, task_id, points, committed_at)
             VALUES ($1, $2, $13, $14, $15, $16, $17, $18, $12)
             ON CONFLICT (scope_ref, begin) DO UPDATE SET "end" = excluded."end", fencing_token = excluded.fencing_token,
               owner = excluded.owner, digest = excluded.digest, task_id = excluded.task_id, points = excluded.points,
               committed_at = excluded.committed_at)${progress}
         ${advance}`,
        args,
      );
      // A replaced period may leave a type with no point in the day.
      if (old.length > 0) await c.query("DELETE FROM sums_day WHERE scope_ref = $1 AND day = $2 AND points = 0", [scopeRef, day]);
      // The day is complete when its last period is written; a reprocess
      // task that stops inside a day completes that day too.
      if (end - day === DAY || finishesTask) {
        await c.query(
          `INSERT INTO sums_day_groupset (scope_ref, day, type_ref, groupset_ref, points, qty, price)
           SELECT scope_ref, $2, type_ref, groupset_ref, count(*), sum(qty), sum(price)
           FROM points WHERE scope_ref = $1 AND begin >= $2 AND begin < $3 GROUP BY scope_ref, type_ref, groupset_ref`,
          [scopeRef, day, day + DAY],
        );
        await c.query(
          `WITH rolled AS (INSERT INTO rolled_days (scope_ref, day) VALUES ($1, $2))
           INSERT INTO sums_day_key (key, scope_ref, day, type_ref, value, points, qty, price)
           SELECT v.key, s.scope_ref, s.day, s.type_ref, v.value, sum(s.points), sum(s.qty), sum(s.price)
           FROM sums_day_groupset s JOIN groupset_values v ON v.groupset_ref = s.groupset_ref
           WHERE s.scope_ref = $1 AND s.day = $2 GROUP BY 1, 2, 3, 4, 5`,
          [scopeRef, day],
        );
      }
      return { state: input.end, replayed: false, pointsWritten: n };
    });
    if (seen !== undefined) this.patterns.set(seen.scopeRef, seen.pattern);
    return result;
  }

  /** The scope's row, locked, with the record of its period [begin, ...) if that was committed. */
  private async lockScopeAndFrame(
    c: Queryable,
    scopeId: string,
    begin: number,
  ): Promise<{ scope: ScopeRow | undefined; frame: FrameState | undefined }> {
    const row = (
      await c.query(
        `SELECT s.*, f.fencing_token AS frame_token, f.digest AS frame_digest, f.task_id AS frame_task
         FROM scopes s LEFT JOIN frames f ON f.scope_ref = s.ref AND f.begin = $2
         WHERE s.scope_id = $1 FOR UPDATE OF s`,
        [scopeId, begin],
      )
    ).rows[0] as (ScopeRow & { frame_token: string | null; frame_digest: string | null; frame_task: string | null }) | undefined;
    if (row === undefined) return { scope: undefined, frame: undefined };
    const frame =
      row.frame_token === null
        ? undefined
        : { fencingToken: BigInt(row.frame_token), digest: row.frame_digest ?? "", taskId: row.frame_task };
    return { scope: row, frame };
  }

  private async typeRefsFor(c: Queryable, names: string[], learnt: Learnt): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const missing: string[] = [];
    for (const name of names) {
      const ref = this.types.get(name, learnt.types);
      if (ref === undefined) missing.push(name);
      else out.set(name, ref);
    }
    if (missing.length > 0) {
      missing.sort();
      await c.query("INSERT INTO types (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING", [textArray(missing)]);
      for (const r of (await c.query("SELECT ref, name FROM types WHERE name = ANY($1::text[])", [textArray(missing)])).rows as Array<{
        ref: number;
        name: string;
      }>) {
        out.set(r.name, r.ref);
        learnt.types.set(r.name, r.ref);
      }
    }
    return out;
  }

  private async catalogKeys(
    c: Queryable,
    keysByType: Map<string, Set<string>>,
    typeRefs: Map<string, number>,
    learnt: Learnt,
  ): Promise<void> {
    const refs: number[] = [];
    const keys: string[] = [];
    for (const [type, set] of keysByType) {
      const ref = typeRefs.get(type) ?? 0;
      for (const key of set) {
        const k = `${ref}\u0000${key}`;
        if (this.catalog.get(k, learnt.catalog) !== undefined) continue;
        refs.push(ref);
        keys.push(key);
        learnt.catalog.set(k, true);
      }
    }
    if (refs.length === 0) return;
    await c.query(
      "INSERT INTO groupby_keys (type_ref, key) SELECT * FROM unnest($1::int[], $2::text[]) ON CONFLICT (type_ref, key) DO NOTHING",
      [plainArray(refs), textArray(keys)],
    );
  }

  /** Refs of the frame's groupby maps, keyed by the JSON received; new maps are added to the dictionary. */
  private async groupsetRefsFor(
    c: Queryable,
    points: CommitInput["points"],
    jsons: string[],
    learnt: Learnt,
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const missing = new Map<string, { canon: string; digest: string; map: Record<string, string>; json: string[] }>();
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      const json = jsons[i];
      if (p === undefined || json === undefined || out.has(json)) continue;
      const ref = this.groupsets.get(json, learnt.groupsets);
      if (ref !== undefined) {
        out.set(json, ref);
        continue;
      }
      const canon = canonicalJson(p.groupby);
      const digest = createHash("sha256").update(canon).digest("hex");
      const m = missing.get(digest);
      if (m === undefined) missing.set(digest, { canon, digest, map: p.groupby, json: [json] });
      else if (!m.json.includes(json)) m.json.push(json);
      out.set(json, -1);
    }
    if (missing.size === 0) return out;
    // Sorted, so that two transactions adding the same maps wait on each other in one order.
    const entries = [...missing.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1));
    const created = (
      await c.query(
        `INSERT INTO groupsets (digest, canon) SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (digest) DO NOTHING RETURNING ref, digest`,
        [textArray(entries.map((e) => e.digest)), textArray(entries.map((e) => e.canon))],
      )
    ).rows as Array<{ ref: number; digest: string }>;
    if (created.length > 0) {
      const refs: number[] = [];
      const keys: string[] = [];
      const values: string[] = [];
      for (const r of created) {
        for (const [k, v] of Object.entries((missing.get(r.digest) as { map: Record<string, string> }).map)) {
          refs.push(r.ref);
          keys.push(k);
          values.push(v);
        }
      }
      if (refs.length > 0) {
        await c.query("INSERT INTO groupset_values (groupset_ref, key, value) SELECT * FROM unnest($1::int[], $2::text[], $3::text[])", [
          plainArray(refs),
          textArray(keys),
          textArray(values),
        ]);
      }
    }
    const rows = (
      await c.query("SELECT ref, digest FROM groupsets WHERE digest = ANY($1::text[])", [textArray(entries.map((e) => e.digest))])
    ).rows as Array<{ ref: number; digest: string }>;
    for (const r of rows) {
      for (const json of (missing.get(r.digest) as { json: string[] }).json) {
        out.set(json, r.ref);
        learnt.groupsets.set(json, r.ref);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------
  // Scopes

  async getScope(scopeId: string): Promise<ScopeRecord | undefined> {
    const row = (await this.pool.query("SELECT * FROM scopes WHERE scope_id = $1", [scopeId])).rows[0] as ScopeRow | undefined;
    return row === undefined ? undefined : toScope(row);
  }

  async listScopes(q: ScopeQuery): Promise<ScopeRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (q.scopeIds.length > 0) where.push(`scope_id = ANY(${arg(textArray(q.scopeIds))}::text[])`);
    if (q.active !== undefined) where.push(`active = ${arg(q.active)}`);
    if (q.scopeKey !== "") where.push(`scope_key = ${arg(q.scopeKey)}`);
    if (q.fetcher !== "") where.push(`fetcher = ${arg(q.fetcher)}`);
    if (q.collector !== "") where.push(`collector = ${arg(q.collector)}`);
    if (q.after !== undefined) where.push(`scope_id COLLATE "C" > ${arg(q.after)}`);
    const sql = `SELECT * FROM scopes ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY scope_id COLLATE "C" LIMIT ${arg(q.limit)}`;
    return ((await this.pool.query(sql, args)).rows as ScopeRow[]).map(toScope);
  }

  async createScope(input: CreateScopeInput, now: Date): Promise<ScopeRecord> {
    const t = epochSeconds(now);
    const row = (
      await this.pool.query(
        `INSERT INTO scopes (scope_id, state, active, scope_key, fetcher, collector, active_toggled_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (scope_id) DO NOTHING RETURNING *`,
        [
          input.scopeId,
          input.state === undefined ? null : epochSeconds(input.state),
          input.active,
          input.scopeKey,
          input.fetcher,
          input.collector,
          input.active ? null : t,
          t,
        ],
      )
    ).rows[0] as ScopeRow | undefined;
    if (row === undefined) throw new AlreadyExistsError(`scope ${JSON.stringify(input.scopeId)} already exists`);
    return toScope(row);
  }

  async updateScope(input: UpdateScopeInput, now: Date): Promise<ScopeRecord> {
    return this.write(async (c) => {
      const row = await this.lockScope(c, input.scopeId);
      if (row === undefined) throw new NotFoundError("scope", input.scopeId);
      const active = input.active ?? row.active;
      const updated = await c.query(
        `UPDATE scopes SET active = $1, scope_key = $2, fetcher = $3, collector = $4, active_toggled_at = $5 WHERE ref = $6 RETURNING *`,
        [
          active,
          input.scopeKey ?? row.scope_key,
          input.fetcher ?? row.fetcher,
          input.collector ?? row.collector,
          active !== row.active ? epochSeconds(now) : row.active_toggled_at,
          row.ref,
        ],
      );
      return toScope(updated.rows[0] as ScopeRow);
    });
  }

  /**
   * Moves states back; the stored periods from the new state on stay
   * visible until each is rated again, and the commit that rates one
   * replaces it (see commitPeriod): no period is ever missing or counted
   * twice. The scope rows are locked, so a commit in flight either landed
   * before (and is rated again) or is refused for expecting the old state.
   */
  async resetScopes(input: ResetInput, now: Date): Promise<ScopeRecord[]> {
    const to = epochSeconds(input.state);
    return this.write(async (c) => {
      const rows: ScopeRow[] = [];
      if (input.scopes.all) {
        for (const r of (await c.query(`SELECT * FROM scopes ORDER BY scope_id COLLATE "C" FOR UPDATE`)).rows as ScopeRow[]) {
          if (checkReset(r.scope_id, scopeState(r) as ScopeState, to, false)) rows.push(r);
        }
      } else {
        const ids = [...new Set(input.scopes.scopeIds)].sort();
        const found = (
          await c.query(`SELECT * FROM scopes WHERE scope_id = ANY($1::text[]) ORDER BY scope_id COLLATE "C" FOR UPDATE`, [textArray(ids)])
        ).rows as ScopeRow[];
        for (const id of ids) {
          const r = found.find((x) => x.scope_id === id);
          if (r === undefined) throw new NotFoundError("scope", id);
          checkReset(id, scopeState(r) as ScopeState, to, true);
          rows.push(r);
        }
      }
      const out: ScopeRecord[] = [];
      for (const r of rows) {
        const updated = await c.query("UPDATE scopes SET state = $1 WHERE ref = $2 RETURNING *", [to, r.ref]);
        out.push(toScope(updated.rows[0] as ScopeRow));
        const tasks = (
          await c.query(`SELECT task_id, progress, "end" FROM reprocess_tasks WHERE scope_ref = $1 AND finished_at IS NULL FOR UPDATE`, [
            r.ref,
          ])
        ).rows as Array<{ task_id: string; progress: string; end: string }>;
        for (const t of tasks) {
          const clipped = clipTask({ progress: Number(t.progress), end: Number(t.end) }, to);
          await c.query(`UPDATE reprocess_tasks SET "end" = $1, finished_at = $2 WHERE task_id = $3`, [
            clipped.end,
            clipped.finished ? now.getTime() : null,
            t.task_id,
          ]);
        }
      }
      return out;
    });
  }

  async recordScopeError(input: ScopeErrorInput): Promise<void> {
    await this.write(async (c) => {
      await c.query("INSERT INTO scopes (scope_id, created_at) VALUES ($1, $2) ON CONFLICT (scope_id) DO NOTHING", [
        input.scopeId,
        epochSeconds(input.at),
      ]);
      const row = (await this.lockScope(c, input.scopeId)) as ScopeRow;
      if (input.fencingToken < BigInt(row.fencing_token)) {
        throw new FailedPreconditionError(
          `fencing token ${input.fencingToken} is older than ${row.fencing_token}, already seen for scope ${input.scopeId}`,
        );
      }
      const where = input.periodBegin === undefined ? "" : ` (period ${input.periodBegin.toISOString()})`;
      await c.query("UPDATE scopes SET last_error = $1, last_error_at = $2 WHERE ref = $3", [
        `${input.message}${where}`,
        epochSeconds(input.at),
        row.ref,
      ]);
    });
  }

  // ---------------------------------------------------------------------------
  // Reprocessing tasks

  private toTask(r: TaskRow): TaskRecord {
    const begin = Number(r.begin);
    const end = Number(r.end);
    const progress = Number(r.progress);
    return {
      taskId: r.task_id,
      scopeId: r.scope_id,
      begin: fromEpochSeconds(begin),
      end: fromEpochSeconds(end),
      progress: fromEpochSeconds(progress),
      reason: r.reason,
      createdAt: new Date(Number(r.created_at)),
      finishedAt: r.finished_at === null ? undefined : new Date(Number(r.finished_at)),
      periodsTotal: Math.round((end - begin) / this.period),
      periodsDone: Math.round((progress - begin) / this.period),
    };
  }

  async createTasks(input: CreateTasksInput, now: Date): Promise<TaskRecord[]> {
    const begin = epochSeconds(input.begin);
    const end = epochSeconds(input.end);
    return this.write(async (c) => {
      const rows: ScopeRow[] = [];
      if (input.scopes.all) {
        for (const r of (await c.query(`SELECT * FROM scopes ORDER BY scope_id COLLATE "C" FOR UPDATE`)).rows as ScopeRow[]) {
          if (checkTaskScope(r.scope_id, scopeState(r) as ScopeState, end, false)) rows.push(r);
        }
        if (rows.length === 0) {
          throw new FailedPreconditionError(`no active scope is rated up to ${input.end.toISOString()}: there is nothing to reprocess`);
        }
      } else {
        const ids = [...new Set(input.scopes.scopeIds)].sort();
        const found = (
          await c.query(`SELECT * FROM scopes WHERE scope_id = ANY($1::text[]) ORDER BY scope_id COLLATE "C" FOR UPDATE`, [textArray(ids)])
        ).rows as ScopeRow[];
        for (const id of ids) {
          const r = found.find((x) => x.scope_id === id);
          if (r === undefined) throw new NotFoundError("scope", id);
          checkTaskScope(id, scopeState(r) as ScopeState, end, true);
          rows.push(r);
        }
      }
      const ids: string[] = [];
      for (const r of rows) {
        const open = (
          await c.query(`SELECT task_id, begin, "end" FROM reprocess_tasks WHERE scope_ref = $1 AND finished_at IS NULL`, [r.ref])
        ).rows as Array<{
          task_id: string;
          begin: string;
          end: string;
        }>;
        checkNoOverlap(
          r.scope_id,
          begin,
          end,
          open.map((t) => ({ taskId: t.task_id, begin: Number(t.begin), end: Number(t.end) })),
        );
        const id = randomUUID();
        await c.query(
          `INSERT INTO reprocess_tasks (task_id, scope_ref, begin, "end", progress, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [id, r.ref, begin, end, begin, input.reason, now.getTime()],
        );
        ids.push(id);
      }
      const created = (
        await c.query(
          "SELECT t.*, s.scope_id FROM reprocess_tasks t JOIN scopes s ON s.ref = t.scope_ref WHERE t.task_id = ANY($1::text[])",
          [textArray(ids)],
        )
      ).rows as TaskRow[];
      return ids.map((id) => this.toTask(created.find((t) => t.task_id === id) as TaskRow));
    });
  }

  async listTasks(q: TaskQuery): Promise<TaskRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (q.scopeIds.length > 0) where.push(`s.scope_id = ANY(${arg(textArray(q.scopeIds))}::text[])`);
    if (q.unfinishedOnly) where.push("t.finished_at IS NULL");
    if (q.after !== undefined) {
      where.push(`(t.created_at, t.task_id COLLATE "C") ${q.ascending ? ">" : "<"} (${arg(q.after.createdAt)}, ${arg(q.after.taskId)})`);
    }
    const dir = q.ascending ? "ASC" : "DESC";
    const rows = (
      await this.pool.query(
        `SELECT t.*, s.scope_id FROM reprocess_tasks t JOIN scopes s ON s.ref = t.scope_ref
         ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY t.created_at ${dir}, t.task_id COLLATE "C" ${dir} LIMIT ${arg(q.limit)}`,
        args,
      )
    ).rows as TaskRow[];
    return rows.map((r) => this.toTask(r));
  }

  // ---------------------------------------------------------------------------
  // Queries

  async knownKeys(): Promise<Set<string>> {
    return new Set(((await this.pool.query("SELECT DISTINCT key FROM groupby_keys")).rows as Array<{ key: string }>).map((r) => r.key));
  }

  async summary(q: SummaryQuery): Promise<SummaryRow[]> {
    return withTransaction(
      this.pool,
      async (c) => {
        // Enough memory to group a month of day rollups in a hash table,
        // not on disk (the default 4 MB sorts on disk); for this query only.
        await c.query("SET LOCAL work_mem = '32MB'");
        return summarize(new PostgresReader(c), q, this.period);
      },
      "REPEATABLE READ READ ONLY",
    );
  }

  async listPoints(q: PointQuery): Promise<PointPage> {
    const reader = new PostgresReader(this.pool);
    const scopes = await reader.scopeRefs(intersect(q.filters, "scope_id"));
    const typeFilter = intersect(q.filters, "type");
    const types = await reader.typeRefs(undefined);
    const typeRefs = typeFilter === undefined ? undefined : [...types].filter(([, name]) => typeFilter.includes(name)).map(([ref]) => ref);
    if (typeRefs !== undefined && typeRefs.length === 0) return { points: [], next: undefined };
    const begin = Math.ceil(q.begin.getTime() / 1000);
    const end = Math.ceil(q.end.getTime() / 1000);
    const refs = [...scopes.keys()].filter((r) => q.after === undefined || r >= q.after.scopeRef).sort((a, b) => a - b);
    const out: Array<Record<string, string | number | null>> = [];
    for (const ref of refs) {
      const { where, args } = reader.base({
        source: "points",
        begin,
        end,
        scopeRefs: [ref],
        typeRefs,
        keyFilters: q.filters.filter((f) => f.key !== "scope_id" && f.key !== "type"),
        grain: "none",
        byScope: false,
        byType: false,
        groupKeys: [],
      });
      let resume = "";
      if (q.after !== undefined && ref === q.after.scopeRef) {
        args.push(q.after.begin, q.after.seq);
        resume = ` AND s.begin >= $${args.length - 1} AND (s.begin > $${args.length - 1} OR s.seq > $${args.length})`;
      }
      args.push(q.limit + 1 - out.length);
      const rows = (
        await this.pool.query(
          `SELECT s.scope_ref, s.begin, s.seq, s.type_ref, s.groupset_ref, s.unit, s.qty, s.price, s.metadata, g.canon
           FROM points s JOIN groupsets g ON g.ref = s.groupset_ref
           WHERE ${where}${resume} ORDER BY s.begin, s.seq LIMIT $${args.length}`,
          args,
        )
      ).rows as Array<Record<string, string | number | null>>;
      out.push(...rows);
      if (out.length > q.limit) break;
    }
    const page = out.slice(0, q.limit);
    const canon = new Map<number, Record<string, string>>();
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
        qty: trimmed(num(r.qty as string)).toString(),
        price: trimmed(num(r.price as string)).toString(),
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

  /** Recomputes every rollup from the points (exact NUMERIC sums) and lists each difference. */
  async verifyRollups(): Promise<string[]> {
    const checks = [
      {
        table: "sums_period",
        keys: "scope_ref, begin, type_ref",
        want: "SELECT scope_ref, begin, type_ref, count(*) AS n, sum(qty) AS q, sum(price) AS p FROM points GROUP BY 1, 2, 3",
      },
      {
        table: "sums_day",
        keys: "scope_ref, day, type_ref",
        want: `SELECT scope_ref, begin - begin % ${DAY} AS day, type_ref, count(*) AS n, sum(qty) AS q, sum(price) AS p FROM points GROUP BY 1, 2, 3`,
      },
      {
        table: "sums_day_groupset",
        keys: "scope_ref, day, type_ref, groupset_ref",
        want: `SELECT p.scope_ref, p.begin - p.begin % ${DAY} AS day, p.type_ref, p.groupset_ref, count(*) AS n, sum(p.qty) AS q, sum(p.price) AS p
               FROM points p JOIN rolled_days r ON r.scope_ref = p.scope_ref AND r.day = p.begin - p.begin % ${DAY} GROUP BY 1, 2, 3, 4`,
      },
      {
        table: "sums_day_key",
        keys: "key, scope_ref, day, type_ref, value",
        want: `SELECT v.key, p.scope_ref, p.begin - p.begin % ${DAY} AS day, p.type_ref, v.value, count(*) AS n, sum(p.qty) AS q, sum(p.price) AS p
               FROM points p JOIN rolled_days r ON r.scope_ref = p.scope_ref AND r.day = p.begin - p.begin % ${DAY}
               JOIN groupset_values v ON v.groupset_ref = p.groupset_ref GROUP BY 1, 2, 3, 4, 5`,
      },
    ];
    const problems: string[] = [];
    for (const c of checks) {
      const rows = (
        await this.pool.query(
          `SELECT concat_ws(':', ${c.keys}) AS key, w.n, w.q, w.p, t.points, t.qty, t.price
           FROM (${c.want}) w FULL JOIN ${c.table} t USING (${c.keys})
           WHERE w.n IS DISTINCT FROM t.points OR w.q IS DISTINCT FROM t.qty OR w.p IS DISTINCT FROM t.price`,
        )
      ).rows as Array<Record<string, string | null>>;
      for (const r of rows) {
        const side = (n: string | null, q: string | null, p: string | null) =>
          n === null ? undefined : { count: Number(n), qty: num(q), price: num(p) };
        problems.push(
          rollupProblem(
            c.table,
            r.key ?? "",
            side(r.points ?? null, r.qty ?? null, r.price ?? null),
            side(r.n ?? null, r.q ?? null, r.p ?? null),
          ),
        );
      }
    }
    return problems;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The summary planner's view of PostgreSQL, through one client (a snapshot) or the pool. */
class PostgresReader implements SummaryBackend {
  constructor(private readonly c: Queryable) {}

  async scopeRefs(scopeIds: string[] | undefined): Promise<Map<number, string>> {
    const rows = (
      scopeIds === undefined
        ? await this.c.query("SELECT ref, scope_id FROM scopes")
        : await this.c.query("SELECT ref, scope_id FROM scopes WHERE scope_id = ANY($1::text[])", [textArray(scopeIds)])
    ).rows as Array<{ ref: number; scope_id: string }>;
    return new Map(rows.map((r) => [r.ref, r.scope_id]));
  }

  async typeRefs(names: string[] | undefined): Promise<Map<number, string>> {
    const rows = (
      names === undefined
        ? await this.c.query("SELECT ref, name FROM types")
        : await this.c.query("SELECT ref, name FROM types WHERE name = ANY($1::text[])", [textArray(names)])
    ).rows as Array<{ ref: number; name: string }>;
    return new Map(rows.map((r) => [r.ref, r.name]));
  }

  async unrolledDays(scopeRefs: number[], d0: number, d1: number): Promise<Array<{ scopeRef: number; day: number }>> {
    const rows = (
      await this.c.query(
        `SELECT DISTINCT d.scope_ref, d.day FROM sums_day d
         WHERE d.scope_ref = ANY($1::int[]) AND d.day >= $2 AND d.day < $3
           AND NOT EXISTS (SELECT 1 FROM rolled_days r WHERE r.scope_ref = d.scope_ref AND r.day = d.day)`,
        [plainArray(scopeRefs), d0, d1],
      )
    ).rows as Array<{ scope_ref: number; day: string }>;
    return rows.map((r) => ({ scopeRef: r.scope_ref, day: Number(r.day) }));
  }

  /** FROM and WHERE of an aggregate over a source, with its parameters and group expressions. */
  base(req: AggregateRequest): { from: string; where: string; args: unknown[]; groups: string[] } {
    const timeCol = req.source === "points" || req.source === "sums_period" ? "begin" : "day";
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    const groups = [
      req.grain === "none" ? "0" : req.grain === "period" || timeCol === "day" ? `s.${timeCol}` : `(s.begin - s.begin % ${DAY})`,
      req.byScope ? "s.scope_ref" : "0",
      req.byType ? "s.type_ref" : "0",
    ];
    let from = `${req.source} s`;
    const where: string[] = [];
    if (req.source === "sums_day_key") {
      where.push(`s.key = ${arg(req.key)}`);
      if (req.groupKeys.length > 0) groups.push("s.value");
    } else {
      req.groupKeys.forEach((key, n) => {
        from += ` LEFT JOIN groupset_values k${n} ON k${n}.groupset_ref = s.groupset_ref AND k${n}.key = ${arg(key)}`;
        groups.push(`COALESCE(k${n}.value, '')`);
      });
    }
    where.push(
      req.scopeRefs.length === 1 ? `s.scope_ref = ${arg(req.scopeRefs[0])}` : `s.scope_ref = ANY(${arg(plainArray(req.scopeRefs))}::int[])`,
      `s.${timeCol} >= ${arg(req.begin)}`,
      `s.${timeCol} < ${arg(req.end)}`,
    );
    if (req.typeRefs !== undefined) where.push(`s.type_ref = ANY(${arg(plainArray(req.typeRefs))}::int[])`);
    if (req.keyValues !== undefined) where.push(`s.value = ANY(${arg(textArray(req.keyValues))}::text[])`);
    if (req.rolledOnly) where.push("EXISTS (SELECT 1 FROM rolled_days r WHERE r.scope_ref = s.scope_ref AND r.day = s.day)");
    for (const f of req.keyFilters) {
      const any: string[] = [];
      const values = f.values.filter((v) => v !== "");
      if (values.length > 0) {
        any.push(
          `s.groupset_ref IN (SELECT groupset_ref FROM groupset_values WHERE key = ${arg(f.key)} AND value = ANY(${arg(textArray(values))}::text[]))`,
        );
      }
      if (values.length < f.values.length) {
        any.push(`s.groupset_ref NOT IN (SELECT groupset_ref FROM groupset_values WHERE key = ${arg(f.key)} AND value <> '')`);
      }
      where.push(`(${any.join(" OR ")})`);
    }
    return { from, where: where.join(" AND "), args, groups };
  }

  async aggregate(req: AggregateRequest): Promise<AggregateRow[]> {
    const { from, where, args, groups } = this.base(req);
    const count = req.source === "points" ? "count(*)" : "sum(s.points)";
    const rows = (
      await this.c.query({
        text: `SELECT ${groups.map((g, n) => `${g} AS g${n}`).join(", ")}, ${count} AS n, sum(s.qty) AS q, sum(s.price) AS p
               FROM ${from} WHERE ${where} GROUP BY ${groups.map((_, n) => n + 1).join(", ")}`,
        values: args,
        rowMode: "array",
      })
    ).rows as Array<Array<string | number>>;
    const k = groups.length;
    return rows.map((r) => ({
      t: Number(r[0]),
      scopeRef: Number(r[1]),
      typeRef: Number(r[2]),
      keys: req.groupKeys.map((_, n) => String(r[n + 3])),
      count: Number(r[k]),
      qty: num(r[k + 1] as string),
      price: num(r[k + 2] as string),
    }));
  }
}
