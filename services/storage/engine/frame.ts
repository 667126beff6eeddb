/**
 * What a commit computes from a frame before touching the database: the
 * exact parts of every value, the frame's totals per type (its sums_period
 * rows), the groupby keys seen per type, and the dictionary caches that
 * spare a database round trip per point.
 */
import type { StoredPoint } from "../domain.js";
import { type Parts, PartsSum } from "./exact.js";

export interface TypeTotals {
  count: number;
  qty: PartsSum;
  price: PartsSum;
}

/** The groupby keys seen per type in a frame: the catalog rows the commit makes sure exist. */
export function keysByType(points: StoredPoint[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let lastType: string | undefined;
  let keys: Set<string> | undefined;
  for (const p of points) {
    // Points of one type usually come together: skip the map lookup then.
    if (keys === undefined || p.type !== lastType) {
      lastType = p.type;
      keys = out.get(p.type);
      if (keys === undefined) {
        keys = new Set();
        out.set(p.type, keys);
      }
    }
    for (const k in p.groupby) keys.add(k);
  }
  return out;
}

/** A frame's exact totals per type: its sums_period rows. */
export class FrameTotals {
  readonly byType = new Map<string, TypeTotals>();
  private lastType: string | undefined;
  private last: TypeTotals | undefined;

  add(type: string, qty: Parts, price: Parts): void {
    let t = this.last;
    if (t === undefined || type !== this.lastType) {
      t = this.byType.get(type);
      if (t === undefined) {
        t = { count: 0, qty: new PartsSum(), price: new PartsSum() };
        this.byType.set(type, t);
      }
      this.lastType = type;
      this.last = t;
    }
    t.count++;
    t.qty.add(qty);
    t.price.add(price);
  }
}

/** The groupby map with its keys sorted, as JSON: one dictionary entry per distinct map. */
export function canonicalJson(map: Record<string, string>): string {
  const keys = Object.keys(map).sort();
  const sorted: Record<string, string> = {};
  for (const k of keys) sorted[k] = map[k] as string;
  return JSON.stringify(sorted);
}

/**
 * A bounded cache of dictionary refs (groupby maps, types, catalog pairs).
 * Refs never change once committed, so a cached ref is always right; the
 * bound keeps memory flat however many resources there are (oldest entries
 * go first). What a transaction learns stays in its own Learnt until it
 * commits: a rolled-back insert's ref may be given to another map, and
 * several PostgreSQL transactions run at once.
 */
export class RefCache<K, V> {
  private readonly committed = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K, pending: Map<K, V>): V | undefined {
    return this.committed.get(key) ?? pending.get(key);
  }

  /** Keeps what a committed transaction learnt. */
  learn(entries: Map<K, V>): void {
    for (const [k, v] of entries) this.committed.set(k, v);
    if (this.committed.size > this.capacity) {
      let drop = this.committed.size - Math.floor(this.capacity * 0.9);
      for (const k of this.committed.keys()) {
        if (drop-- <= 0) break;
        this.committed.delete(k);
      }
    }
  }
}

/** The dictionary refs one write transaction found or created, and its frame's pattern: kept only if it commits. */
export class Learnt {
  readonly groupsets = new Map<string, number>();
  readonly types = new Map<string, number>();
  readonly catalog = new Map<string, true>();
  frame: { scopeRef: number; pattern: FramePattern } | undefined;
}

export interface FramePattern {
  maps: Array<Record<string, string>>;
  refs: Int32Array;
}

/** Whether two groupby maps have the same keys and values. */
export function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/**
 * The groupby maps of each scope's last frame, by position. A collector
 * lists a scope's resources in the same order every period, so most points
 * find their dictionary ref by comparing their map with the one at the same
 * position last time: a few string comparisons, where a lookup by the map
 * would serialise and hash it first (several times slower at 10,000 points
 * a frame). Bounded by the number of points remembered; the scopes used
 * least recently go first.
 */
export class FramePatterns {
  private readonly patterns = new Map<number, FramePattern>();
  private size = 0;

  constructor(private readonly capacity: number) {}

  get(scopeRef: number): FramePattern | undefined {
    return this.patterns.get(scopeRef);
  }

  /** Call once the frame's transaction committed: its refs are then valid for good. */
  set(scopeRef: number, pattern: FramePattern): void {
    const old = this.patterns.get(scopeRef);
    if (old !== undefined) {
      this.size -= old.maps.length;
      this.patterns.delete(scopeRef);
    }
    if (pattern.maps.length > this.capacity) return;
    this.patterns.set(scopeRef, pattern);
    this.size += pattern.maps.length;
    for (const [ref, p] of this.patterns) {
      if (this.size <= this.capacity) break;
      this.patterns.delete(ref);
      this.size -= p.maps.length;
    }
  }
}
