/**
 * The dictionaries a commit writes into before its points: types, the
 * catalog of groupby keys per type, and groupsets (one row per distinct
 * groupby map, with its keys and values in groupset_values). Refs are
 * cached in this process; a transaction's new refs are kept only once it
 * has committed (see RefCache).
 */
import type { StoredPoint } from "../domain.js";
import { type Column, int, type Param, type Sql } from "./dialect.js";
import { canonicalJson, FramePatterns, type Learnt, RefCache, sameMap } from "./frame.js";

const TEXT: Column = { name: "", type: "text" };

export class Dictionary {
  private readonly groupsets = new RefCache<string, number>(250_000);
  private readonly patterns = new FramePatterns(500_000);
  private readonly types = new RefCache<string, number>(10_000);
  private readonly catalog = new RefCache<string, true>(100_000);

  /** Keeps what a committed transaction learnt. */
  learn(learnt: Learnt): void {
    this.groupsets.learn(learnt.groupsets);
    this.types.learn(learnt.types);
    this.catalog.learn(learnt.catalog);
    if (learnt.frame !== undefined) this.patterns.set(learnt.frame.scopeRef, learnt.frame.pattern);
  }

  /** The refs of these type names, adding the names not known yet. */
  async typeRefs(sql: Sql, names: string[], learnt: Learnt): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const missing: string[] = [];
    for (const name of names) {
      const ref = this.types.get(name, learnt.types);
      if (ref === undefined) missing.push(name);
      else out.set(name, ref);
    }
    if (missing.length === 0) return out;
    missing.sort();
    await sql.insertRows(
      "types",
      [{ ...TEXT, name: "name" }],
      missing.map((n) => [n]),
      { skipConflictOn: "name" },
    );
    const [named, list] = sql.anyOf("name", missing, "text");
    for (const r of await sql.all<{ ref: unknown; name: string }>(`SELECT ref, name FROM types WHERE ${named}`, [list])) {
      out.set(r.name, int(r.ref));
      learnt.types.set(r.name, int(r.ref));
    }
    return out;
  }

  /** Makes sure the catalog lists every groupby key of the frame under its type. */
  async addKeys(sql: Sql, keysByType: Map<string, Set<string>>, typeRefs: Map<string, number>, learnt: Learnt): Promise<void> {
    const rows: Param[][] = [];
    for (const [type, keys] of keysByType) {
      const ref = typeRefs.get(type) ?? 0;
      for (const key of keys) {
        const k = `${ref}\u0000${key}`;
        if (this.catalog.get(k, learnt.catalog) !== undefined) continue;
        rows.push([ref, key]);
        learnt.catalog.set(k, true);
      }
    }
    if (rows.length === 0) return;
    // Sorted, as the other dictionary inserts: two commits adding the same keys wait on each other in one order, never deadlock.
    rows.sort(
      (a, b) =>
        (a[0] as number) - (b[0] as number) || ((a[1] as string) < (b[1] as string) ? -1 : (a[1] as string) > (b[1] as string) ? 1 : 0),
    );
    await sql.insertRows(
      "groupby_keys",
      [
        { name: "type_ref", type: "int" },
        { ...TEXT, name: "key" },
      ],
      rows,
      { skipConflictOn: "type_ref, key" },
    );
  }

  /**
   * The groupset ref of each point. By position from the scope's last
   * frame when the map is the same (the usual case: a collector lists a
   * scope's resources in the same order every period), else from the cache
   * or the database, adding the maps never seen.
   */
  async groupsetRefs(sql: Sql, scopeRef: number, points: StoredPoint[], learnt: Learnt): Promise<Int32Array> {
    const n = points.length;
    const pattern = this.patterns.get(scopeRef);
    const maps: Array<Record<string, string>> = new Array(n);
    const refs = new Int32Array(n);
    const misses: number[] = [];
    for (let i = 0; i < n; i++) {
      const map = (points[i] as StoredPoint).groupby;
      maps[i] = map;
      const last = pattern?.maps[i];
      if (last !== undefined && sameMap(last, map)) refs[i] = pattern?.refs[i] as number;
      else misses.push(i);
    }
    if (misses.length > 0) {
      const jsons = misses.map((i) => JSON.stringify((points[i] as StoredPoint).groupby));
      const found = await this.lookUpGroupsets(
        sql,
        misses.map((i) => points[i] as StoredPoint),
        jsons,
        learnt,
      );
      misses.forEach((i, m) => {
        refs[i] = found.get(jsons[m] as string) ?? 0;
      });
    }
    learnt.frame = { scopeRef, pattern: { maps, refs } };
    return refs;
  }

  /** Refs of the points' groupby maps, keyed by the JSON received; new maps are added to the dictionary. */
  private async lookUpGroupsets(sql: Sql, points: StoredPoint[], jsons: string[], learnt: Learnt): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const missing = new Map<string, { canon: string; map: Record<string, string>; jsons: string[] }>();
    for (let i = 0; i < points.length; i++) {
      const json = jsons[i] as string;
      if (out.has(json)) continue;
      const ref = this.groupsets.get(json, learnt.groupsets);
      if (ref !== undefined) {
        out.set(json, ref);
        continue;
      }
      const map = (points[i] as StoredPoint).groupby;
      const canon = canonicalJson(map);
      const key = sql.groupsetKey.of(canon);
      const m = missing.get(key);
      if (m === undefined) missing.set(key, { canon, map, jsons: [json] });
      else if (!m.jsons.includes(json)) m.jsons.push(json);
      out.set(json, -1);
    }
    if (missing.size === 0) return out;
    // Sorted, so that two transactions adding the same maps wait on each other in one order.
    const keys = [...missing.keys()].sort();
    const { column } = sql.groupsetKey;
    const byCanon = column === "canon";
    const created = await sql.insertRows(
      "groupsets",
      byCanon
        ? [{ ...TEXT, name: "canon" }]
        : [
            { ...TEXT, name: column },
            { ...TEXT, name: "canon" },
          ],
      keys.map((k) => (byCanon ? [k] : [k, (missing.get(k) as { canon: string }).canon])),
      { skipConflictOn: column, returning: `ref, ${column}` },
    );
    const refOf = new Map<string, number>();
    const values: Param[][] = [];
    for (const r of created) {
      const ref = int(r.ref);
      const key = r[column] as string;
      refOf.set(key, ref);
      for (const [k, v] of Object.entries((missing.get(key) as { map: Record<string, string> }).map)) values.push([ref, k, v]);
    }
    if (values.length > 0) {
      await sql.insertRows(
        "groupset_values",
        [
          { name: "groupset_ref", type: "int" },
          { ...TEXT, name: "key" },
          { ...TEXT, name: "value" },
        ],
        values,
      );
    }
    // Maps stored already (before this process started, or by another one): the insert skipped them.
    const others = keys.filter((k) => !refOf.has(k));
    if (others.length > 0) {
      const [known, list] = sql.anyOf(column, others, "text");
      for (const r of await sql.all(`SELECT ref, ${column} FROM groupsets WHERE ${known}`, [list]))
        refOf.set(r[column] as string, int(r.ref));
    }
    for (const [key, m] of missing) {
      const ref = refOf.get(key) ?? 0;
      for (const json of m.jsons) {
        out.set(json, ref);
        learnt.groupsets.set(json, ref);
      }
    }
    return out;
  }
}
