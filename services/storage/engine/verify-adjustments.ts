/**
 * The adjustments' part of verifyRollups (verify-rollups.ts): what
 * adjustments.ts keeps must agree with the points, exactly.
 *  1. the billed lines of each adjustment are the sums of the points it
 *     moved to billed_points (per type and groupby map);
 *  2. the re-rating lines of a period's latest adjustment are the sums of
 *     its current points (unless points were added to it since, with
 *     AddDataFrames: frames.points then differs from the points it holds);
 *  3. no adjustment has all its lines equal (equal amounts adjust nothing);
 *  4. each adjustment is recorded at or after its period's first commit
 *     (frames.first_committed_at, which "as billed at T" relies on, as-of.ts).
 */
import type { Decimal } from "../../../libs/money/decimal.js";
import { BILLED, RERATED, readLines } from "./adjustments.js";
import { int, type Sql } from "./dialect.js";
import { rollupProblem } from "./summary.js";

interface Sums {
  count: number;
  qty: Decimal;
  price: Decimal;
}

const same = (a: Sums | undefined, b: Sums | undefined) =>
  a !== undefined && b !== undefined && a.count === b.count && a.qty.eq(b.qty) && a.price.eq(b.price);

/** Each key's difference between two maps of sums, as verifyRollups lines. */
function compare(table: string, stored: Map<string, Sums>, want: Map<string, Sums>, problems: string[]): void {
  for (const [key, s] of stored) if (!same(s, want.get(key))) problems.push(rollupProblem(table, key, s, want.get(key)));
  for (const [key, w] of want) if (!stored.has(key)) problems.push(rollupProblem(table, key, undefined, w));
}

export async function verifyAdjustments(sql: Sql, scopeRef: number, problems: string[]): Promise<void> {
  const lines = await readLines(sql, "scope_ref = ?", [scopeRef]);
  if (lines.size === 0) return;
  const billed = new Map<string, Sums>();
  const rerated = new Map<string, Map<string, Sums>>();
  for (const [key, s] of lines) {
    const [ref, kind, ...rest] = key.split(":");
    if (Number(kind) === BILLED) billed.set(`${ref}:${rest.join(":")}`, s);
    if (Number(kind) === RERATED) {
      const m = rerated.get(ref as string) ?? new Map<string, Sums>();
      m.set(rest.join(":"), s);
      rerated.set(ref as string, m);
    }
  }
  // 1. billed lines = the billed points.
  const moved = new Map<string, Sums>();
  for (const r of await sql.sumGroups({
    groups: ["s.adjustment_ref", "s.type_ref", "s.groupset_ref"],
    from: "billed_points s JOIN adjustments a ON a.ref = s.adjustment_ref",
    where: "a.scope_ref = ?",
    params: [scopeRef],
  })) {
    moved.set(r.keys.map(String).join(":"), r);
  }
  compare(`adjustment_lines (billed) of scope ${scopeRef}`, billed, moved, problems);

  // 3. every adjustment changed something.
  const adjustments = await sql.all(
    `SELECT a.ref, a.begin, a.recorded_at, f.first_committed_at FROM adjustments a
       LEFT JOIN frames f ON f.scope_ref = a.scope_ref AND f.begin = a.begin
     WHERE a.scope_ref = ? ORDER BY a.ref`,
    [scopeRef],
  );
  for (const a of adjustments) {
    const ref = String(int(a.ref));
    // 4. recorded after the period was first billed.
    if (a.first_committed_at === null) problems.push(`adjustments ${ref}: its period ${int(a.begin)} has no commit`);
    else if (int(a.first_committed_at) > int(a.recorded_at)) {
      problems.push(
        `adjustments ${ref}: recorded at ${int(a.recorded_at)}, before its period's first commit (frames.first_committed_at ${int(a.first_committed_at)})`,
      );
    }
    const now = rerated.get(ref) ?? new Map<string, Sums>();
    const was = new Map([...billed].filter(([k]) => k.startsWith(`${ref}:`)).map(([k, s]) => [k.slice(ref.length + 1), s]));
    const keys = new Set([...now.keys(), ...was.keys()]);
    if ([...keys].every((k) => same(now.get(k), was.get(k)))) problems.push(`adjustments ${ref}: every line is equal (nothing adjusted)`);
  }

  // 2. the latest adjustment of each period = its current points.
  const latest = new Map<number, string>();
  for (const a of adjustments) latest.set(int(a.begin), String(int(a.ref)));
  const current = new Map<number, Map<string, Sums>>();
  for (const r of await sql.sumGroups({
    groups: ["s.begin", "s.type_ref", "s.groupset_ref"],
    from: "points s",
    where: "s.scope_ref = ? AND EXISTS (SELECT 1 FROM adjustments a WHERE a.scope_ref = s.scope_ref AND a.begin = s.begin)",
    params: [scopeRef],
  })) {
    const begin = int(r.keys[0]);
    const m = current.get(begin) ?? new Map<string, Sums>();
    m.set(`${int(r.keys[1])}:${int(r.keys[2])}`, r);
    current.set(begin, m);
  }
  const committed = new Map(
    (await sql.all("SELECT begin, points FROM frames WHERE scope_ref = ?", [scopeRef])).map((f) => [int(f.begin), int(f.points)]),
  );
  for (const [begin, ref] of latest) {
    const points = current.get(begin) ?? new Map<string, Sums>();
    const held = [...points.values()].reduce((n, s) => n + s.count, 0);
    if (held !== committed.get(begin)) continue;
    compare(`adjustment_lines (rerated) of adjustment ${ref}, period ${begin}`, rerated.get(ref) ?? new Map(), points, problems);
  }
}
