/**
 * AddDataFrames: already priced points appended to their (scope, period),
 * as CloudKitty's storage push. Nothing is rated: the scopes' states and
 * fencing records and the record of each commit (`frames`) stay as they
 * are, so "a period is rated once" is untouched. The next commit of a
 * period replaces whatever it holds, added points included (commit.ts,
 * clearPeriod).
 */
import { AlreadyExistsError } from "../../../libs/errors/errors.js";
import { epochSeconds, fromEpochSeconds } from "../../../libs/time/period.js";
import type { AddFramesInput, AddFramesResult, StoredPoint } from "../domain.js";
import { insertPoints } from "./commit.js";
import { columns, type Dialect, int, type Sql, type TypeSum } from "./dialect.js";
import type { Dictionary } from "./dictionary.js";
import { type FrameTotals, keysByType, Learnt } from "./frame.js";
import { rollDay, takePeriodSums, unrollDay } from "./rollups.js";
import { DAY } from "./summary.js";

interface PeriodPoints {
  scopeId: string;
  begin: number;
  points: StoredPoint[];
}

const ADDITION_COLUMNS = columns({ idempotency_key: "text", digest: "text", frames: "bigint", points: "bigint", added_at: "bigint" });

const SCOPE_COLUMNS = columns({ scope_id: "text", scope_key: "text", fetcher: "text", collector: "text", created_at: "bigint" });

/**
 * Invariant: when the transaction ends, the rollups equal the points. Each
 * (scope, period) gets its new points after the ones it holds, its
 * sums_period rows become the old ones plus the added totals, sums_day
 * moves by the added totals, and a day whose groupby rollups were built
 * has them removed, then built again from its points once every period of
 * the request is written. The scopes' rows are locked first (in scope id
 * order), so a commit of one of them runs wholly before or after.
 * Partial failures: one transaction for the whole request, so any failure
 * (an outage, a crash) leaves nothing added, no scope created and the key
 * unrecorded; the caller sends the request again. The key's row is written
 * first: a concurrent request with the same key waits for this one to end,
 * then finds the row (a replay, or ALREADY_EXISTS for another request).
 */
export async function addFrames(db: Dialect, dictionary: Dictionary, input: AddFramesInput, now: Date): Promise<AddFramesResult> {
  const t = epochSeconds(now);
  const periods = byPeriod(input.frames);
  const pointsAdded = input.frames.reduce((n, f) => n + f.points.length, 0);
  const learnt = new Learnt();
  const result = await db.write(async (sql): Promise<AddFramesResult> => {
    if (input.idempotencyKey !== undefined) {
      const prior = await claimKey(sql, input.idempotencyKey, input.digest, [input.frames.length, pointsAdded, t]);
      if (prior !== undefined) return prior;
    }
    const { refs, created } = await lockScopes(sql, input, t);
    const rolled = new Map<string, [number, number]>();
    for (const p of periods) {
      const scopeRef = refs.get(p.scopeId) as number;
      const day = p.begin - (p.begin % DAY);
      if (await unrollDay(sql, scopeRef, day)) rolled.set(`${scopeRef}:${day}`, [scopeRef, day]);
      await appendPoints(sql, dictionary, learnt, scopeRef, p.begin, day, p.points);
    }
    for (const [scopeRef, day] of rolled.values()) await rollDay(sql, scopeRef, day);
    return { pointsAdded, replayed: false, scopesCreated: created };
  });
  dictionary.learn(learnt);
  return result;
}

/** The points of each (scope, period) with any, in the order the request first names them. */
function byPeriod(frames: AddFramesInput["frames"]): PeriodPoints[] {
  const out = new Map<string, PeriodPoints>();
  for (const f of frames) {
    if (f.points.length === 0) continue;
    const begin = epochSeconds(f.begin);
    const key = `${f.scopeId}\u0000${begin}`;
    const p = out.get(key);
    if (p === undefined) out.set(key, { scopeId: f.scopeId, begin, points: [...f.points] });
    else p.points.push(...f.points);
  }
  return [...out.values()];
}

/**
 * Records the key with this request's digest, or returns the answer to a
 * replay of the request that recorded it; another request under a used key
 * is refused.
 */
async function claimKey(sql: Sql, key: string, digest: string, counts: [number, number, number]): Promise<AddFramesResult | undefined> {
  const claimed = await sql.insertRows("frame_additions", ADDITION_COLUMNS, [[key, digest, ...counts]], {
    skipConflictOn: "idempotency_key",
    returning: "idempotency_key",
  });
  if (claimed.length > 0) return undefined;
  const [row] = await sql.all<{ digest: string; points: unknown; added_at: unknown }>(
    "SELECT digest, points, added_at FROM frame_additions WHERE idempotency_key = ?",
    [key],
  );
  if (row !== undefined && row.digest === digest) return { pointsAdded: int(row.points), replayed: true, scopesCreated: [] };
  const when = row === undefined ? "" : ` at ${fromEpochSeconds(int(row.added_at)).toISOString()}`;
  throw new AlreadyExistsError(
    `idempotency_key ${JSON.stringify(key)} was used${when} by a different request: a new request needs a new key`,
  );
}

/** The refs of the request's scopes, locked, creating those not known yet (with no state). */
async function lockScopes(sql: Sql, input: AddFramesInput, t: number): Promise<{ refs: Map<string, number>; created: string[] }> {
  const ids = [...new Set(input.frames.map((f) => f.scopeId))].sort();
  const [named, list] = sql.anyOf("scope_id", ids, "text");
  const lockedRefs = async (): Promise<Map<string, number>> => {
    const rows = await sql.all<{ ref: unknown; scope_id: string }>(
      `SELECT ref, scope_id FROM scopes WHERE ${named} ORDER BY ${sql.bytewise("scope_id")}${sql.lock()}`,
      [list],
    );
    return new Map(rows.map((r) => [r.scope_id, int(r.ref)]));
  };
  const refs = await lockedRefs();
  const missing = ids.filter((id) => !refs.has(id));
  if (missing.length === 0) return { refs, created: [] };
  const rows = missing.map((id) => [id, input.scopeKey, input.fetcher, input.collector, t]);
  const inserted = await sql.insertRows("scopes", SCOPE_COLUMNS, rows, { skipConflictOn: "scope_id", returning: "scope_id" });
  // A scope another transaction created meanwhile was skipped: it is locked with the rest.
  return { refs: await lockedRefs(), created: inserted.map((r) => r.scope_id as string).sort() };
}

/** Appends a period's points after those it holds, and moves its rollups by their totals. */
async function appendPoints(
  sql: Sql,
  dictionary: Dictionary,
  learnt: Learnt,
  scopeRef: number,
  begin: number,
  day: number,
  points: StoredPoint[],
): Promise<void> {
  const old = await takePeriodSums(sql, scopeRef, begin);
  const [last] = await sql.all<{ seq: unknown }>("SELECT MAX(seq) AS seq FROM points WHERE scope_ref = ? AND begin = ?", [scopeRef, begin]);
  const firstSeq = last === undefined || last.seq === null ? 0 : int(last.seq) + 1;
  const catalog = keysByType(points);
  const typeRefs = await dictionary.typeRefs(sql, [...catalog.keys()], learnt);
  await dictionary.addKeys(sql, catalog, typeRefs, learnt);
  const groupsets = await dictionary.groupsetRefs(sql, scopeRef, points, learnt);
  // The scope's last committed frame stays the pattern its next commit is matched against.
  learnt.frame = undefined;
  const totals = await insertPoints(sql, scopeRef, begin, points, typeRefs, groupsets, firstSeq);
  const added = typeSums(totals, typeRefs);
  await sql.writeSums(scopeRef, begin, day, plus(old, added), added);
}

function typeSums(totals: FrameTotals, typeRefs: Map<string, number>): TypeSum[] {
  return [...totals.byType].map(([type, t]) => ({
    typeRef: typeRefs.get(type) ?? 0,
    count: t.count,
    qty: t.qty.value(),
    price: t.price.value(),
  }));
}

/** Two sets of type sums added up, type by type. */
function plus(a: TypeSum[], b: TypeSum[]): TypeSum[] {
  const out = new Map<number, TypeSum>(a.map((s) => [s.typeRef, s]));
  for (const s of b) {
    const o = out.get(s.typeRef);
    out.set(
      s.typeRef,
      o === undefined ? s : { typeRef: s.typeRef, count: o.count + s.count, qty: o.qty.add(s.qty), price: o.price.add(s.price) },
    );
  }
  return [...out.values()];
}
