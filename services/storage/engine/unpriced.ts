/**
 * Points stored with no price rule in force (the rating service counts
 * them; the collector passes the count with the commit): kept per period in
 * `frames.unpriced`, and added up on the scope (`unpriced_points`,
 * `unpriced_periods`, `last_unpriced_at`, the begin of the latest such
 * period). A period written again replaces its count, so the scope's totals
 * follow what is stored: rating the periods again once a price list is in
 * force clears them. Runs inside the commit's transaction.
 */
import { int, intOrNull, type Sql } from "./dialect.js";
import type { ScopeRow } from "./scope-selection.js";

/** The period's previous count, read before the commit replaces the period; undefined when there is nothing to move. */
export async function unpricedBefore(sql: Sql, scope: ScopeRow, begin: number, count: number): Promise<number | undefined> {
  if (count === 0 && int(scope.unpriced_periods ?? 0) === 0) return undefined;
  const [row] = await sql.all<{ unpriced: unknown }>("SELECT unpriced FROM frames WHERE scope_ref = ? AND begin = ?", [
    int(scope.ref),
    begin,
  ]);
  return row === undefined ? 0 : int(row.unpriced);
}

/** Records the period's new count (after its frame row is written) and moves the scope's totals by the difference. */
export async function recordUnpriced(sql: Sql, scopeRef: number, begin: number, before: number | undefined, count: number): Promise<void> {
  if (before === undefined || before === count) return;
  await sql.run("UPDATE frames SET unpriced = ? WHERE scope_ref = ? AND begin = ?", [count, scopeRef, begin]);
  const periods = (count > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
  await sql.run("UPDATE scopes SET unpriced_points = unpriced_points + ?, unpriced_periods = unpriced_periods + ? WHERE ref = ?", [
    count - before,
    periods,
    scopeRef,
  ]);
  if (count > 0) {
    await sql.run("UPDATE scopes SET last_unpriced_at = ? WHERE ref = ? AND (last_unpriced_at IS NULL OR last_unpriced_at < ?)", [
      begin,
      scopeRef,
      begin,
    ]);
  } else {
    // The period no longer has any: the latest one that still has.
    const [row] = await sql.all<{ latest: unknown }>("SELECT MAX(begin) AS latest FROM frames WHERE scope_ref = ? AND unpriced > 0", [
      scopeRef,
    ]);
    await sql.run("UPDATE scopes SET last_unpriced_at = ? WHERE ref = ?", [intOrNull(row?.latest), scopeRef]);
  }
}
