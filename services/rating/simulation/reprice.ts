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
  ) {
    this.windowBegin = Math.floor(q.begin.getTime() / 1000);
    this.windowEnd = Math.ceil(q.end.getTime() / 1000);
    this.byTypeOnly = q.keys.every((k) => k.kind !== "attribute");
  }

  /** Reprices one stored frame (or part of one) and adds it to its groups. */
  add(stored: StoredFrame): void {
    const { points, billed } = stored;
    if (points.length === 0) return;
    const frame: RatingFrame = { scopeId: stored.scopeId, at: stored.begin, points };
    this.unpriced += priceStored(this.pricer, frame);
    const frameId = `${stored.scopeId}\u0000${stored.begin.getTime()}`;
    if (frameId !== this.lastFrame) this.frames++;
    this.lastFrame = frameId;
    const [begin, end] = this.bucketOf(stored);
    const { keys } = this.q;
    // Grouped by scope and type only: within a frame, a point's group depends on its type alone.
    const byType = this.byTypeOnly ? new Map<string, SimulationGroup>() : undefined;
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as RatingPoint;
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
    this.points += points.length;
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
