/**
 * The collector's gRPC handlers: Collect (debug a metric against the real
 * source), ListMetrics and GetStatus.
 */

import type { Coordinator } from "../../libs/coordination/coordinator.js";
import { InvalidArgumentError, NotFoundError } from "../../libs/errors/errors.js";
import type { CollectorServiceService, MetricConfig as MetricMessage } from "../../libs/gen/ratemesh/v1/collector.js";
import type { Handlers } from "../../libs/grpc/server.js";
import { addSeconds } from "../../libs/time/period.js";
import { optionalDate, requireAligned, requireDate, requireText } from "../../libs/validation/fields.js";
import { type Collector, toDataPoint } from "./collectors/collector.js";
import type { MetricConfig } from "./metrics.js";
import type { Processor } from "./processor.js";

export interface CollectorApiDeps {
  collector: Collector;
  metrics: MetricConfig[];
  metricsFile: string;
  coordinator: Coordinator;
  processor: Processor;
  periodSeconds: number;
  fetcherName: string;
}

/** The metric as metrics.yml gives it, with its decimals as text. */
function toMetricMessage(m: MetricConfig): MetricMessage {
  return {
    ...m,
    factor: m.factor.toString(),
    offset: m.offset.toString(),
    mutateMap: Object.fromEntries([...(m.mutateMap ?? new Map())].map(([k, v]) => [k, v.toString()])),
  };
}

/** A metric by key ("name@#alt"), by alt_name, or by name when that is unambiguous. */
export function findMetric(metrics: MetricConfig[], wanted: string): MetricConfig {
  const exact = metrics.find((m) => m.key === wanted) ?? metrics.find((m) => m.altName === wanted);
  if (exact !== undefined) return exact;
  const byName = metrics.filter((m) => m.name === wanted);
  if (byName.length === 1) return byName[0] as MetricConfig;
  if (byName.length > 1) {
    throw new InvalidArgumentError("metric", `${wanted} has several rating types; name one of ${byName.map((m) => m.key).join(", ")}`);
  }
  throw new NotFoundError("metric", wanted);
}

export function collectorHandlers(deps: CollectorApiDeps): Partial<Handlers<typeof CollectorServiceService>> {
  return {
    async collect(req, ctx) {
      const scopeId = requireText(req.scopeId, "scope_id");
      const metric = findMetric(deps.metrics, requireText(req.metric, "metric"));
      const begin = requireAligned(requireDate(req.begin, "begin"), deps.periodSeconds, "begin");
      const end = optionalDate(req.end, "end") ?? addSeconds(begin, deps.periodSeconds);
      if (end.getTime() <= begin.getTime()) throw new InvalidArgumentError("end", "must be after begin");
      const query = { metric, scopeId, begin, end, signal: ctx.signal };
      const raw = await deps.collector.collect(query);
      return {
        points: raw.map((m) => toDataPoint(metric, m)),
        sourceRequests: await deps.collector.describe(query),
        metric: metric.key,
      };
    },

    async listMetrics() {
      return { metrics: deps.metrics.map(toMetricMessage), source: deps.metricsFile };
    },

    async getStatus() {
      const c = deps.coordinator;
      return {
        memberId: c.memberId,
        coordination: c.kind,
        leaseHeld: c.leaseHeld(),
        members: c.members().map((m) => ({ memberId: m.memberId, description: m.description, joinedAt: m.joinedAt })),
        scopes: deps.processor.status().map((s) => ({
          scopeId: s.scopeId,
          state: s.state,
          periodsBehind: String(s.periodsBehind),
          fencingToken: s.token?.toString() ?? "0",
          lastError: s.lastError ?? "",
          lastErrorAt: s.lastErrorAt,
          busy: s.busy,
          reprocessTaskId: s.taskId ?? "",
          unpricedPoints: String(s.unpricedPoints),
          unpriced: s.unpricedPoints > 0,
        })),
        collector: deps.collector.name,
        fetcher: deps.fetcherName,
        scopesDiscovered: String(deps.processor.scopesDiscovered),
        fencingEpoch: c.epoch.toString(),
      };
    },
  };
}
