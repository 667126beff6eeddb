/**
 * The simulation itself: each stored frame is priced again by the pricer
 * (the rating pipeline, under the price list asked for) from its stored
 * quantities, and each point's stored price (what was billed) and new
 * price are added, exactly, to the point's group. Nothing is written: the
 * frames are copies read from storage, priced in memory and dropped.
 */
import { InvalidArgumentError } from "../../../libs/errors/errors.js";
import { ExactSum } from "../../../libs/money/exact-sum.js";
import { calendarBucket } from "../../../libs/time/buckets.js";
import { monthStart } from "../../../libs/time/month.js";
import type { RatingFrame, RatingPoint } from "../domain.js";
import { priceStored, type SimulationPricer } from "./price-list-source.js";
import type { GroupKey, SimulationQuery } from "./query.js";
import type { StoredFrame } from "./stored-frames.js";

export interface SimulationGroup {
  /** Epoch seconds. */
  begin: number;
  end: number;
  groups: string[];
  qty: ExactSum;
  billed: ExactSum;
  simulated: ExactSum;
  points: number;
}

export interface SimulationResult {
  /** In the default order: begin, then each group value. */
  groups: SimulationGroup[];
  billed: ExactSum;
  simulated: ExactSum;
  points: number;
  frames: number;
  unpriced: number;
}

function groupValue(key: GroupKey, scopeId: string, p: RatingPoint): string {
  switch (key.kind) {
    case "scope":
      return scopeId;
    case "type":
      return p.type;
    case "attribute":
      return p.groupby[key.name] ?? p.metadata[key.name] ?? "";
  }
}

export class Repricer {
  private readonly groups = new Map<string, SimulationGroup>();
  private readonly byTypeOnly: boolean;
  /** The month-to-date of the current scope and billing month, per type. */
  private monthScope = "";
  private monthBegin = Number.NaN;
  private monthToDate = new Map<string, ExactSum>();
  private points = 0;
  private frames = 0;
  private unpriced = 0;
  /** The (scope, period) of the last frame: a large frame arrives in parts. */
  private lastFrame = "";
  private readonly windowBegin: number;
  private readonly windowEnd: number;

  constructor(
    private readonly q: SimulationQuery,
    private readonly pricer: SimulationPricer,
    private readonly maxGroups: number,
    private readonly opts: {
      /** Of billing months. */
      timeZone: string;
      /** Whether a point counts in the groups (filters storage did not apply); none: every point. */
      keep?: (p: RatingPoint) => boolean;
    } = { timeZone: "UTC" },
  ) {
    this.windowBegin = Math.floor(q.begin.getTime() / 1000);
    this.windowEnd = Math.ceil(q.end.getTime() / 1000);
    this.byTypeOnly = q.keys.every((k) => k.kind !== "attribute");
  }

  /** Reprices one stored frame (or part of one) and adds it to its groups. */
  add(stored: StoredFrame): void {
    const { points, billed } = stored;
    if (points.length === 0) return;
    const monthToDate = this.monthToDateOf(stored);
    for (const p of points) {
      let sum = this.monthToDate.get(p.type);
      if (sum === undefined) {
        sum = new ExactSum();
        this.monthToDate.set(p.type, sum);
      }
      sum.add(p.qty);
    }
    // Before the window: it only counts for the month-to-date.
    if (stored.begin.getTime() < this.q.begin.getTime()) return;
    const frame: RatingFrame = { scopeId: stored.scopeId, at: stored.begin, points, monthToDate };
    this.unpriced += priceStored(this.pricer, frame);
    const frameId = `${stored.scopeId}\u0000${stored.begin.getTime()}`;
    if (frameId !== this.lastFrame) this.frames++;
    this.lastFrame = frameId;
    const [begin, end] = this.bucketOf(stored);
    const { keys } = this.q;
    // Grouped by scope and type only: within a frame, a point's group depends on its type alone.
    const byType = this.byTypeOnly ? new Map<string, SimulationGroup>() : undefined;
    const keep = this.opts.keep;
    let kept = 0;
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as RatingPoint;
      if (keep !== undefined && !keep(p)) continue;
      kept++;
      let g = byType?.get(p.type);
      if (g === undefined) {
        const values = keys.map((k) => groupValue(k, stored.scopeId, p));
        g = this.group(begin, end, values);
        byType?.set(p.type, g);
      }
      g.qty.add(p.qty);
      g.billed.add(billed[i] as string);
      g.simulated.add(p.price);
      g.points++;
    }
    this.points += kept;
  }

  /** The month-to-date per type before this frame (or part), starting again with each scope and billing month. */
  private monthToDateOf(f: StoredFrame): Map<string, string> {
    const start = this.monthStartOf(f.begin.getTime());
    if (f.scopeId !== this.monthScope || start !== this.monthBegin) {
      this.monthScope = f.scopeId;
      this.monthBegin = start;
      this.monthToDate = new Map();
    }
    const out = new Map<string, string>();
    for (const [type, sum] of this.monthToDate) out.set(type, sum.toString());
    return out;
  }

  private lastMonthKey = Number.NaN;
  private lastMonthStart = Number.NaN;

  /** The billing month's start of an instant (the last answer kept: frames come period after period). */
  private monthStartOf(t: number): number {
    const hour = Math.floor(t / 3_600_000);
    if (hour !== this.lastMonthKey) {
      this.lastMonthKey = hour;
      this.lastMonthStart = monthStart(new Date(t), this.opts.timeZone).getTime();
    }
    return this.lastMonthStart;
  }

  private group(begin: number, end: number, values: string[]): SimulationGroup {
    const id = `${begin}\u0000${values.join("\u0000")}`;
    let g = this.groups.get(id);
    if (g === undefined) {
      if (this.groups.size >= this.maxGroups) {
        throw new InvalidArgumentError(
          "group_by",
          `the simulation makes more than ${this.maxGroups} groups; group by fewer keys or a coarser time bucket, or narrow the window`,
        );
      }
      g = { begin, end, groups: values, qty: new ExactSum(), billed: new ExactSum(), simulated: new ExactSum(), points: 0 };
      this.groups.set(id, g);
    }
    return g;
  }

  private bucketOf(f: StoredFrame): [number, number] {
    const b = Math.floor(f.begin.getTime() / 1000);
    switch (this.q.grain) {
      case undefined:
        return [this.windowBegin, this.windowEnd];
      case "period":
        return [b, Math.floor(f.end.getTime() / 1000)];
      default:
        return calendarBucket(b, this.q.grain);
    }
  }

  result(): SimulationResult {
    const groups = [...this.groups.values()].sort((a, b) => {
      if (a.begin !== b.begin) return a.begin - b.begin;
      for (let i = 0; i < a.groups.length; i++) {
        const x = a.groups[i] as string;
        const y = b.groups[i] as string;
        if (x !== y) return x < y ? -1 : 1;
      }
      return 0;
    });
    const billed = new ExactSum();
    const simulated = new ExactSum();
    for (const g of groups) {
      billed.addSum(g.billed);
      simulated.addSum(g.simulated);
    }
    return {
      groups,
      billed,
      simulated,
      points: this.points,
      frames: this.frames,
      unpriced: this.unpriced,
    };
  }
}
