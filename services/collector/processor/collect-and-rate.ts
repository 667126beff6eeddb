/**
 * One batch of a unit: every metric collected for the unit's scopes over
 * several periods under one deadline, then the frames priced by the rating
 * service.
 */
import { status as grpcStatus } from "@grpc/grpc-js";
import { mapLimit } from "../../../libs/async/limit.js";
import type { DataFrame, DataPoint } from "../../../libs/gen/ratemesh/v1/common.js";
import { isCode } from "../../../libs/grpc/status.js";
import { addSeconds } from "../../../libs/time/period.js";
import { withSpan } from "../../../libs/tracing/tracing.js";
import { collectBatch, toDataPoint } from "../collectors/collector.js";
import type { ProcessorContext } from "./context.js";
import { withDeadline } from "./deadline.js";
import { MonthToDate, type Quantities } from "./month-to-date.js";
import type { Member } from "./progress.js";

/** Points per Rate call: frames of a batch are rated together up to this. */
const RATE_CHUNK_POINTS = 50_000;

/**
 * The frame a Rate error is about, when rating refused one of the call's
 * frames (a point it cannot price: INVALID_ARGUMENT or FAILED_PRECONDITION
 * naming `frames[i]...`); undefined for any other error.
 */
function refusedFrame(err: unknown, frames: DataFrame[]): DataFrame | undefined {
  if (!isCode(err, grpcStatus.INVALID_ARGUMENT) && !isCode(err, grpcStatus.FAILED_PRECONDITION)) return undefined;
  const m = /^frames\[(\d+)\]/.exec(err.details);
  return m === null ? undefined : frames[Number(m[1])];
}

export class CollectAndRate {
  private readonly monthToDate: MonthToDate;

  constructor(private readonly ctx: ProcessorContext) {
    this.monthToDate = new MonthToDate(ctx);
  }

  /**
   * Collects every metric for the members over `periods` periods from
   * `begin`, under one deadline: one batch request per metric where the
   * collector can batch, else one per scope and period. Then rates the
   * frames. Returns the rated frames (in period order) of every member
   * whose collection and rating succeeded; a member whose collection
   * failed, or one of whose points rating refused, is recorded as failed
   * and left out, the others go on.
   */
  async batch(members: Member[], begin: Date, periods: number): Promise<Map<Member, DataFrame[]>> {
    const { collector, metrics } = this.ctx.deps;
    const { periodSeconds, collectTimeoutSeconds, maxThreads } = this.ctx.opts;
    const { failures, signals } = this.ctx;
    const end = addSeconds(begin, periods * periodSeconds);
    const cancel = new AbortController();
    const signal = AbortSignal.any([cancel.signal, signals.abandon]);
    const byScope = new Map(members.map((m) => [m.ownership.scopeId, m]));
    const failed = new Map<string, Error>();
    // points[scope][period begin ms]
    const points = new Map<string, Map<number, DataPoint[]>>();
    const attributes = { "ratemesh.scopes": byScope.size, "ratemesh.period.begin": begin.toISOString(), "ratemesh.periods": periods };
    const collect = mapLimit(metrics, maxThreads, async (metric) => {
      const result = await withSpan("collect", { attributes: { ...attributes, "ratemesh.metric": metric.name } }, async (span) => {
        const r = await collectBatch(
          collector,
          { metric, scopeIds: [...byScope.keys()], begin, end, periodSeconds, signal },
          Math.max(1, Math.floor(maxThreads / metrics.length)),
        );
        let n = 0;
        for (const byPeriod of r.measures.values()) for (const raw of byPeriod.values()) n += raw.length;
        span.setAttribute("ratemesh.points", n);
        this.ctx.telemetry.pointsCollected.inc(n);
        return r;
      });
      for (const [scopeId, err] of result.errors) if (!failed.has(scopeId)) failed.set(scopeId, err);
      for (const [scopeId, byPeriod] of result.measures) {
        let mine = points.get(scopeId);
        if (mine === undefined) {
          mine = new Map();
          points.set(scopeId, mine);
        }
        for (const [t, raw] of byPeriod) {
          const list = mine.get(t) ?? [];
          for (const r of raw) list.push(toDataPoint(metric, r));
          mine.set(t, list);
        }
      }
    });
    await withDeadline(
      collect,
      collectTimeoutSeconds,
      `collecting ${periods} period(s) from ${begin.toISOString()}`,
      cancel,
      signals.abandon,
    );

    for (const [scopeId, err] of failed) failures.fail([(byScope.get(scopeId) as Member).ownership], err, begin);
    const frames = new Map<Member, DataFrame[]>();
    for (const m of members) {
      const scopeId = m.ownership.scopeId;
      if (failed.has(scopeId)) continue;
      frames.set(
        m,
        Array.from({ length: periods }, (_, pi) => {
          const b = addSeconds(begin, pi * periodSeconds);
          return { scopeId, begin: b, end: addSeconds(b, periodSeconds), points: points.get(scopeId)?.get(b.getTime()) ?? [] };
        }),
      );
    }
    // Month-to-date quantities of each frame, read from storage just before rating (month-to-date.ts).
    const monthToDate = new Map<DataFrame, Quantities>();
    await Promise.all(
      [...frames].map(async ([m, list]) => {
        try {
          for (const [f, q] of await this.monthToDate.of(m.ownership.scopeId, list, signals.abandon)) monthToDate.set(f, q);
        } catch (err) {
          failures.fail([m.ownership], err, begin);
          frames.delete(m);
        }
      }),
    );
    for (const [m, refusal] of await this.rate(frames, monthToDate)) {
      failures.fail([m.ownership], refusal.err, refusal.frame.begin);
      frames.delete(m);
    }
    return frames;
  }

  /**
   * Rates the members' frames in place, several per call, up to
   * RATE_CHUNK_POINTS points a call. When rating refuses a frame of a call
   * with several scopes, the call is made again scope by scope, so that
   * only the scope of the bad point fails: returns each such scope with
   * the error (naming the point) and the frame. Any other error fails the
   * whole batch.
   */
  private async rate(
    byMember: Map<Member, DataFrame[]>,
    monthToDate: Map<DataFrame, Quantities>,
  ): Promise<Map<Member, { err: unknown; frame: DataFrame }>> {
    const memberOf = new Map<DataFrame, Member>();
    for (const [m, frames] of byMember) for (const f of frames) if (f.points.length > 0) memberOf.set(f, m);
    const pending = [...memberOf.keys()];
    const refused = new Map<Member, { err: unknown; frame: DataFrame }>();
    let i = 0;
    while (i < pending.length) {
      const chunk: DataFrame[] = [];
      let n = 0;
      while (i < pending.length && (chunk.length === 0 || n + (pending[i] as DataFrame).points.length <= RATE_CHUNK_POINTS)) {
        const f = pending[i++] as DataFrame;
        if (refused.has(memberOf.get(f) as Member)) continue;
        chunk.push(f);
        n += f.points.length;
      }
      try {
        await this.rateFrames(chunk, monthToDate);
        continue;
      } catch (err) {
        const frame = refusedFrame(err, chunk);
        if (frame === undefined) throw err;
        if (chunk.every((f) => memberOf.get(f) === memberOf.get(frame))) {
          refused.set(memberOf.get(frame) as Member, { err, frame });
          continue;
        }
      }
      // A point of one scope was refused: the call again, scope by scope.
      for (const m of new Set(chunk.map((f) => memberOf.get(f) as Member))) {
        const frames = chunk.filter((f) => memberOf.get(f) === m);
        try {
          await this.rateFrames(frames, monthToDate);
        } catch (err) {
          const frame = refusedFrame(err, frames);
          if (frame === undefined) throw err;
          refused.set(m, { err, frame });
        }
      }
    }
    return refused;
  }

  /** Rates frames in place, in one call. */
  private async rateFrames(chunk: DataFrame[], monthToDate: Map<DataFrame, Quantities>): Promise<void> {
    if (chunk.length === 0) return;
    const points = chunk.reduce((n, f) => n + f.points.length, 0);
    const mtd = chunk.flatMap((f, frame) => {
      const qty = monthToDate.get(f);
      return qty === undefined || Object.keys(qty).length === 0 ? [] : [{ frame, qty }];
    });
    const res = await this.ctx.deps.rating.rate(mtd.length === 0 ? { frames: chunk } : { frames: chunk, monthToDate: { frames: mtd } }, {
      signal: this.ctx.signals.abandon,
      attributes: { "ratemesh.frames": chunk.length, "ratemesh.points": points },
    });
    chunk.forEach((f, j) => {
      const rated = res.frames[j];
      if (rated === undefined || rated.points.length !== f.points.length) {
        throw new Error(`rating returned ${rated?.points.length ?? 0} points for ${f.points.length} (scope ${f.scopeId})`);
      }
      f.points = rated.points;
    });
    this.ctx.unpriced.fromRate(chunk, res.unpriced);
    if (res.monthDependent === true) for (const f of chunk) this.ctx.monthDependent.add(f);
  }
}
