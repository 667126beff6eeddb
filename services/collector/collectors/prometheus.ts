/**
 * The Prometheus collector, as CloudKitty's (collector/prometheus_base.py):
 *
 *   <agg>(<query_function>(<range_function or agg_over_time>(
 *       name{scope_key="scope"}[<period>s]))) by (<groupby>, <metadata>)
 *
 * with query_prefix and query_suffix joined by a space, evaluated as an
 * instant query at the period's end. groupby starts as {scope_key: scope}
 * and is then overwritten by each groupby label ('' when missing), metadata
 * comes from labels ('' when missing), and the quantity is computed under
 * precision 9, ROUND_HALF_UP (RawMeasure.context), unless
 * [collector_prometheus] quantity_precision says otherwise (0: exact).
 *
 * collectBatch asks one range query per group of scopes: start and end at
 * the first and last periods' ends, step one period, so Prometheus
 * evaluates the very same expression at the very same instants as the
 * instant queries (a range query is defined as instant queries at each
 * step). Several scopes share a query through a regex matcher on the scope
 * label, which is in the `by` clause, so no result mixes scopes; with a
 * query_prefix or query_suffix (free PromQL around the query, which may
 * drop that label) each scope gets its own range query.
 */
import { mapLimit } from "../../../libs/async/limit.js";
import { Decimal, DecimalContext } from "../../../libs/money/decimal.js";
import type { ExtraArgsValidator, MetricConfig } from "../metrics.js";
import type { PrometheusClient } from "../sources/prometheus.js";
import {
  type BatchQuery,
  type BatchResult,
  batchPeriods,
  CollectError,
  type Collector,
  type CollectQuery,
  collecting,
  type RawMeasure,
} from "./collector.js";

const AGGREGATIONS = ["avg", "count", "max", "min", "stddev", "stdvar", "sum"];
const QUERY_FUNCTIONS = ["abs", "ceil", "exp", "floor", "ln", "log2", "log10", "round", "sqrt"];
const RANGE_FUNCTIONS = ["changes", "delta", "deriv", "idelta", "irange", "irate", "rate"];
const KNOWN = ["aggregation_method", "query_function", "range_function", "query_prefix", "query_suffix"];

/** CloudKitty's precision for Prometheus quantities. */
export const CLOUDKITTY_PRECISION = 9;

/** Most periods in one range query (Prometheus refuses more than 11,000 points per series). */
const MAX_STEPS = 10_000;

export interface PrometheusArgs {
  aggregation_method: string;
  query_function: string | undefined;
  range_function: string | undefined;
  query_prefix: string;
  query_suffix: string;
}

export const prometheusExtraArgs: ExtraArgsValidator = (args, report) => {
  for (const k of Object.keys(args)) if (!KNOWN.includes(k)) report(k, `unknown argument (known: ${KNOWN.join(", ")})`);
  const pick = (key: string, choices: string[] | undefined, def: string | undefined): string | undefined => {
    const v = args[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== "string" || (choices !== undefined && !choices.includes(v))) {
      report(key, choices === undefined ? "must be a string" : `${JSON.stringify(v)} is not one of ${choices.join(", ")}`);
      return def;
    }
    return v;
  };
  const out: PrometheusArgs = {
    aggregation_method: pick("aggregation_method", AGGREGATIONS, "max") as string,
    query_function: pick("query_function", QUERY_FUNCTIONS, undefined),
    range_function: pick("range_function", RANGE_FUNCTIONS, undefined),
    query_prefix: pick("query_prefix", undefined, "") as string,
    query_suffix: pick("query_suffix", undefined, "") as string,
  };
  const clean: Record<string, unknown> = { ...out };
  for (const k of Object.keys(clean)) if (clean[k] === undefined) delete clean[k];
  return { args: clean, groupbyExtra: [] };
};

function prometheusArgs(extra: Record<string, unknown>): PrometheusArgs {
  return {
    aggregation_method: (extra.aggregation_method as string | undefined) ?? "max",
    query_function: extra.query_function as string | undefined,
    range_function: extra.range_function as string | undefined,
    query_prefix: (extra.query_prefix as string | undefined) ?? "",
    query_suffix: (extra.query_suffix as string | undefined) ?? "",
  };
}

/** A PromQL string literal (CloudKitty inserts the scope id as it is, which breaks on a quote). */
function promString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** RE2 syntax for a literal. */
function regexLiteral(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
}

/** CloudKitty's build_query, with the scope matcher given (one scope: `key="id"`). */
export function buildQuery(metric: MetricConfig, matcher: string, periodSeconds: number): string {
  const a = prometheusArgs(metric.extraArgs);
  let q = `${metric.name}{${matcher}}[${periodSeconds}s]`;
  q = a.range_function !== undefined ? `${a.range_function}(${q})` : `${a.aggregation_method}_over_time(${q})`;
  if (a.query_function !== undefined) q = `${a.query_function}(${q})`;
  q = `${a.aggregation_method}(${q}) by (${[...metric.groupby, ...metric.metadata].join(", ")})`;
  if (a.query_prefix !== "") q = `${a.query_prefix} ${q}`;
  if (a.query_suffix !== "") q = `${q} ${a.query_suffix}`;
  return q;
}

export interface PrometheusCollectorOptions {
  scopeKey: string;
  /** Significant digits of the quantity arithmetic, half up (CloudKitty: 9); 0: exact. */
  precision?: number;
  /** Most scopes in one range query. */
  maxScopesPerRequest?: number;
}

export class PrometheusCollector implements Collector {
  readonly name = "prometheus";
  private readonly context: DecimalContext | undefined;

  constructor(
    readonly client: PrometheusClient,
    private readonly opts: PrometheusCollectorOptions,
  ) {
    const precision = opts.precision ?? CLOUDKITTY_PRECISION;
    this.context = precision > 0 ? new DecimalContext(precision, "half_up") : undefined;
  }

  query(metric: MetricConfig, scopeId: string, begin: Date, end: Date): string {
    const period = Math.round((end.getTime() - begin.getTime()) / 1000);
    return buildQuery(metric, `${this.opts.scopeKey}=${promString(scopeId)}`, period);
  }

  describe(q: CollectQuery): string[] {
    return [this.client.describe(this.client.instantUrl(this.query(q.metric, q.scopeId, q.begin, q.end), q.end))];
  }

  async collect(q: CollectQuery): Promise<RawMeasure[]> {
    const query = this.query(q.metric, q.scopeId, q.begin, q.end);
    const series = await collecting(this.name, q.metric, [q.scopeId], q.begin, q.end, q.signal, () =>
      this.client.instant(query, q.end, q.signal),
    );
    return series.map((s) => this.measure(q.metric, q.scopeId, s.metric, s.value?.[1] ?? "", q.begin, q.end));
  }

  async collectBatch(q: BatchQuery): Promise<BatchResult> {
    const periods = batchPeriods(q);
    const a = prometheusArgs(q.metric.extraArgs);
    const shareable = a.query_prefix === "" && a.query_suffix === "";
    const max = shareable ? (this.opts.maxScopesPerRequest ?? 50) : 1;
    const chunks: string[][] = [];
    for (let i = 0; i < q.scopeIds.length; i += max) chunks.push(q.scopeIds.slice(i, i + max));
    const result: BatchResult = { measures: new Map(), errors: new Map() };
    await mapLimit(chunks, 2, async (chunk) => {
      try {
        await this.batchChunk(q, chunk, periods, result);
      } catch (err) {
        if (q.signal?.aborted) throw err;
        for (const scopeId of chunk) {
          if (chunk.length === 1) {
            result.errors.set(scopeId, err instanceof Error ? err : new Error(String(err)));
            continue;
          }
          try {
            await this.batchChunk(q, [scopeId], periods, result);
          } catch (e) {
            if (q.signal?.aborted) throw e;
            result.errors.set(scopeId, e instanceof Error ? e : new Error(String(e)));
          }
        }
      }
    });
    return result;
  }

  private async batchChunk(q: BatchQuery, scopeIds: string[], periods: number[], result: BatchResult): Promise<void> {
    const { metric, periodSeconds, signal } = q;
    const step = periodSeconds * 1000;
    const key = this.opts.scopeKey;
    const matcher =
      scopeIds.length === 1 ? `${key}=${promString(scopeIds[0] as string)}` : `${key}=~${promString(scopeIds.map(regexLiteral).join("|"))}`;
    const query = buildQuery(metric, matcher, periodSeconds);
    const byScope = new Map<string, Map<number, RawMeasure[]>>(scopeIds.map((s) => [s, new Map(periods.map((p) => [p, []]))]));
    for (let i = 0; i < periods.length; i += MAX_STEPS) {
      const slice = periods.slice(i, i + MAX_STEPS);
      const first = slice[0] as number;
      const last = slice.at(-1) as number;
      const begin = new Date(first);
      const end = new Date(last + step);
      const series = await collecting(this.name, metric, scopeIds, begin, end, signal, () =>
        this.client.range(query, new Date(first + step), end, periodSeconds, signal),
      );
      for (const s of series) {
        // One scope per query: every answer is that scope's, whatever its
        // labels (a suffix may drop them). Several: the scope label says.
        const scopeId = scopeIds.length === 1 ? (scopeIds[0] as string) : s.metric[key];
        const target = scopeId === undefined ? undefined : byScope.get(scopeId);
        if (target === undefined || scopeId === undefined) continue;
        for (const [ts, value] of s.values ?? []) {
          const p = Math.round(ts * 1000) - step;
          target.get(p)?.push(this.measure(metric, scopeId, s.metric, value, new Date(p), new Date(p + step)));
        }
      }
    }
    for (const [scopeId, m] of byScope) result.measures.set(scopeId, m);
  }

  private measure(
    metric: MetricConfig,
    scopeId: string,
    labels: Record<string, string>,
    value: string,
    begin: Date,
    end: Date,
  ): RawMeasure {
    const groupby: Record<string, string> = { [this.opts.scopeKey]: scopeId };
    for (const k of metric.groupby) groupby[k] = labels[k] ?? "";
    const metadata: Record<string, string> = {};
    for (const k of metric.metadata) metadata[k] = labels[k] ?? "";
    let parsed: Decimal;
    try {
      parsed = Decimal.parseLoose(value);
    } catch (err) {
      // NaN and ±Inf have no place in a bill: fail the period, loudly.
      throw new CollectError(
        this.name,
        metric.key,
        [scopeId],
        begin,
        end,
        new Error(`Prometheus gave the value ${JSON.stringify(value)} for ${JSON.stringify(labels)}, which is not a finite number`, {
          cause: err,
        }),
      );
    }
    return { value: parsed, groupby, metadata, context: this.context };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
