/**
 * One batch of a unit: every metric collected for the unit's scopes over
 * several periods under one deadline, then the frames priced by the rating
 * service.
 */
import { mapLimit } from "../../../libs/async/limit.js";
import type { DataFrame, DataPoint } from "../../../libs/gen/ratemesh/v1/common.js";
import { addSeconds } from "../../../libs/time/period.js";
import { withSpan } from "../../../libs/tracing/tracing.js";
import { collectBatch, toDataPoint } from "../collectors/collector.js";
import type { ProcessorContext } from "./context.js";
import { withDeadline } from "./deadline.js";
import type { Member } from "./progress.js";

/** Points per Rate call: frames of a batch are rated together up to this. */
const RATE_CHUNK_POINTS = 50_000;

export class CollectAndRate {
  constructor(private readonly ctx: ProcessorContext) {}

  /**
   * Collects every metric for the members over `periods` periods from
   * `begin`, under one deadline: one batch request per metric where the
   * collector can batch, else one per scope and period. Then rates the
   * frames. Returns the rated frames (in period order) of every member
   * whose collection succeeded; a member whose collection failed is
   * recorded as failed and left out, the others go on.
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
    await this.rate([...frames.values()].flat());
    return frames;
  }

  /** Rates frames in place, several per call, up to RATE_CHUNK_POINTS points a call. */
  private async rate(frames: DataFrame[]): Promise<void> {
    const pending = frames.filter((f) => f.points.length > 0);
    let i = 0;
    while (i < pending.length) {
      const chunk: DataFrame[] = [];
      let n = 0;
      while (i < pending.length && (chunk.length === 0 || n + (pending[i] as DataFrame).points.length <= RATE_CHUNK_POINTS)) {
        const f = pending[i++] as DataFrame;
        chunk.push(f);
        n += f.points.length;
      }
      const res = await this.ctx.deps.rating.rate(
        { frames: chunk },
        { signal: this.ctx.signals.abandon, attributes: { "ratemesh.frames": chunk.length, "ratemesh.points": n } },
      );
      chunk.forEach((f, j) => {
        const rated = res.frames[j];
        if (rated === undefined || rated.points.length !== f.points.length) {
          throw new Error(`rating returned ${rated?.points.length ?? 0} points for ${f.points.length} (scope ${f.scopeId})`);
        }
        f.points = rated.points;
      });
      this.ctx.unpriced.fromRate(chunk, res.unpriced);
    }
  }
}
