/**
 * What the collector counts (the `ratemesh_collector_*` metrics; the full
 * table is in deploy/prometheus/README.md). Not to be confused with
 * metrics.ts, which reads metrics.yml (what to collect).
 *
 * Counted once per batch or commit, never per point; where the processor
 * already knows a figure (scopes owned, periods behind, the lease), a gauge
 * reads it when scraped instead. Every label value comes from a fixed set:
 * nothing is labelled by scope.
 */
import { DeadlineExceededError } from "../../libs/errors/errors.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import {
  boundCounter,
  Counter,
  counter,
  Gauge,
  Histogram,
  histogram,
  LATENCY_BUCKETS,
  observedGauge,
  type Registry,
} from "../../libs/metrics/metrics.js";
import { CollectError } from "./collectors/collector.js";

export const FAILURE_REASONS = ["source", "source_timeout", "rating", "storage", "other"] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Where a failure recorded on a scope came from. */
export function failureReason(err: unknown): FailureReason {
  if (err instanceof DeadlineExceededError) return "source_timeout";
  if (err instanceof CollectError) return "source";
  if (err instanceof RemoteCallError) return err.method.startsWith("RatingService/") ? "rating" : "storage";
  return "other";
}

/** What the processor knows, read when the metrics are scraped. */
export interface ProcessorView {
  /** Scopes this process holds the ownership of now. */
  owned(): number;
  /** Periods behind of each scope this process should own. */
  behind(): number[];
  leaseHeld(): boolean;
}

/** The status label of a request to a source: the class of its HTTP status, or what went wrong (ok: a read of the usage file). */
export type SourceStatus = "2xx" | "3xx" | "4xx" | "5xx" | "timeout" | "error" | "ok";

export interface PoolStats {
  inUse: number;
  queued: number;
  max: number;
}

/** The requests of one client ("collector" or "fetcher") to one source ("gnocchi", "prometheus", "file"). */
export class SourceMeter {
  private readonly byStatus = new Map<SourceStatus, Counter.Internal>();

  constructor(
    private readonly requests: Counter<string>,
    private readonly seconds: Histogram.Internal<string>,
    private readonly labels: { source: string; client: string },
    private readonly pools: Set<() => PoolStats>,
  ) {}

  request(status: SourceStatus, seconds: number): void {
    let c = this.byStatus.get(status);
    if (c === undefined) {
      c = this.requests.labels({ ...this.labels, status });
      this.byStatus.set(status, c);
    }
    c.inc();
    this.seconds.observe(seconds);
  }

  /** Adds a connection pool to this meter's gauges (read when scraped). */
  pool(stats: () => PoolStats): void {
    this.pools.add(stats);
  }
}

export class CollectorTelemetry {
  readonly periodsCommitted: Counter;
  readonly pointsCollected: Counter;
  readonly failures: Record<FailureReason, Counter.Internal>;
  readonly commitsRefused: Counter;
  readonly batchSeconds: Histogram;
  readonly leaseLosses: Counter;
  readonly keepaliveFailures: Counter;
  private readonly sourceRequests: Counter<string>;
  private readonly sourceSeconds: Histogram<string>;
  private readonly pools = new Map<string, { labels: { source: string; client: string }; stats: Set<() => PoolStats> }>();
  private view: ProcessorView | undefined;

  constructor(
    private readonly registry: Registry,
    periodSeconds: number,
  ) {
    const r = [registry];
    this.periodsCommitted = counter(
      registry,
      "ratemesh_collector_periods_committed_total",
      "Periods this process committed to storage (each scope's period once; reprocessed periods included).",
    );
    this.pointsCollected = counter(
      registry,
      "ratemesh_collector_points_collected_total",
      "Data points collected from the source, before rating.",
    );
    this.failures = boundCounter(registry, {
      name: "ratemesh_collector_periods_failed_total",
      help: "Periods of a scope that could not be rated, by where it failed (source, source_timeout, rating, storage, other); each backs the scope off.",
      label: "reason",
      values: FAILURE_REASONS,
    });
    this.commitsRefused = counter(
      registry,
      "ratemesh_collector_commits_refused_total",
      "Commits storage refused because another owner's fencing token is newer or the scope's state moved.",
    );
    this.batchSeconds = histogram(
      registry,
      "ratemesh_collector_batch_duration_seconds",
      "Time of one batch of a catch-up (collect, rate and commit its periods), in seconds.",
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    );
    this.leaseLosses = counter(
      registry,
      "ratemesh_collector_lease_lost_total",
      "Times this process lost its coordination lease (and with it every scope it owned).",
    );
    this.keepaliveFailures = counter(
      registry,
      "ratemesh_collector_lease_keepalive_failures_total",
      "Keepalives of the coordination lease that failed.",
    );
    this.sourceRequests = new Counter({
      name: "ratemesh_collector_source_requests_total",
      help: "Requests to a usage source (each attempt) by source, client (collector or fetcher) and status (2xx..5xx, timeout, error; ok or error for the usage file).",
      labelNames: ["source", "client", "status"],
      registers: r,
    });
    this.sourceSeconds = new Histogram({
      name: "ratemesh_collector_source_request_duration_seconds",
      help: "Time of a request to a usage source (one attempt), in seconds.",
      labelNames: ["source", "client"],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    const period = new Gauge({
      name: "ratemesh_collector_period_seconds",
      help: "Length of a rating period ([collect] period).",
      registers: r,
    });
    period.set(periodSeconds);
    this.processorGauges(periodSeconds);
    this.poolGauges();
  }

  /** Where the gauges of the processor's state read from (set once the processor exists). */
  watch(view: ProcessorView): void {
    this.view = view;
  }

  /** The meter of one client of one source. */
  source(source: string, client: string): SourceMeter {
    const key = `${source}/${client}`;
    let entry = this.pools.get(key);
    if (entry === undefined) {
      entry = { labels: { source, client }, stats: new Set() };
      this.pools.set(key, entry);
    }
    return new SourceMeter(this.sourceRequests, this.sourceSeconds.labels(entry.labels), entry.labels, entry.stats);
  }

  private processorGauges(periodSeconds: number): void {
    const registry = this.registry;
    observedGauge(registry, {
      name: "ratemesh_collector_scopes_owned",
      help: "Scopes whose ownership this process holds now (it is working on them).",
      read: () => this.view?.owned() ?? 0,
    });
    observedGauge(registry, {
      name: "ratemesh_collector_scopes_behind",
      help: "Scopes this process should own that have finished periods not rated yet.",
      read: () => (this.view?.behind() ?? []).filter((n) => n > 0).length,
    });
    observedGauge(registry, {
      name: "ratemesh_collector_periods_behind",
      help: "Finished periods not rated yet, over the scopes this process should own.",
      read: () => (this.view?.behind() ?? []).reduce((a, b) => a + b, 0),
    });
    observedGauge(registry, {
      name: "ratemesh_collector_max_scope_lag_seconds",
      help: "How far the scope furthest behind is from what may be rated now (periods behind x period), in seconds.",
      read: () => (this.view?.behind() ?? []).reduce((a, b) => Math.max(a, b), 0) * periodSeconds,
    });
    observedGauge(registry, {
      name: "ratemesh_collector_lease_held",
      help: "1 while this process holds its coordination lease (it may own scopes), else 0.",
      read: () => (this.view?.leaseHeld() ? 1 : 0),
    });
  }

  private poolGauges(): void {
    const pools = this.pools;
    const gauge = (name: string, help: string, pick: (s: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["source", "client"],
        registers: [this.registry],
        collect() {
          for (const { labels, stats } of pools.values()) {
            if (stats.size === 0) continue;
            let v = 0;
            for (const s of stats) v += pick(s());
            this.set(labels, v);
          }
        },
      });
    gauge(
      "ratemesh_collector_source_connections_in_use",
      "HTTP connections to a source busy with a request now (at most [collector_*] http_pool_maxsize per origin).",
      (s) => s.inUse,
    );
    gauge("ratemesh_collector_source_connections_max", "The bound of HTTP connections to a source (http_pool_maxsize).", (s) => s.max);
    gauge("ratemesh_collector_source_requests_queued", "Requests to a source waiting for a free HTTP connection.", (s) => s.queued);
  }
}
