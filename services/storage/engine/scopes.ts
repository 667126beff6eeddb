/**
 * Scopes: reading, creating and updating them, moving their state back
 * (reset), and recording their errors.
 */
import { randomUUID } from "node:crypto";
import { AlreadyExistsError, NotFoundError } from "../../../libs/errors/errors.js";
import { epochSeconds } from "../../../libs/time/period.js";
import type { CreateScopeInput, ReseedInput, ResetInput, ScopeErrorInput, ScopeQuery, ScopeRecord, UpdateScopeInput } from "../domain.js";
import { bool, type Dialect, int, intOrNull, type Sql } from "./dialect.js";
import { checkFence, checkReset, checkStart } from "./rules.js";
import { lockScope, type ScopeRow, scopeState, selectScopes, toScope } from "./scope-selection.js";
import { clipOpenTasks } from "./tasks.js";
import { Where } from "./where.js";

export async function getScope(sql: Sql, scopeId: string): Promise<ScopeRecord | undefined> {
  const row = (await sql.all<ScopeRow>("SELECT * FROM scopes WHERE scope_id = ?", [scopeId]))[0];
  return row === undefined ? undefined : toScope(row);
}

export async function listScopes(sql: Sql, q: ScopeQuery): Promise<ScopeRecord[]> {
  const where = new Where(sql);
  if (q.scopeIds.length > 0) where.anyOf("scope_id", q.scopeIds, "text");
  if (q.active !== undefined) where.add("active = ?", q.active);
  if (q.scopeKey !== "") where.add("scope_key = ?", q.scopeKey);
  if (q.fetcher !== "") where.add("fetcher = ?", q.fetcher);
  if (q.collector !== "") where.add("collector = ?", q.collector);
  if (q.after !== undefined) where.add(`${sql.bytewise("scope_id")} > ?`, q.after);
  const rows = await sql.all<ScopeRow>(`SELECT * FROM scopes ${where.clause()}ORDER BY ${sql.bytewise("scope_id")} LIMIT ?`, [
    ...where.params,
    q.limit,
  ]);
  return rows.map(toScope);
}

export async function createScope(sql: Sql, input: CreateScopeInput, now: Date): Promise<ScopeRecord> {
  const t = epochSeconds(now);
  const [row] = await sql.all<ScopeRow>(
    `INSERT INTO scopes (scope_id, state, active, scope_key, fetcher, collector, active_toggled_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope_id) DO NOTHING RETURNING *`,
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
  );
  if (row === undefined) throw new AlreadyExistsError(`scope ${JSON.stringify(input.scopeId)} already exists`);
  return toScope(row);
}

export async function updateScope(sql: Sql, input: UpdateScopeInput, now: Date): Promise<ScopeRecord> {
  const row = await lockScope(sql, input.scopeId);
  if (row === undefined) throw new NotFoundError("scope", input.scopeId);
  const active = input.active ?? bool(row.active);
  const start = input.start === undefined ? undefined : epochSeconds(input.start);
  if (start !== undefined) checkStart(input.scopeId, scopeState(row), start);
  const [updated] = await sql.all<ScopeRow>(
    "UPDATE scopes SET state = ?, active = ?, scope_key = ?, fetcher = ?, collector = ?, active_toggled_at = ? WHERE ref = ? RETURNING *",
    [
      start ?? intOrNull(row.state),
      active,
      input.scopeKey ?? row.scope_key,
      input.fetcher ?? row.fetcher,
      input.collector ?? row.collector,
      active !== bool(row.active) ? epochSeconds(now) : intOrNull(row.active_toggled_at),
      int(row.ref),
    ],
  );
  return toScope(updated as ScopeRow);
}

/**
 * Moves states back; the stored periods from the new state on stay
 * visible until each is rated again, and the commit that rates one
 * replaces it (see commit.ts): no period is ever missing or counted twice.
 * The scope rows are locked, so a commit in flight either landed before
 * (and is rated again) or is refused for expecting the old state.
 */
export async function resetScopes(sql: Sql, input: ResetInput, now: Date): Promise<ScopeRecord[]> {
  const to = epochSeconds(input.state);
  const rows = await selectScopes(sql, input.scopes, (scopeId, state, explicit) => checkReset(scopeId, state, to, explicit));
  const out: ScopeRecord[] = [];
  // The periods rated again from here on are adjusted under this reset (adjustments.ts).
  const resetId = randomUUID();
  for (const r of rows) {
    const [updated] = await sql.all<ScopeRow>(
      "UPDATE scopes SET state = ?, reset_id = ?, reset_actor = ?, reset_reason = ?, reset_at = ? WHERE ref = ? RETURNING *",
      [to, resetId, input.actor ?? "", input.reason ?? "", now.getTime(), int(r.ref)],
    );
    out.push(toScope(updated as ScopeRow));
    await clipOpenTasks(sql, int(r.ref), to, now);
  }
  return out;
}

/** Records the last error of a known scope (NOT_FOUND otherwise: an error never creates a scope), fenced like a commit. */
export async function recordScopeError(sql: Sql, input: ScopeErrorInput): Promise<void> {
  const row = await lockScope(sql, input.scopeId);
  if (row === undefined) throw new NotFoundError("scope", input.scopeId);
  checkFence(input.scopeId, { epoch: input.fencingEpoch, token: input.fencingToken }, scopeState(row).fence);
  const where = input.periodBegin === undefined ? "" : ` (period ${input.periodBegin.toISOString()})`;
  await sql.run("UPDATE scopes SET last_error = ?, last_error_at = ? WHERE ref = ?", [
    `${input.message}${where}`,
    epochSeconds(input.at),
    int(row.ref),
  ]);
}

/**
 * Records a refused commit on its scope, so that a refusal is never
 * silent: in a transaction of its own, after the commit's rolled back. Not
 * fenced: a stale owner's refusal is worth seeing too, and the next
 * accepted commit clears it. Never throws (the refusal itself is what the
 * committer gets).
 */
export async function recordRefusal(db: Dialect, scopeId: string, periodBegin: Date, err: Error, at: number): Promise<void> {
  const message = `commit refused: ${err.message} (period ${periodBegin.toISOString()})`;
  try {
    await db.write((sql) => sql.run("UPDATE scopes SET last_error = ?, last_error_at = ? WHERE scope_id = ?", [message, at, scopeId]));
  } catch {
    // The database is failing too: the committer's error says enough.
  }
}

/**
 * The operator's way out for scopes whose fencing record no owner can
 * reach (a forged token, a mistaken move between coordinators): the record
 * becomes (epoch, 0), and the reason, the time and the record replaced are
 * kept on the scope. The state does not move: the next owner goes on from
 * it, fenced as always from then on.
 */
export async function reseedFencing(sql: Sql, input: ReseedInput, now: Date): Promise<ScopeRecord[]> {
  const rows = await selectScopes(sql, input.scopes, () => true);
  const out: ScopeRecord[] = [];
  for (const r of rows) {
    const [updated] = await sql.all<ScopeRow>(
      `UPDATE scopes SET fencing_epoch = ?, fencing_token = ?, fencing_reseed_at = ?, fencing_reseed_reason = ?,
         fencing_reseed_previous_epoch = ?, fencing_reseed_previous_token = ?
       WHERE ref = ? RETURNING *`,
      [input.epoch.toString(), "0", epochSeconds(now), input.reason, String(r.fencing_epoch), String(r.fencing_token), int(r.ref)],
    );
    out.push(toScope(updated as ScopeRow));
  }
  return out;
}
