/**
 * The Gnocchi collector, as CloudKitty's: per metric, scope and period one
 * aggregates request (POST /v1/aggregates with the operation, the resource
 * type and scope search, groupby, use_history, granularity), the first
 * aggregate of each group as the value, and, when the metric has metadata,
 * the scope's resources (paged by marker) to take it from. Values keep
 * their JSON text on the way to a Decimal.
 *
 * collectBatch does the same for several scopes and periods with one
 * aggregates request (and one resource listing) per group of scopes: the
 * scopes through an `in` filter on the scope key (already in the groupby,
 * so groups never mix scopes), the periods through a window covering them
 * all, cut back into periods by splitByPeriod. See gnocchi-query.ts for why
 * the cut is exact, and README.md for the one case (a custom query that is
 * not pointwise) that is collected period by period instead.
 */
import { mapLimit } from "../../../libs/async/limit.js";
import type { Logger } from "../../../libs/logging/logger.js";
import { Decimal } from "../../../libs/money/decimal.js";
import type { MetricConfig } from "../metrics.js";
import type { AggregateGroup, AggregatesQuery, GnocchiClient, SearchQuery } from "../sources/gnocchi.js";
import { attributeText } from "../sources/json.js";
import {
  type BatchQuery,
  type BatchResult,
  batchPeriods,
  type Collector,
  type CollectQuery,
  collectBatchByPeriod,
  collecting,
  type RawMeasure,
} from "./collector.js";
import {
  aggregatesSearch,
  aggregationOperation,
  type GnocchiArgs,
  gnocchiArgs,
  isPointwiseQuery,
  keepLatestRevisions,
  resourceAliveFor,
  resourcesSearch,
  type SplitMode,
  splitByPeriod,
} from "./gnocchi-query.js";

export interface GnocchiCollectorOptions {
  scopeKey: string;
  /** [collect] period: CloudKitty widens the resource search by one period on each side. */
  periodSeconds: number;
  /** Most scopes in one batch request (an `in` filter). */
  maxScopesPerRequest?: number;
  logger?: Logger | undefined;
}

interface Resource {
  key: string;
  scope: string;
  startedAt: number;
  endedAt: number | undefined;
  attrs: Record<string, unknown>;
}

interface BatchPlan {
  mode: SplitMode;
  operations: unknown;
  startShiftMs: number;
}

const DEFAULT_MAX_SCOPES = 50;

export class GnocchiCollector implements Collector {
  readonly name = "gnocchi";

  constructor(
    readonly client: GnocchiClient,
    private readonly opts: GnocchiCollectorOptions,
  ) {}

  /** The aggregates query of one period, exactly as CloudKitty sends it. */
  aggregatesQuery(metric: MetricConfig, scopeIds: string[], begin: Date, end: Date): AggregatesQuery {
    const a = gnocchiArgs(metric.extraArgs);
    const shift = a.re_aggregation_method.startsWith("rate:") ? a.force_granularity * 1000 : 0;
    return {
      operations: aggregationOperation(metric.name, a),
      resourceType: a.resource_type,
      search: aggregatesSearch(a.resource_type, this.opts.scopeKey, scopeIds),
      start: new Date(begin.getTime() - shift),
      stop: end,
      granularity: a.force_granularity > 0 ? a.force_granularity : undefined,
      groupby: metric.groupby,
    };
  }

  resourcesQuery(metric: MetricConfig, scopeIds: string[], begin: Date, end: Date, marker: string | undefined): SearchQuery {
    const a = gnocchiArgs(metric.extraArgs);
    const attrs = [...new Set(["id", a.resource_key, this.opts.scopeKey, "started_at", "ended_at", ...metric.metadata])];
    return {
      resourceType: a.resource_type,
      filter: resourcesSearch(this.opts.scopeKey, scopeIds, begin, end, this.opts.periodSeconds),
      sort: [`${a.resource_key}:asc`],
      attrs,
      marker,
    };
  }

  async describe(q: CollectQuery): Promise<string[]> {
    const out = [await this.client.describeAggregates(this.aggregatesQuery(q.metric, [q.scopeId], q.begin, q.end))];
    if (q.metric.metadata.length > 0) {
      out.push(
        `${await this.client.describeSearch(this.resourcesQuery(q.metric, [q.scopeId], q.begin, q.end, undefined))} (then by marker until the last page)`,
      );
    }
    return out;
  }

  async collect(q: CollectQuery): Promise<RawMeasure[]> {
    const { metric, scopeId, begin, end, signal } = q;
    const a = gnocchiArgs(metric.extraArgs);
    return collecting(this.name, metric, [scopeId], begin, end, signal, async () => {
      const res = await this.client.aggregates(this.aggregatesQuery(metric, [scopeId], begin, end), signal);
      if ("metricNotFound" in res) return [];
      const groups = a.use_all_resource_revisions ? res.groups : keepLatestRevisions(res.groups);
      if (metric.metadata.length === 0) return this.format(metric, a, groups, undefined, scopeId, begin);
      // No group has a value: no point could use a resource, so the search
      // (which CloudKitty sends anyway) cannot change the result.
      if (groups.every((g) => g.aggregated.length === 0)) return [];
      const resources = await this.fetchResources(metric, [scopeId], begin, end, signal);
      // CloudKitty keys resources by resource_key; a later one (in the sort
      // order) replaces an earlier one with the same key.
      const byKey = new Map(resources.map((r) => [r.key, r]));
      return this.format(metric, a, groups, (key) => byKey.get(key), scopeId, begin);
    });
  }

  async collectBatch(q: BatchQuery): Promise<BatchResult> {
    const periods = batchPeriods(q);
    const plan = this.batchPlan(q.metric);
    if (plan === undefined) return collectBatchByPeriod(this, q);
    const result: BatchResult = { measures: new Map(), errors: new Map() };
    const max = this.opts.maxScopesPerRequest ?? DEFAULT_MAX_SCOPES;
    const chunks: string[][] = [];
    for (let i = 0; i < q.scopeIds.length; i += max) chunks.push(q.scopeIds.slice(i, i + max));
    await mapLimit(chunks, 2, async (chunk) => {
      try {
        await this.batchChunk(q, plan, chunk, periods, result);
      } catch (err) {
        if (q.signal?.aborted) throw err;
        if (chunk.length === 1) {
          result.errors.set(chunk[0] as string, asError(err));
          return;
        }
        // One scope's problem must not fail its neighbours: ask again
        // scope by scope, so each error lands on the scope it belongs to.
        for (const scopeId of chunk) {
          try {
            await this.batchChunk(q, plan, [scopeId], periods, result);
          } catch (e) {
            if (q.signal?.aborted) throw e;
            result.errors.set(scopeId, asError(e));
          }
        }
      }
    });
    return result;
  }

  /** How a metric is batched; undefined: period by period (a custom query that is not pointwise). */
  batchPlan(metric: MetricConfig): BatchPlan | undefined {
    const a = gnocchiArgs(metric.extraArgs);
    const rate = a.re_aggregation_method.startsWith("rate:");
    const startShiftMs = rate ? a.force_granularity * 1000 : 0;
    if (a.custom_query !== "") {
      const op = aggregationOperation(metric.name, a);
      return typeof op === "string" && isPointwiseQuery(op) ? { mode: { kind: "pointwise" }, operations: op, startShiftMs } : undefined;
    }
    if (rate) {
      // Rates are recomputed per period from the plain re-aggregation at
      // every timestamp: a rate over the whole window would difference each
      // period's first timestamp with the previous period's last one.
      const plain = a.re_aggregation_method.slice("rate:".length);
      return { mode: { kind: "rate" }, operations: aggregationOperation(metric.name, a, plain), startShiftMs };
    }
    return { mode: { kind: "pointwise" }, operations: aggregationOperation(metric.name, a), startShiftMs };
  }

  private async batchChunk(q: BatchQuery, plan: BatchPlan, scopeIds: string[], periods: number[], result: BatchResult): Promise<void> {
    const { metric, begin, end, signal } = q;
    const a = gnocchiArgs(metric.extraArgs);
    const periodMs = q.periodSeconds * 1000;
    await collecting(this.name, metric, scopeIds, begin, end, signal, async () => {
      const query: AggregatesQuery = {
        ...this.aggregatesQuery(metric, scopeIds, begin, end),
        operations: plan.operations,
        start: new Date(begin.getTime() - plan.startShiftMs),
      };
      const res = await this.client.aggregates(query, signal);
      const groupsByScope = new Map<string, AggregateGroup[]>(scopeIds.map((s) => [s, []]));
      if ("groups" in res) {
        for (const g of res.groups) groupsByScope.get(attributeText(g.group[this.opts.scopeKey]))?.push(g);
      }
      let resourcesByScope: Map<string, Map<string, Resource[]>> | undefined;
      if (metric.metadata.length > 0 && "groups" in res && res.groups.some((g) => g.aggregated.length > 0)) {
        resourcesByScope = new Map(scopeIds.map((s) => [s, new Map()]));
        for (const r of await this.fetchResources(metric, scopeIds, begin, end, signal)) {
          const byKey = resourcesByScope.get(r.scope);
          if (byKey === undefined) continue;
          const list = byKey.get(r.key);
          if (list === undefined) byKey.set(r.key, [r]);
          else list.push(r);
        }
      }
      for (const scopeId of scopeIds) {
        const split = splitByPeriod(groupsByScope.get(scopeId) ?? [], periods, periodMs, plan.startShiftMs, plan.mode);
        const byPeriod = new Map<number, RawMeasure[]>();
        for (const p of periods) {
          const raw = split.get(p) ?? [];
          const groups = a.use_all_resource_revisions ? raw : keepLatestRevisions(raw);
          const byKey = resourcesByScope?.get(scopeId);
          // The resources each period's own search would have found: the
          // last one in sort order, with the key, alive for that period.
          const lookup =
            resourcesByScope === undefined
              ? undefined
              : (key: string) => {
                  const candidates = byKey?.get(key) ?? [];
                  for (let i = candidates.length - 1; i >= 0; i--) {
                    const r = candidates[i] as Resource;
                    if (resourceAliveFor(r.startedAt, r.endedAt, p, p + periodMs, periodMs)) return r;
                  }
                  return undefined;
                };
          byPeriod.set(
            p,
            metric.metadata.length > 0 && lookup === undefined ? [] : this.format(metric, a, groups, lookup, scopeId, new Date(p)),
          );
        }
        result.measures.set(scopeId, byPeriod);
      }
    });
  }

  private async fetchResources(
    metric: MetricConfig,
    scopeIds: string[],
    begin: Date,
    end: Date,
    signal?: AbortSignal,
  ): Promise<Resource[]> {
    const a = gnocchiArgs(metric.extraArgs);
    const out: Resource[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.client.searchResources(this.resourcesQuery(metric, scopeIds, begin, end, marker), signal);
      for (const attrs of page.resources) {
        out.push({
          key: attributeText(attrs[a.resource_key]),
          scope: attributeText(attrs[this.opts.scopeKey]),
          startedAt: Date.parse(String(attrs.started_at)),
          endedAt: attrs.ended_at === null || attrs.ended_at === undefined ? undefined : Date.parse(String(attrs.ended_at)),
          attrs,
        });
      }
      const last = page.resources.at(-1);
      // Gnocchi's marker is a resource id, whatever the sort key.
      if (!page.more || last === undefined) return out;
      marker = attributeText(last.id);
    }
  }

  private format(
    metric: MetricConfig,
    a: GnocchiArgs,
    groups: AggregateGroup[],
    resourceFor: ((key: string) => Resource | undefined) | undefined,
    scopeId: string,
    begin: Date,
  ): RawMeasure[] {
    const out: RawMeasure[] = [];
    let missing = 0;
    for (const g of groups) {
      const first = g.aggregated[0];
      // Only the first aggregate of the window is the quantity (CloudKitty's
      // aggregated[0][2]); a group without aggregates has no data.
      if (first === undefined) continue;
      const metadata: Record<string, string> = {};
      if (resourceFor !== undefined) {
        const r = resourceFor(attributeText(g.group[a.resource_key]));
        if (r === undefined) {
          missing++;
          continue;
        }
        for (const k of metric.metadata) metadata[k] = attributeText(r.attrs[k]);
      }
      const groupby: Record<string, string> = {};
      for (const k of metric.groupby) groupby[k] = attributeText(g.group[k]);
      out.push({ value: Decimal.parseLoose(first[2]), groupby, metadata });
    }
    if (missing > 0) {
      this.opts.logger?.warn(
        { metric: metric.key, scope_id: scopeId, begin: begin.toISOString(), skipped: missing },
        "measures without a matching resource were skipped (as CloudKitty does)",
      );
    }
    return out;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
