/**
 * Reprocessing tasks: creating them over the rated window of their scopes,
 * listing them, and what commits and resets do to them.
 */
import { randomUUID } from "node:crypto";
import { FailedPreconditionError } from "../../../libs/errors/errors.js";
import { monthEnd } from "../../../libs/time/month.js";
import { epochSeconds, fromEpochSeconds } from "../../../libs/time/period.js";
import type { CreateTasksInput, TaskQuery, TaskRecord } from "../domain.js";
import { int, intOrNull, type Sql } from "./dialect.js";
import { checkNoOverlap, checkTaskScope, clipTask, type TaskState } from "./rules.js";
import { selectScopes } from "./scope-selection.js";
import { Where } from "./where.js";

interface TaskRow {
  task_id: string;
  scope_id: string;
  begin: unknown;
  end: unknown;
  progress: unknown;
  reason: string;
  actor: string;
  requested_end: unknown;
  created_at: unknown;
  finished_at: unknown;
}

const TASKS = "SELECT t.*, s.scope_id FROM reprocess_tasks t JOIN scopes s ON s.ref = t.scope_ref";

function toTask(r: TaskRow, period: number): TaskRecord {
  const begin = int(r.begin);
  const end = int(r.end);
  const progress = int(r.progress);
  const finishedAt = intOrNull(r.finished_at);
  return {
    taskId: r.task_id,
    scopeId: r.scope_id,
    begin: fromEpochSeconds(begin),
    end: fromEpochSeconds(end),
    requestedEnd: fromEpochSeconds(intOrNull(r.requested_end) ?? end),
    progress: fromEpochSeconds(progress),
    reason: r.reason,
    actor: r.actor ?? "",
    createdAt: new Date(int(r.created_at)),
    finishedAt: finishedAt === null ? undefined : new Date(finishedAt),
    periodsTotal: Math.round((end - begin) / period),
    periodsDone: Math.round((progress - begin) / period),
  };
}

/** The task a reprocessing commit advances, locked until the transaction ends. */
export async function lockTask(sql: Sql, taskId: string): Promise<TaskState | undefined> {
  const row = (await sql.all<TaskRow>(`${TASKS} WHERE t.task_id = ?${sql.lock("t")}`, [taskId]))[0];
  return row === undefined
    ? undefined
    : {
        taskId: row.task_id,
        scopeId: row.scope_id,
        begin: int(row.begin),
        end: int(row.end),
        progress: int(row.progress),
        finished: row.finished_at !== null,
      };
}

/**
 * A re-rated period's prices depend on its month-to-date quantity (tiered):
 * the task goes on to the end of that billing month, as far as the scope is
 * rated (toMonthEnd), in the commit's transaction, before its progress is
 * moved. A task whose periods have no tiered price keeps its window.
 */
export async function extendToMonthEnd(sql: Sql, task: TaskState, state: number | null, timeZone: string, period: number): Promise<void> {
  const end = toMonthEnd(task.end, state, timeZone, period);
  if (end <= task.end) return;
  await sql.run(`UPDATE reprocess_tasks SET "end" = ? WHERE task_id = ?`, [end, task.taskId]);
  task.end = end;
}

/** A reprocessing commit moved the task's progress to `progress`; it is finished when that reaches its end. */
export async function advanceTask(sql: Sql, task: TaskState, progress: number): Promise<boolean> {
  const finished = progress >= task.end;
  await sql.run("UPDATE reprocess_tasks SET progress = ?, finished_at = ? WHERE task_id = ?", [
    progress,
    finished ? Date.now() : null,
    task.taskId,
  ]);
  return finished;
}

/**
 * A reset of the scope to `to`: its unfinished tasks keep only what lies
 * before `to` (regular rating replaces the rest), and end if nothing is left.
 */
export async function clipOpenTasks(sql: Sql, scopeRef: number, to: number, now: Date): Promise<void> {
  const open = await sql.all<TaskRow>(
    `SELECT task_id, progress, "end" FROM reprocess_tasks WHERE scope_ref = ? AND finished_at IS NULL${sql.lock()}`,
    [scopeRef],
  );
  for (const t of open) {
    const clipped = clipTask({ progress: int(t.progress), end: int(t.end) }, to);
    await sql.run(`UPDATE reprocess_tasks SET "end" = ?, finished_at = ? WHERE task_id = ?`, [
      clipped.end,
      clipped.finished ? now.getTime() : null,
      t.task_id,
    ]);
  }
}

/**
 * A task's end moved on to the end of the billing month holding its last
 * period (the end of the month's last period: a period belongs to the
 * month of its begin), but not past the scope's state: re-rating
 * a period changes the month-to-date quantity of every later period of its
 * month (tiered prices, services/collector/processor/month-to-date.ts), so
 * they are re-rated after it, in order, by the same task.
 */
export function toMonthEnd(end: number, state: number | null, timeZone: string, period: number): number {
  const month = epochSeconds(monthEnd(fromEpochSeconds(end - 1), timeZone));
  // A period belongs to the month of its begin: the last one of the month may end after the month does.
  const aligned = Math.ceil(month / period) * period;
  return Math.max(end, Math.min(aligned, state ?? end));
}

export async function createTasks(sql: Sql, input: CreateTasksInput, now: Date, period: number): Promise<TaskRecord[]> {
  const begin = epochSeconds(input.begin);
  const end = epochSeconds(input.end);
  const scopes = await selectScopes(sql, input.scopes, (scopeId, state, explicit) => checkTaskScope(scopeId, state, end, explicit));
  if (input.scopes.all && scopes.length === 0) {
    throw new FailedPreconditionError(`no active scope is rated up to ${input.end.toISOString()}: there is nothing to reprocess`);
  }
  const ids: string[] = [];
  for (const s of scopes) {
    const taskEnd = end;
    const open = await sql.all<TaskRow>(`SELECT task_id, begin, "end" FROM reprocess_tasks WHERE scope_ref = ? AND finished_at IS NULL`, [
      int(s.ref),
    ]);
    checkNoOverlap(
      s.scope_id,
      begin,
      taskEnd,
      open.map((t) => ({ taskId: t.task_id, begin: int(t.begin), end: int(t.end) })),
    );
    const id = randomUUID();
    await sql.run(
      `INSERT INTO reprocess_tasks (task_id, scope_ref, begin, "end", requested_end, progress, reason, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, int(s.ref), begin, taskEnd, end, begin, input.reason, input.actor ?? "", now.getTime()],
    );
    ids.push(id);
  }
  if (ids.length === 0) return [];
  const [created, list] = sql.anyOf("t.task_id", ids, "text");
  const rows = new Map((await sql.all<TaskRow>(`${TASKS} WHERE ${created}`, [list])).map((r) => [r.task_id, r]));
  return ids.map((id) => toTask(rows.get(id) as TaskRow, period));
}

export async function listTasks(sql: Sql, q: TaskQuery, period: number): Promise<TaskRecord[]> {
  const where = new Where(sql);
  if (q.scopeIds.length > 0) where.anyOf("s.scope_id", q.scopeIds, "text");
  if (q.unfinishedOnly) where.add("t.finished_at IS NULL");
  const taskId = sql.bytewise("t.task_id");
  if (q.after !== undefined) where.add(`(t.created_at, ${taskId}) ${q.ascending ? ">" : "<"} (?, ?)`, q.after.createdAt, q.after.taskId);
  const dir = q.ascending ? "ASC" : "DESC";
  const rows = await sql.all<TaskRow>(`${TASKS} ${where.clause()}ORDER BY t.created_at ${dir}, ${taskId} ${dir} LIMIT ?`, [
    ...where.params,
    q.limit,
  ]);
  return rows.map((r) => toTask(r, period));
}
