/**
 * Points that the rating service priced with no rule in force (no pricing
 * module enabled, or no rule for their type at the period's begin): they
 * are stored with price 0, and never silently. The rating service counts
 * them per frame in its Rate answer; this ledger keeps each frame's count
 * until its commit, which carries it to storage (the scope's flag and
 * count), and writes a warning per scope at a bounded rate: the first
 * commit of unpriced points at once, then at most one line every
 * UNPRICED_INTERVAL_MS with what was committed since the last line.
 */
import type { DataFrame } from "../../../libs/gen/ratemesh/v1/common.js";
import { type UnpricedPoints, UnpricedReason } from "../../../libs/gen/ratemesh/v1/rating.js";
import type { Logger } from "../../../libs/logging/logger.js";

export const UNPRICED_INTERVAL_MS = 60_000;

const REASONS: Record<number, string> = {
  [UnpricedReason.UNPRICED_REASON_NO_MODULE_ENABLED]: "no rating module that prices is enabled (enable hashmap or rules)",
  [UnpricedReason.UNPRICED_REASON_NO_RULE_IN_FORCE]: "no rule is in force for their type at the period's begin",
};

interface Pending {
  at: number;
  points: number;
  periods: number;
  types: Set<string>;
  first: string;
  last: string;
  reason: UnpricedReason;
}

export class UnpricedLedger {
  private readonly byFrame = new WeakMap<DataFrame, UnpricedPoints>();
  /** Scope -> what was committed unpriced since its last line, and when that line was written (monotonic ms). */
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = UNPRICED_INTERVAL_MS,
  ) {}

  /** Keeps what a Rate answer says of the frames it rated (in the order they were sent). */
  fromRate(frames: DataFrame[], unpriced: UnpricedPoints[] | undefined): void {
    for (const u of unpriced ?? []) {
      const f = frames[u.frame];
      if (f !== undefined) this.byFrame.set(f, u);
    }
  }

  /** How many of the frame's points no rule priced. */
  count(frame: DataFrame): number {
    return Number(this.byFrame.get(frame)?.points ?? 0);
  }

  /** The frame was committed for the scope: the bounded warning. */
  committed(scopeId: string, frame: DataFrame): void {
    const u = this.byFrame.get(frame);
    if (u === undefined || Number(u.points) === 0) return;
    const now = performance.now();
    const period = frame.begin?.toISOString() ?? "";
    let p = this.pending.get(scopeId);
    const isFirst = p === undefined;
    if (p === undefined) {
      p = { at: now, points: 0, periods: 0, types: new Set(), first: period, last: period, reason: u.reason };
      this.pending.set(scopeId, p);
    }
    p.points += Number(u.points);
    p.periods++;
    for (const t of u.types) p.types.add(t);
    p.last = period;
    p.reason = u.reason;
    if (isFirst || now - p.at >= this.intervalMs) {
      this.logger.warn(
        {
          scope_id: scopeId,
          points: p.points,
          periods: p.periods,
          from: p.first,
          to: p.last,
          types: [...p.types].sort(),
          reason: REASONS[p.reason] ?? "unknown",
        },
        "points rated with no price rule in force: stored with price 0",
      );
      this.pending.set(scopeId, { at: now, points: 0, periods: 0, types: new Set(), first: period, last: period, reason: p.reason });
    }
  }
}
