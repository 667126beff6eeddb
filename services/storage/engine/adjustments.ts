/**
 * Re-rating as signed adjustments (README "Adjustments").
 *
 * Invariant: the points and rollups of a period are what it costs now;
 * what was billed before each re-rating is never lost. When a commit
 * replaces a period that was committed before (a reprocessing task, or
 * regular rating after a reset) and its amounts change, the same commit
 * transaction
 *  1. opens an adjustment (scope, period, the task or the reset, its
 *     actor and reason, the time) with the period's billed lines (kind 0:
 *     its points summed per type and groupby map) and moves those points
 *     to billed_points, before the period is cleared;
 *  2. once the new points are written, adds the re-rating lines (kind 1,
 *     the same sums over the new points);
 *  3. drops all of it again when every line is equal: equal amounts make
 *     no adjustment.
 * So "now" is the points, and "as billed at T" is now minus, for every
 * adjustment recorded after T, its re-rating lines plus its billed lines
 * (the sums telescope to what the period held at T). A crash anywhere
 * rolls the whole commit back, adjustment included; a replayed commit is
 * recognised before any of this (rules.ts) and records nothing.
 */
import type { Decimal } from "../../../libs/money/decimal.js";
import { fromEpochSeconds } from "../../../libs/time/period.js";
import type { AdjustmentLine, AdjustmentQuery } from "../domain.js";
import { int, type Sql } from "./dialect.js";
import { trimmed } from "./exact.js";
import { Where } from "./where.js";

/** What an adjustment is recorded against. */
export interface AdjustmentTag {
  taskId: string | null;
  resetId: string | null;
  actor: string;
  reason: string;
}

export const BILLED = 0;
export const RERATED = 1;

const LINE_COLUMNS = ["adjustment_ref", "kind", "scope_ref", "begin", "recorded_at", "type_ref", "groupset_ref"];

async function addLines(sql: Sql, ref: number, kind: number, scopeRef: number, begin: number, at: number): Promise<void> {
  await sql.insertSums("adjustment_lines", LINE_COLUMNS, {
    groups: [String(ref), String(kind), "s.scope_ref", "s.begin", String(at), "s.type_ref", "s.groupset_ref"],
    from: "points s",
    where: "s.scope_ref = ? AND s.begin = ?",
    params: [scopeRef, begin],
  });
}

/** Step 1: before the period is cleared. Returns the adjustment's ref. */
export async function openAdjustment(sql: Sql, scopeRef: number, begin: number, tag: AdjustmentTag, at: number): Promise<number> {
  const [row] = await sql.all(
    `INSERT INTO adjustments (scope_ref, begin, task_id, reset_id, actor, reason, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ref`,
    [scopeRef, begin, tag.taskId, tag.resetId, tag.actor, tag.reason, at],
  );
  const ref = int(row?.ref);
  await addLines(sql, ref, BILLED, scopeRef, begin, at);
  const cols = `seq, type_ref, groupset_ref, unit, ${sql.exact.select("qty")}, ${sql.exact.select("price")}, metadata`;
  await sql.run(`INSERT INTO billed_points (adjustment_ref, ${cols}) SELECT ?, ${cols} FROM points WHERE scope_ref = ? AND begin = ?`, [
    ref,
    scopeRef,
    begin,
  ]);
  return ref;
}

interface Sums {
  count: number;
  qty: Decimal;
  price: Decimal;
}

/** The lines of adjustments, by "adjustment:kind:type:groupset". */
export async function readLines(sql: Sql, where: string, params: (string | number)[]): Promise<Map<string, Sums>> {
  const { exact } = sql;
  const rows = await sql.all(
    `SELECT adjustment_ref, kind, type_ref, groupset_ref, points, ${exact.select("qty")}, ${exact.select("price")}
     FROM adjustment_lines WHERE ${where}`,
    params,
  );
  return new Map(
    rows.map((r) => [
      `${int(r.adjustment_ref)}:${int(r.kind)}:${int(r.type_ref)}:${int(r.groupset_ref)}`,
      { count: int(r.points), qty: exact.read(r, "qty"), price: exact.read(r, "price") },
    ]),
  );
}

/**
 * Steps 2 and 3: after the new points are written. `typeTotalsChanged`: a
 * type's totals moved, so some line differs (no need to compare them).
 * Returns whether the adjustment is kept.
 */
export async function closeAdjustment(
  sql: Sql,
  ref: number,
  scopeRef: number,
  begin: number,
  at: number,
  typeTotalsChanged: boolean,
): Promise<boolean> {
  await addLines(sql, ref, RERATED, scopeRef, begin, at);
  if (typeTotalsChanged) return true;
  const lines = await readLines(sql, "adjustment_ref = ?", [ref]);
  let changed = false;
  const keys = new Set([...lines.keys()].map((k) => k.split(":").slice(2).join(":")));
  for (const k of keys) {
    const was = lines.get(`${ref}:${BILLED}:${k}`);
    const now = lines.get(`${ref}:${RERATED}:${k}`);
    if (was === undefined || now === undefined || was.count !== now.count || !was.qty.eq(now.qty) || !was.price.eq(now.price)) {
      changed = true;
      break;
    }
  }
  if (changed) return true;
  await sql.run("DELETE FROM billed_points WHERE adjustment_ref = ?", [ref]);
  await sql.run("DELETE FROM adjustment_lines WHERE adjustment_ref = ?", [ref]);
  await sql.run("DELETE FROM adjustments WHERE ref = ?", [ref]);
  return false;
}

/** The lines of the adjustments of periods in [begin, end), signed, oldest adjustment first. */
export async function listAdjustments(sql: Sql, q: AdjustmentQuery, period: number): Promise<AdjustmentLine[]> {
  const where = new Where(sql);
  where.add("a.begin >= ? AND a.begin < ?", Math.ceil(q.begin.getTime() / 1000), Math.ceil(q.end.getTime() / 1000));
  if (q.scopeIds.length > 0) where.anyOf("sc.scope_id", q.scopeIds, "text");
  if (q.types.length > 0) where.anyOf("t.name", q.types, "text");
  if (q.taskId !== undefined) where.add("a.task_id = ?", q.taskId);
  const c = q.after;
  if (c !== undefined) {
    where.add("(l.adjustment_ref, l.kind, l.type_ref, l.groupset_ref) > (?, ?, ?, ?)", c.adjustment, c.kind, c.typeRef, c.groupsetRef);
  }
  const { exact } = sql;
  const rows = await sql.all(
    `SELECT l.adjustment_ref, l.kind, l.type_ref, l.groupset_ref, l.points, ${exact.select("qty", "l")}, ${exact.select("price", "l")},
       a.begin, a.task_id, a.reset_id, a.actor, a.reason, a.recorded_at, sc.scope_id, t.name AS type, g.canon
     FROM adjustment_lines l
       JOIN adjustments a ON a.ref = l.adjustment_ref
       JOIN scopes sc ON sc.ref = a.scope_ref
       JOIN types t ON t.ref = l.type_ref
       JOIN groupsets g ON g.ref = l.groupset_ref
     ${where.clause()}ORDER BY l.adjustment_ref, l.kind, l.type_ref, l.groupset_ref LIMIT ?`,
    [...where.params, q.limit],
  );
  return rows.map((r) => {
    const b = int(r.begin);
    const kind = int(r.kind);
    const sign = kind === BILLED ? -1 : 1;
    const qty = trimmed(exact.read(r, "qty"));
    const price = trimmed(exact.read(r, "price"));
    const cursor = { adjustment: int(r.adjustment_ref), kind, typeRef: int(r.type_ref), groupsetRef: int(r.groupset_ref) };
    return {
      adjustmentId: String(cursor.adjustment),
      scopeId: r.scope_id as string,
      begin: fromEpochSeconds(b),
      end: fromEpochSeconds(b + period),
      type: r.type as string,
      groupby: JSON.parse(r.canon as string) as Record<string, string>,
      kind: kind === BILLED ? "reversal" : "rerating",
      qty: sign < 0 ? qty.neg() : qty,
      price: sign < 0 ? price.neg() : price,
      points: sign * int(r.points),
      taskId: (r.task_id as string | null) ?? undefined,
      resetId: (r.reset_id as string | null) ?? undefined,
      actor: r.actor as string,
      reason: r.reason as string,
      recordedAt: new Date(int(r.recorded_at)),
      cursor,
    };
  });
}
