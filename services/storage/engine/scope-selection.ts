/**
 * A scope's row as both engines store it, and the scopes a write works on:
 * one locked for a commit or an update, or the set a reset or a
 * reprocessing request names.
 */
import { NotFoundError } from "../../../libs/errors/errors.js";
import { fromEpochSeconds } from "../../../libs/time/period.js";
import type { ScopeRecord, ScopeSelection } from "../domain.js";
import { bool, int, intOrNull, type Sql } from "./dialect.js";
import type { Fence, ScopeState } from "./rules.js";

export interface ScopeRow {
  ref: unknown;
  scope_id: string;
  state: unknown;
  active: unknown;
  scope_key: string;
  fetcher: string;
  collector: string;
  fencing_token: unknown;
  fencing_epoch: unknown;
  fencing_reseed_at: unknown;
  fencing_reseed_reason: string | null;
  fencing_reseed_previous_epoch: unknown;
  fencing_reseed_previous_token: unknown;
  last_error: string | null;
  last_error_at: unknown;
  active_toggled_at: unknown;
  created_at: unknown;
  unpriced_points?: unknown;
  unpriced_periods?: unknown;
  last_unpriced_at?: unknown;
}

function time(v: unknown): Date | undefined {
  const s = intOrNull(v);
  return s === null ? undefined : fromEpochSeconds(s);
}

function fenceOf(r: ScopeRow): Fence {
  return { epoch: BigInt(r.fencing_epoch as string), token: BigInt(r.fencing_token as string) };
}

export function toScope(r: ScopeRow): ScopeRecord {
  const reseedAt = time(r.fencing_reseed_at);
  return {
    scopeId: r.scope_id,
    state: time(r.state),
    active: bool(r.active),
    scopeKey: r.scope_key,
    fetcher: r.fetcher,
    collector: r.collector,
    lastError: r.last_error ?? undefined,
    lastErrorAt: time(r.last_error_at),
    activeToggledAt: time(r.active_toggled_at),
    fencingToken: BigInt(r.fencing_token as string),
    fencingEpoch: BigInt(r.fencing_epoch as string),
    lastFencingReseed:
      reseedAt === undefined
        ? undefined
        : {
            at: reseedAt,
            reason: r.fencing_reseed_reason ?? "",
            previous: {
              epoch: BigInt(r.fencing_reseed_previous_epoch as string),
              token: BigInt(r.fencing_reseed_previous_token as string),
            },
          },
    createdAt: fromEpochSeconds(int(r.created_at)),
    unpricedPoints: int(r.unpriced_points ?? 0),
    unpricedPeriods: int(r.unpriced_periods ?? 0),
    lastUnpricedPeriod: time(r.last_unpriced_at),
  };
}

export function scopeState(r: ScopeRow): ScopeState {
  return { state: intOrNull(r.state), active: bool(r.active), fence: fenceOf(r) };
}

/** The scope's row, locked until the transaction ends. */
export async function lockScope(sql: Sql, scopeId: string): Promise<ScopeRow | undefined> {
  return (await sql.all<ScopeRow>(`SELECT * FROM scopes WHERE scope_id = ?${sql.lock()}`, [scopeId]))[0];
}

/**
 * The scopes a reset or a reprocessing request names, locked, in scope id
 * order. `admit` decides for each: with `all`, a scope it refuses is left
 * out; a scope named explicitly is refused with its error (and an unknown
 * one with NOT_FOUND).
 */
export async function selectScopes(
  sql: Sql,
  scopes: ScopeSelection,
  admit: (scopeId: string, state: ScopeState, explicit: boolean) => boolean,
): Promise<ScopeRow[]> {
  const order = `ORDER BY ${sql.bytewise("scope_id")}${sql.lock()}`;
  if (scopes.all) {
    const rows = await sql.all<ScopeRow>(`SELECT * FROM scopes ${order}`);
    return rows.filter((r) => admit(r.scope_id, scopeState(r), false));
  }
  const ids = [...new Set(scopes.scopeIds)].sort();
  const [named, list] = sql.anyOf("scope_id", ids, "text");
  const found = new Map((await sql.all<ScopeRow>(`SELECT * FROM scopes WHERE ${named} ${order}`, [list])).map((r) => [r.scope_id, r]));
  return ids.map((id) => {
    const r = found.get(id);
    if (r === undefined) throw new NotFoundError("scope", id);
    admit(id, scopeState(r), true);
    return r;
  });
}
