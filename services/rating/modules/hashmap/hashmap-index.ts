/**
 * The in-memory hashmap index of one snapshot of the price list.
 *
 * A view (the rules in force for one tenant at one instant) is compiled on
 * first use and kept: two instants between the same two validity boundaries
 * (mapping starts and ends) see the same rules, so a view is keyed by the
 * tenant and the index of the window the instant falls in, and re-rating an
 * old period simply uses that period's view. A tenant without rules of its
 * own shares the global view. A new snapshot (the version counter moved)
 * replaces the whole index; nothing here ever goes back to the database.
 */
import { WindowBoundaries } from "../../validity.js";
import { CompiledService, type MemoBudget } from "./compiled.js";
import { loadEntries, ParsedRows, type ServiceEntries } from "./entries.js";
import type { HashmapData } from "./model.js";
import { type TimeOfUse, touWindow } from "./tiers.js";

export type View = ReadonlyMap<string, CompiledService>;

/** Views kept per snapshot; the least recently used one goes first beyond this. */
const MAX_VIEWS = 512;
/** Memoized prices per snapshot, all views together (a few tens of MB at most). */
const MEMO_BUDGET = 250_000;

export class HashmapIndex {
  private readonly windows: WindowBoundaries;
  private readonly tenants: Set<string>;
  private readonly views = new Map<string, View>();
  private readonly parsed = new ParsedRows();
  private readonly budget: MemoBudget = { left: MEMO_BUDGET };
  /** The last view asked for: consecutive frames of one scope and period hit it without hashing. */
  private lastKey = "";
  private lastView: View | undefined;

  /** The time-of-use mappings: a view is also keyed by the window each of them is in. */
  private readonly timed: TimeOfUse[];

  constructor(readonly data: HashmapData) {
    this.windows = new WindowBoundaries(data.mappings);
    this.timed = data.mappings.flatMap((m) => (m.timeOfUse ? [m.timeOfUse] : []));
    this.tenants = new Set();
    for (const r of [...data.mappings, ...data.thresholds]) if (r.tenantId !== null) this.tenants.add(r.tenantId);
  }

  get isEmpty(): boolean {
    return this.data.services.length === 0;
  }

  view(tenantId: string, at: number): View {
    const tenant = this.tenants.has(tenantId) ? tenantId : "";
    let key = `${this.windows.window(at)}\u0000${tenant}`;
    if (this.timed.length > 0) key += `\u0000${this.timed.map((t) => touWindow(t, at)).join(",")}`;
    if (key === this.lastKey && this.lastView !== undefined) return this.lastView;
    let view = this.views.get(key);
    if (view === undefined) {
      const entries = loadEntries(this.data, tenant, at, this.parsed);
      const compiled = new Map<string, CompiledService>();
      for (const [name, e] of entries) compiled.set(name, new CompiledService(e, this.budget));
      view = compiled;
      if (this.views.size >= MAX_VIEWS) {
        const oldest = this.views.keys().next().value;
        if (oldest !== undefined) this.views.delete(oldest);
      }
    } else {
      this.views.delete(key);
    }
    this.views.set(key, view);
    this.lastKey = key;
    this.lastView = view;
    return view;
  }

  /** The loaded rules of one service, for Explain. */
  service(tenantId: string, at: number, name: string): ServiceEntries | undefined {
    return this.view(tenantId, at).get(name)?.entries;
  }
}
