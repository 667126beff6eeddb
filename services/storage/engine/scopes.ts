/**
 * Scopes: reading, creating and updating them, moving their state back
 * (reset), and recording their errors.
 */
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../../../libs/errors/errors.js";
import { epochSeconds } from "../../../libs/time/period.js";
import type { CreateScopeInput, ResetInput, ScopeErrorInput, ScopeQuery, ScopeRecord, UpdateScopeInput } from "../domain.js";
import { bool, int, intOrNull, type Sql } from "./dialect.js";
import { checkReset } from "./rules.js";
import { lockScope, type ScopeRow, selectScopes, toScope } from "./scope-selection.js";
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
  const [updated] = await sql.all<ScopeRow>(
    "UPDATE scopes SET active = ?, scope_key = ?, fetcher = ?, collector = ?, active_toggled_at = ? WHERE ref = ? RETURNING *",
    [
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
  for (const r of rows) {
    const [updated] = await sql.all<ScopeRow>("UPDATE scopes SET state = ? WHERE ref = ? RETURNING *", [to, int(r.ref)]);
    out.push(toScope(updated as ScopeRow));
    await clipOpenTasks(sql, int(r.ref), to, now);
  }
  return out;
}

/** Records the last error of a known scope (NOT_FOUND otherwise: an error never creates a scope), fenced like a commit. */
export async function recordScopeError(sql: Sql, input: ScopeErrorInput): Promise<void> {
  const row = await lockScope(sql, input.scopeId);
  if (row === undefined) throw new NotFoundError("scope", input.scopeId);
  const seen = BigInt(row.fencing_token as string);
  if (input.fencingToken < seen) {
    throw new FailedPreconditionError(`fencing token ${input.fencingToken} is older than ${seen}, already seen for scope ${input.scopeId}`);
  }
  const where = input.periodBegin === undefined ? "" : ` (period ${input.periodBegin.toISOString()})`;
  await sql.run("UPDATE scopes SET last_error = ?, last_error_at = ? WHERE ref = ?", [
    `${input.message}${where}`,
    epochSeconds(input.at),
    int(row.ref),
  ]);
}
