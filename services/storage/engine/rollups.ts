/**
 * The rollups a commit (or an addition of points) keeps equal to the
 * points, in its own transaction (README "Tables"): clearing what a period
 * held before it is written again, and building the groupby rollups of a
 * day once it is complete.
 */
import { int, type Sql, type TypeSum } from "./dialect.js";
import { DAY } from "./summary.js";

/**
 * Removes what the period held: its points, its sums_period rows
 * (returned, so that their totals leave sums_day too), and the groupby
 * rollups of its day, which any write into the day makes stale. Always,
 * whatever the period held: a period is replaced, never added to, whether
 * it was committed before, reset or reprocessed.
 */
export async function clearPeriod(sql: Sql, scopeRef: number, day: number, begin: number): Promise<TypeSum[]> {
  await unrollDay(sql, scopeRef, day);
  const old = await takePeriodSums(sql, scopeRef, begin);
  await sql.run("DELETE FROM points WHERE scope_ref = ? AND begin = ?", [scopeRef, begin]);
  return old;
}

/**
 * Removes the groupby rollups of a (scope, day) before any write into it;
 * queries read the day's points until it is rolled up again. Returns
 * whether the day was rolled up.
 */
export async function unrollDay(sql: Sql, scopeRef: number, day: number): Promise<boolean> {
  if ((await sql.run("DELETE FROM rolled_days WHERE scope_ref = ? AND day = ?", [scopeRef, day])) === 0) return false;
  await sql.run("DELETE FROM sums_day_groupset WHERE scope_ref = ? AND day = ?", [scopeRef, day]);
  const keys = (await sql.all<{ key: string }>("SELECT DISTINCT key FROM groupby_keys")).map((r) => r.key);
  if (keys.length > 0) {
    // sums_day_key is clustered by key first: one seek per key.
    const [known, list] = sql.anyOf("key", keys, "text");
    await sql.run(`DELETE FROM sums_day_key WHERE ${known} AND scope_ref = ? AND day = ?`, [list, scopeRef, day]);
  }
  return true;
}

/** Deletes the period's sums_period rows and returns them: the caller writes the period's new ones. */
export async function takePeriodSums(sql: Sql, scopeRef: number, begin: number): Promise<TypeSum[]> {
  const { exact } = sql;
  const old = await sql.all(
    `DELETE FROM sums_period WHERE scope_ref = ? AND begin = ? RETURNING type_ref, points, ${exact.select("qty")}, ${exact.select("price")}`,
    [scopeRef, begin],
  );
  return old.map((r) => ({ typeRef: int(r.type_ref), count: int(r.points), qty: exact.read(r, "qty"), price: exact.read(r, "price") }));
}

/**
 * Builds the groupby rollups of a complete (scope, day) from its points,
 * and marks the day rolled up: sums_day_groupset per groupby map, then
 * sums_day_key per key and value from those.
 */
export async function rollDay(sql: Sql, scopeRef: number, day: number): Promise<void> {
  await sql.insertSums("sums_day_groupset", ["scope_ref", "day", "type_ref", "groupset_ref"], {
    groups: ["s.scope_ref", `s.begin - s.begin % ${DAY}`, "s.type_ref", "s.groupset_ref"],
    from: "points s",
    where: "s.scope_ref = ? AND s.begin >= ? AND s.begin < ?",
    params: [scopeRef, day, day + DAY],
  });
  await sql.insertSums("sums_day_key", ["key", "scope_ref", "day", "type_ref", "value"], {
    groups: ["v.key", "s.scope_ref", "s.day", "s.type_ref", "v.value"],
    from: "sums_day_groupset s JOIN groupset_values v ON v.groupset_ref = s.groupset_ref",
    where: "s.scope_ref = ? AND s.day = ?",
    params: [scopeRef, day],
    count: "s.points",
  });
  await sql.run("INSERT INTO rolled_days (scope_ref, day) VALUES (?, ?)", [scopeRef, day]);
}
