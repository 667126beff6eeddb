/**
 * A collector fetches one metric's usage for one scope over one period from
 * its source, as raw values grouped by the metric's groupby; the shared
 * quantity pipeline then makes them data points.
 *
 * Catch-up goes through the optional batch method: one metric, several
 * scopes, a window of several whole periods, as few requests to the source
 * as it allows, and the measures split by scope and period exactly as
 * `collect` would give them for each (scope, period). The caller then
 * commits period by period as usual. `collectBatch` (below) picks the
 * collector's own batch method or falls back to one `collect` per scope and
 * period, so callers need not care which collector they hold.
 */
import { mapLimit } from "../../../libs/async/limit.js";
import { type ErrorKind, errorMessage, RatemeshError } from "../../../libs/errors/errors.js";
import type { DataPoint } from "../../../libs/gen/ratemesh/v1/common.js";
import type { Decimal, DecimalContext } from "../../../libs/money/decimal.js";
import { rfc3339 } from "../../../libs/time/period.js";
import type { MetricConfig } from "../metrics.js";
import { convertQuantity } from "../quantity.js";

export interface CollectQuery {
  metric: MetricConfig;
  scopeId: string;
  begin: Date;
  end: Date;
  signal?: AbortSignal;
}

export interface RawMeasure {
  /** The value as the source gives it, before factor, offset and mutate. */
  value: Decimal;
  groupby: Record<string, string>;
  metadata: Record<string, string>;
  /**
   * The arithmetic of factor and offset when the collector reproduces a
   * limited precision (Prometheus: 9 digits, half up, as CloudKitty);
   * undefined: exact.
   */
  context?: DecimalContext | undefined;
}

export interface BatchQuery {
  metric: MetricConfig;
  /** Distinct scope ids; the collector may group them into fewer requests. */
  scopeIds: string[];
  /** Window [begin, end): aligned to periodSeconds and a whole number of periods long. */
  begin: Date;
  end: Date;
  periodSeconds: number;
  signal?: AbortSignal;
}

/**
 * A batch's outcome, scope by scope. Every scope of the query is in exactly
 * one of the two maps. For a scope in `measures`, every period of the
 * window has an entry (keyed by the period's begin in epoch milliseconds),
 * holding exactly what `collect` gives for that scope and period (an empty
 * list: no data). A scope in `errors` failed as a whole; the others are
 * unaffected.
 */
export interface BatchResult {
  measures: Map<string, Map<number, RawMeasure[]>>;
  errors: Map<string, Error>;
}

export interface Collector {
  readonly name: string;
  /** No data for the metric in the period gives an empty list. */
  collect(query: CollectQuery): Promise<RawMeasure[]>;
  /** What collect would ask the source, for the Collect RPC's debugging output. */
  describe(query: CollectQuery): string[] | Promise<string[]>;
  /** Several scopes and periods at once; see BatchResult. Optional: see collectBatch(). */
  collectBatch?(query: BatchQuery): Promise<BatchResult>;
  close(): Promise<void>;
}

/**
 * A collection that failed once the source's retries were spent: names the
 * collector, metric, scope(s) and period, then what the source answered.
 * Its kind follows the cause: UNAVAILABLE for a source that is down or
 * failing (5xx, connection), FAILED_PRECONDITION for a request the source
 * refuses (a metrics.yml or credentials problem).
 */
export class CollectError extends RatemeshError {
  readonly kind: ErrorKind;
  constructor(collector: string, metric: string, scopeIds: string[], begin: Date, end: Date, cause: unknown) {
    const scopes = scopeIds.length === 1 ? `scope ${scopeIds[0]}` : `scopes ${scopeIds.join(", ")}`;
    super(`${collector}: metric ${metric}, ${scopes}, period [${rfc3339(begin)}, ${rfc3339(end)}): ${errorMessage(cause)}`, { cause });
    this.kind = cause instanceof RatemeshError ? cause.kind : "failed_precondition";
    this.name = "CollectError";
  }
}

/**
 * Runs one collection of a collector: any failure but an abort becomes a
 * CollectError naming the collector, metric, scopes and period.
 */
export async function collecting<T>(
  collector: string,
  metric: MetricConfig,
  scopeIds: string[],
  begin: Date,
  end: Date,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new CollectError(collector, metric.key, scopeIds, begin, end, err);
  }
}

/** The begins (epoch ms) of the periods of a batch window, checked. */
export function batchPeriods(q: Pick<BatchQuery, "begin" | "end" | "periodSeconds">): number[] {
  const step = q.periodSeconds * 1000;
  const from = q.begin.getTime();
  const to = q.end.getTime();
  if (!(step > 0) || from % step !== 0 || to % step !== 0 || to <= from) {
    throw new RangeError(`batch window [${q.begin.toISOString()}, ${q.end.toISOString()}) is not whole periods of ${q.periodSeconds} s`);
  }
  const out: number[] = [];
  for (let t = from; t < to; t += step) out.push(t);
  return out;
}

/**
 * Collects a batch with the collector's own batch method when it has one,
 * else with one `collect` per scope and period (at most `concurrency` at
 * once). Either way the result has the same shape and the same content.
 */
export async function collectBatch(collector: Collector, q: BatchQuery, concurrency = 4): Promise<BatchResult> {
  if (collector.collectBatch !== undefined) return collector.collectBatch(q);
  return collectBatchByPeriod(collector, q, concurrency);
}

/** The reference implementation of a batch: period by period, scope by scope. */
export async function collectBatchByPeriod(collector: Collector, q: BatchQuery, concurrency = 4): Promise<BatchResult> {
  const periods = batchPeriods(q);
  const step = q.periodSeconds * 1000;
  const result: BatchResult = { measures: new Map(), errors: new Map() };
  await mapLimit(q.scopeIds, Math.max(1, Math.ceil(concurrency / Math.max(1, periods.length))), async (scopeId) => {
    try {
      const byPeriod = new Map<number, RawMeasure[]>();
      const lists = await mapLimit(periods, concurrency, (t) =>
        collector.collect({
          metric: q.metric,
          scopeId,
          begin: new Date(t),
          end: new Date(t + step),
          ...(q.signal ? { signal: q.signal } : {}),
        }),
      );
      for (const [i, t] of periods.entries()) byPeriod.set(t, lists[i] ?? []);
      result.measures.set(scopeId, byPeriod);
    } catch (err) {
      if (q.signal?.aborted) throw err;
      result.errors.set(scopeId, err instanceof Error ? err : new Error(String(err)));
    }
  });
  return result;
}

/** A collected measure as a data point of the metric's rating type (price 0). */
export function toDataPoint(metric: MetricConfig, m: RawMeasure): DataPoint {
  return {
    type: metric.altName,
    unit: metric.unit,
    qty: convertQuantity(m.value, metric, m.context).normalize().toString(),
    price: "0",
    groupby: m.groupby,
    metadata: m.metadata,
  };
}
