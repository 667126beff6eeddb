/**
 * The simulation itself: each stored frame is priced again by the pricer
 * (the rating pipeline, under the price list asked for) from its stored
 * quantities, and each point's stored price (what was billed) and new
 * price are added, exactly, to the point's group. Nothing is written: the
 * frames are copies read from storage, priced in memory and dropped.
 */
import { InvalidArgumentError } from "../../../libs/errors/errors.js";
import type { DataFrame } from "../../../libs/gen/ratemesh/v1/common.js";
import { ExactSum } from "../../../libs/money/exact-sum.js";
import { calendarBucket } from "../../../libs/time/buckets.js";
import type { RatingFrame, RatingPoint } from "../domain.js";
import { priceStored, type SimulationPricer } from "./price-list-source.js";
import type { GroupKey, SimulationQuery } from "./query.js";

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
  private readonly billed = new ExactSum();
  private readonly simulated = new ExactSum();
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
  }

  /** Reprices one stored frame (or part of one) and adds it to its groups. */
  add(stored: DataFrame): void {
    if (stored.begin === undefined || stored.points.length === 0) return;
    const billed: string[] = new Array(stored.points.length);
    const points: RatingPoint[] = stored.points.map((p, i) => {
      billed[i] = p.price === "" ? "0" : p.price;
      // A fresh point, as the collector sends it: the pipeline adds to the price it arrives with.
      return { type: p.type, unit: p.unit, qty: p.qty, price: "0", groupby: p.groupby, metadata: p.metadata };
    });
    const frame: RatingFrame = { scopeId: stored.scopeId, at: stored.begin, points };
    this.unpriced += priceStored(this.pricer, frame);
    const frameId = `${stored.scopeId}\u0000${stored.begin.getTime()}`;
    if (frameId !== this.lastFrame) this.frames++;
    this.lastFrame = frameId;
    const [begin, end] = this.bucketOf(stored);
    const { keys } = this.q;
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as RatingPoint;
      const values = keys.map((k) => groupValue(k, stored.scopeId, p));
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
      const old = billed[i] as string;
      const now = p.price;
      g.qty.add(p.qty);
      g.billed.add(old);
      g.simulated.add(now);
      g.points++;
      this.billed.add(old);
      this.simulated.add(now);
    }
    this.points += points.length;
  }

  private bucketOf(f: DataFrame): [number, number] {
    const b = Math.floor((f.begin as Date).getTime() / 1000);
    switch (this.q.grain) {
      case undefined:
        return [this.windowBegin, this.windowEnd];
      case "period":
        return [b, f.end === undefined ? b : Math.floor(f.end.getTime() / 1000)];
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
    return {
      groups,
      billed: this.billed,
      simulated: this.simulated,
      points: this.points,
      frames: this.frames,
      unpriced: this.unpriced,
    };
  }
}
