/**
 * The rating pipeline: a frame passes through the enabled modules in
 * descending priority (then by name, so that the order is stable), each
 * module adding to or setting the points' prices.
 *
 * Module states live in the database (rating_modules) and are read from the
 * current snapshot, never per frame. A module without a stored state has
 * its defaults: as in CloudKitty, noop is enabled with priority 1 and every
 * other module is disabled (priority 1) until someone enables it.
 */
import { InvalidArgumentError, NotFoundError } from "../../libs/errors/errors.js";
import type { ExplainStep, ModuleExplanation, ModuleState, RatingFrame, RatingModule, RatingPoint, Unpriced } from "./domain.js";
import type { SnapshotSource } from "./state.js";
import type { SqlDatabase } from "./store/sql.js";
import { unpricedOf } from "./unpriced.js";
import { versionAt } from "./versions/store.js";

export interface ModuleDefaults {
  enabled: boolean;
  priority: number;
}

export interface RegisteredModule {
  module: RatingModule;
  defaults: ModuleDefaults;
}

export interface ModuleInfo extends ModuleState {
  description: string;
}

/** Where the time each module spends is counted. */
export interface ModuleTimer {
  module(name: string): { inc(seconds: number): void };
}

export interface ModuleChange {
  enabled?: boolean | undefined;
  priority?: number | undefined;
}

export class Pipeline {
  private readonly modules: Map<string, RegisteredModule>;
  private cachedFor: unknown;
  private cachedActive: RatingModule[] = [];
  /** The enabled modules that price (those that can say whether a rule covers a type). */
  private cachedPricing: RatingModule[] = [];
  private cachedTimers: Array<{ inc(seconds: number): void }> = [];

  constructor(
    registered: RegisteredModule[],
    private readonly state: SnapshotSource,
    private readonly db: SqlDatabase,
    /** Called with the new version after a change is committed (reloads this replica). */
    private readonly onChange: (version: number) => Promise<void> = (v) => state.caughtUp(v),
    private readonly timer?: ModuleTimer,
  ) {
    this.modules = new Map(registered.map((r) => [r.module.name, r]));
  }

  list(): ModuleInfo[] {
    const stored = this.state.current.modules;
    const out: ModuleInfo[] = [];
    for (const [name, r] of this.modules) {
      const s = stored.get(name);
      out.push({
        name,
        description: r.module.description,
        enabled: s?.enabled ?? r.defaults.enabled,
        priority: s?.priority ?? r.defaults.priority,
      });
    }
    return out.sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async update(name: string, change: ModuleChange): Promise<ModuleInfo> {
    if (change.priority !== undefined && (!Number.isInteger(change.priority) || change.priority < 1)) {
      throw new InvalidArgumentError("priority", `must be a whole number >= 1, got ${change.priority}`);
    }
    const registered = this.modules.get(name);
    if (registered === undefined) throw new NotFoundError("name: rating module", name);
    // Read-modify-write in the transaction: a field not given keeps its stored value, even if
    // another replica changed it a moment ago and this one has not reloaded yet.
    const { result: next, version } = await this.db.write(async (tx) => {
      const [row] = await tx.all<{ enabled: unknown; priority: unknown }>("SELECT enabled, priority FROM rating_modules WHERE name = ?", [
        name,
      ]);
      const stored = row === undefined ? registered.defaults : { enabled: Number(row.enabled) === 1, priority: Number(row.priority) };
      const state = { name, enabled: change.enabled ?? stored.enabled, priority: change.priority ?? stored.priority };
      await tx.run(
        "INSERT INTO rating_modules (name, enabled, priority) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, priority = excluded.priority",
        [state.name, state.enabled ? 1 : 0, state.priority],
      );
      return state;
    });
    await this.onChange(version);
    return { ...next, description: registered.module.description };
  }

  /** The enabled modules in the order they run (recomputed only when the snapshot changes). */
  active(): RatingModule[] {
    const snapshot = this.state.current;
    if (this.cachedFor !== snapshot) {
      this.cachedActive = this.list()
        .filter((m) => m.enabled)
        .map((m) => (this.modules.get(m.name) as RegisteredModule).module);
      this.cachedPricing = this.cachedActive.filter((m) => m.covers !== undefined);
      this.cachedTimers = this.timer === undefined ? [] : this.cachedActive.map((m) => (this.timer as ModuleTimer).module(m.name));
      this.cachedFor = snapshot;
    }
    return this.cachedActive;
  }

  rate(frames: RatingFrame[]): void {
    const modules = this.active();
    const timers = this.cachedTimers;
    for (const frame of frames) {
      for (let i = 0; i < modules.length; i++) {
        const t0 = performance.now();
        (modules[i] as RatingModule).rate(frame);
        timers[i]?.inc((performance.now() - t0) / 1000);
      }
    }
  }

  /** The points of a rated frame that no rule priced (see unpriced.ts), or undefined. */
  unpriced(frame: RatingFrame): Unpriced | undefined {
    this.active();
    return unpricedOf(frame, this.cachedPricing);
  }

  /** The published price-list version in force at `at` (0: none), from the current snapshot. */
  versionAt(at: Date): number {
    return versionAt(this.state.current.versions, at.getTime());
  }

  explain(point: RatingPoint, scopeId: string, at: Date, monthToDate?: string): ModuleExplanation[] {
    const out: ModuleExplanation[] = [];
    for (const m of this.active()) {
      const priceBefore = point.price;
      const steps: ExplainStep[] = m.explain(point, scopeId, at, monthToDate);
      out.push({ module: m.name, priceBefore, priceAfter: point.price, steps });
    }
    return out;
  }
}
