/**
 * CommitPeriod: the one write of a period's points, fenced, replacing
 * whatever the period held, and moving the scope's state (or a reprocess
 * task's progress) in the same transaction.
 */
import { FailedPreconditionError } from "../../../libs/errors/errors.js";
import { epochSeconds } from "../../../libs/time/period.js";
import type { CommitInput, CommitResult, StoredPoint } from "../domain.js";
import { type AdjustmentTag, closeAdjustment, openAdjustment } from "./adjustments.js";
import { type Dialect, int, type Sql, type TypeSum } from "./dialect.js";
import type { Dictionary } from "./dictionary.js";
import { type Parts, parseParts } from "./exact.js";
import { FrameTotals, keysByType, Learnt } from "./frame.js";
import { clearPeriod, rollDay } from "./rollups.js";
import { type CommitRequest, decideCommit, decideReprocessCommit, type FrameState, type TaskState } from "./rules.js";
import { type ScopeRow, scopeState } from "./scope-selection.js";
import { recordRefusal } from "./scopes.js";
import { DAY } from "./summary.js";
import { advanceTask, extendToMonthEnd, lockTask } from "./tasks.js";
import { recordUnpriced, unpricedBefore } from "./unpriced.js";

interface Decision {
  replay: boolean;
  scope: ScopeRow | undefined;
  task: TaskState | undefined;
  /** The period was committed before: replacing it is a re-rating (adjustments.ts). */
  billed: boolean;
}

/**
 * Invariant: the points of a (scope, period) are written only by the
 * transaction that moves the scope's state from the period's begin to its
 * end (or a reprocess task's progress likewise), and replace whatever the
 * period held; the period's rollups are rewritten in the same transaction.
 * A period committed before whose amounts change keeps what was billed as
 * an adjustment, in the same transaction (adjustments.ts).
 * The scope's row is locked first (SQLite: the whole file), so two
 * committers of one scope serialise and the second sees the first's state.
 * Each partial failure leaves the database as it was:
 *  - a stale fencing token, a period that ends later than storage's clock
 *    allows, a state or progress that moved, an inactive scope, a finished
 *    task: refused before anything is written; the refusal is then
 *    recorded on the scope (its last error) in a transaction of its own;
 *  - the same commit again after a lost reply (same digest and token,
 *    state already at its end): answered as replayed, nothing written;
 *  - a lost connection, a crash or an error anywhere after the checks: the
 *    transaction rolls back, the state has not moved, and the committer
 *    retries the period (or finds it replayed, if the COMMIT itself went
 *    through before the connection broke).
 */
export async function commitPeriod(db: Dialect, dictionary: Dictionary, input: CommitInput): Promise<CommitResult> {
  const begin = epochSeconds(input.begin);
  const end = epochSeconds(input.end);
  const req: CommitRequest = {
    scopeId: input.scopeId,
    begin,
    end,
    expected: input.expectedState === undefined ? null : epochSeconds(input.expectedState),
    fence: { epoch: input.fencingEpoch, token: input.fencingToken },
    digest: input.digest,
    taskId: input.reprocessTaskId,
    notAfter: input.notAfter === undefined ? null : epochSeconds(input.notAfter),
  };
  const catalog = keysByType(input.points);
  const atMs = Date.now();
  const now = Math.floor(atMs / 1000);
  const learnt = new Learnt();
  const replayed = { state: input.end, replayed: true, pointsWritten: 0 };
  const write = db.write(async (sql): Promise<CommitResult> => {
    let decision = await decide(sql, req);
    if (decision.replay) return replayed;
    let scope = decision.scope;
    if (scope === undefined) {
      scope = (
        await sql.all<ScopeRow>(
          `INSERT INTO scopes (scope_id, scope_key, fetcher, collector, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (scope_id) DO NOTHING RETURNING *`,
          [input.scopeId, input.scopeKey, input.fetcher, input.collector, now],
        )
      )[0];
      if (scope === undefined) {
        // Another replica created the scope meanwhile (and maybe committed
        // to it): decide again on what it wrote.
        decision = await decide(sql, req);
        if (decision.replay) return replayed;
        scope = decision.scope as ScopeRow;
      }
    }
    const scopeRef = int(scope.ref);
    const unpricedWas = await unpricedBefore(sql, scope, begin, input.unpricedPoints);
    const day = begin - (begin % DAY);
    const adjustment = decision.billed ? await openAdjustment(sql, scopeRef, begin, await tagOf(sql, decision), atMs) : undefined;
    const old = await clearPeriod(sql, scopeRef, day, begin);

    const typeRefs = await dictionary.typeRefs(sql, [...catalog.keys()], learnt);
    await dictionary.addKeys(sql, catalog, typeRefs, learnt);
    const groupsets = await dictionary.groupsetRefs(sql, scopeRef, input.points, learnt);
    const totals = await insertPoints(sql, scopeRef, begin, input.points, typeRefs, groupsets);
    const typeTotalsChanged = await writeSums(sql, scopeRef, begin, day, old, totals, typeRefs);
    if (adjustment !== undefined) await closeAdjustment(sql, adjustment, scopeRef, begin, atMs, typeTotalsChanged);

    // first_committed_at is written by the period's first commit only: a
    // re-commit leaves it, so "as billed at T" knows whether the period had
    // been billed at all by T (as-of.ts).
    await sql.run(
      `INSERT INTO frames (scope_ref, begin, "end", fencing_token, owner, digest, task_id, points, committed_at, first_committed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope_ref, begin) DO UPDATE SET "end" = excluded."end", fencing_token = excluded.fencing_token,
         owner = excluded.owner, digest = excluded.digest, task_id = excluded.task_id, points = excluded.points,
         committed_at = excluded.committed_at`,
      [scopeRef, begin, end, input.fencingToken.toString(), input.owner, input.digest, req.taskId ?? null, input.points.length, now, atMs],
    );
    await recordUnpriced(sql, scopeRef, begin, unpricedWas, input.unpricedPoints);
    // The request's fence is at least the scope's (the rules checked it):
    // it becomes the scope's, re-based when its epoch is newer.
    const token = input.fencingToken.toString();
    const epoch = input.fencingEpoch.toString();
    let finishesTask = false;
    if (decision.task !== undefined) {
      if (input.rerateRestOfMonthIn !== undefined) {
        await extendToMonthEnd(sql, decision.task, scopeState(decision.scope as ScopeRow).state, input.rerateRestOfMonthIn, end - begin);
      }
      finishesTask = await advanceTask(sql, decision.task, end);
      await sql.run("UPDATE scopes SET fencing_epoch = ?, fencing_token = ? WHERE ref = ?", [epoch, token, scopeRef]);
    } else {
      await sql.run(
        "UPDATE scopes SET state = ?, fencing_epoch = ?, fencing_token = ?, last_error = NULL, last_error_at = NULL WHERE ref = ?",
        [end, epoch, token, scopeRef],
      );
    }
    // The day is complete when its last period is written; a reprocess
    // task that stops inside a day completes that day too.
    if (end - day === DAY || finishesTask) await rollDay(sql, scopeRef, day);
    return { state: input.end, replayed: false, pointsWritten: input.points.length };
  });
  const result = await write.catch(async (err: unknown) => {
    if (err instanceof FailedPreconditionError) await recordRefusal(db, input.scopeId, input.begin, err, now);
    throw err;
  });
  dictionary.learn(learnt);
  return result;
}

/** Reads the scope (locked), its period's frame record and the task, and applies the rules. */
async function decide(sql: Sql, req: CommitRequest): Promise<Decision> {
  const row = (
    await sql.all<ScopeRow & { frame_token: unknown; frame_digest: string | null; frame_task: string | null }>(
      `SELECT s.*, f.fencing_token AS frame_token, f.digest AS frame_digest, f.task_id AS frame_task
       FROM scopes s LEFT JOIN frames f ON f.scope_ref = s.ref AND f.begin = ?
       WHERE s.scope_id = ?${sql.lock("s")}`,
      [req.begin, req.scopeId],
    )
  )[0];
  const frame: FrameState | undefined =
    row === undefined || row.frame_token === null
      ? undefined
      : { fencingToken: BigInt(row.frame_token as string), digest: row.frame_digest ?? "", taskId: row.frame_task };
  const scope = row === undefined ? undefined : scopeState(row);
  const billed = frame !== undefined;
  if (req.taskId === undefined) return { replay: decideCommit(req, scope, frame) === "replay", scope: row, task: undefined, billed };
  const task = await lockTask(sql, req.taskId);
  return { replay: decideReprocessCommit(req, scope, task, frame) === "replay", scope: row, task, billed };
}

/** What re-rates a billed period: its reprocessing task, or else the scope's last reset. */
async function tagOf(sql: Sql, decision: Decision): Promise<AdjustmentTag> {
  if (decision.task !== undefined) {
    const [t] = await sql.all<{ actor: string; reason: string }>("SELECT actor, reason FROM reprocess_tasks WHERE task_id = ?", [
      decision.task.taskId,
    ]);
    return { taskId: decision.task.taskId, resetId: null, actor: t?.actor ?? "", reason: t?.reason ?? "" };
  }
  const s = decision.scope as (ScopeRow & { reset_id: string | null; reset_actor: string | null; reset_reason: string | null }) | undefined;
  return { taskId: null, resetId: s?.reset_id ?? null, actor: s?.reset_actor ?? "", reason: s?.reset_reason ?? "" };
}

/**
 * The frame's points, in bulk, numbered from `firstSeq` in the period;
 * returns their totals per type. The loop runs for every point: nothing in
 * it allocates.
 */
export async function insertPoints(
  sql: Sql,
  scopeRef: number,
  begin: number,
  points: StoredPoint[],
  typeRefs: Map<string, number>,
  groupsets: Int32Array,
  firstSeq = 0,
): Promise<FrameTotals> {
  const rows = sql.pointRows(scopeRef, begin, points.length);
  const totals = new FrameTotals();
  const qty: Parts = { i: 0, f1: 0, f2: 0, x: null };
  const price: Parts = { i: 0, f1: 0, f2: 0, x: null };
  let lastType = "";
  let typeRef = 0;
  for (let n = 0; n < points.length; n++) {
    const p = points[n];
    if (p === undefined) continue;
    if (p.type !== lastType) {
      lastType = p.type;
      typeRef = typeRefs.get(p.type) ?? 0;
    }
    parseParts(p.qty, qty);
    parseParts(p.price, price);
    totals.add(p.type, qty, price);
    rows.add(firstSeq + n, typeRef, groupsets[n] as number, p, qty, price);
  }
  await rows.flush();
  return totals;
}

/**
 * The period's new sums_period rows, and sums_day changed by the difference
 * between its old and new totals; returns whether any type's totals changed.
 */
async function writeSums(
  sql: Sql,
  scopeRef: number,
  begin: number,
  day: number,
  old: TypeSum[],
  totals: FrameTotals,
  typeRefs: Map<string, number>,
): Promise<boolean> {
  const delta = new Map<number, TypeSum>();
  for (const o of old) delta.set(o.typeRef, { typeRef: o.typeRef, count: -o.count, qty: o.qty.neg(), price: o.price.neg() });
  const period: TypeSum[] = [];
  for (const [type, t] of totals.byType) {
    const sum = { typeRef: typeRefs.get(type) ?? 0, count: t.count, qty: t.qty.value(), price: t.price.value() };
    period.push(sum);
    const d = delta.get(sum.typeRef);
    delta.set(
      sum.typeRef,
      d === undefined ? sum : { typeRef: sum.typeRef, count: d.count + sum.count, qty: d.qty.add(sum.qty), price: d.price.add(sum.price) },
    );
  }
  const changes = [...delta.values()].filter((d) => d.count !== 0 || !d.qty.isZero() || !d.price.isZero());
  await sql.writeSums(scopeRef, begin, day, period, changes);
  return changes.length > 0;
}
