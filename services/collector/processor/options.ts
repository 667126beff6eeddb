/** What the processor is built from: its settings and its collaborators. */
import type { Coordinator } from "../../../libs/coordination/coordinator.js";
import type { RatingServiceService } from "../../../libs/gen/ratemesh/v1/rating.js";
import type { ReprocessServiceService, ScopeServiceService, StorageServiceService } from "../../../libs/gen/ratemesh/v1/storage.js";
import type { Client } from "../../../libs/grpc/client.js";
import type { Logger } from "../../../libs/logging/logger.js";
import type { Clock } from "../../../libs/time/period.js";
import type { Collector } from "../collectors/collector.js";
import type { Fetcher } from "../fetchers/fetcher.js";
import type { MetricConfig } from "../metrics.js";
import type { CollectorTelemetry } from "../telemetry.js";

export interface ProcessorOptions {
  periodSeconds: number;
  waitPeriods: number;
  /** Where a never rated scope starts; undefined: the start of the current month. */
  start: Date | undefined;
  /** Periods ending after this are not rated; undefined: no end. */
  end: Date | undefined;
  maxWorkers: number;
  maxThreads: number;
  batchPeriods: number;
  batchScopes: number;
  scopeKey: string;
  collectorName: string;
  fetcherName: string;
  /** How often the scheduler looks for work when nothing wakes it. */
  tickSeconds: number;
  /** How often the fetcher lists the scopes. */
  scopeRefreshSeconds: number;
  /** Deadline of collecting one batch. */
  collectTimeoutSeconds: number;
  /** The time zone of billing months (month-to-date quantities for tiered prices); default UTC. */
  billingTimeZone?: string;
}

export interface ProcessorDeps {
  fetcher: Fetcher;
  collector: Collector;
  metrics: MetricConfig[];
  coordinator: Coordinator;
  storage: Client<typeof StorageServiceService>;
  scopes: Client<typeof ScopeServiceService>;
  reprocess: Client<typeof ReprocessServiceService>;
  rating: Client<typeof RatingServiceService>;
  /** The only source of "now" in the processor: backoff, lateness, the loop's liveness. */
  clock: Clock;
  logger: Logger;
  /** Where the processor counts; none: counted in a registry nobody reads. */
  telemetry?: CollectorTelemetry;
}
