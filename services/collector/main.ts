/**
 * Composition root of the collector service: configuration, metrics.yml,
 * telemetry, collector and fetcher, coordination, clients of rating and
 * storage, the processor, the gRPC server, readiness and shutdown.
 */

import { showHostPort } from "../../libs/config/options.js";
import type { Coordinator } from "../../libs/coordination/coordinator.js";
import { EtcdCoordinator } from "../../libs/coordination/etcd.js";
import { MemoryCoordinator } from "../../libs/coordination/memory.js";
import { parseCoordinationUrl } from "../../libs/coordination/url.js";
import { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import { RatingServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { ReprocessServiceService, ScopeServiceService, StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import { Connection, clientOptionsFrom } from "../../libs/grpc/client.js";
import { clientCertificatesFrom, serverTrustFrom } from "../../libs/grpc/from-config.js";
import { GrpcServer } from "../../libs/grpc/server.js";
import { runService } from "../../libs/service/run.js";
import { systemClock } from "../../libs/time/period.js";
import { collectorHandlers } from "./api.js";
import { createCollector, extraArgsValidator } from "./collectors/registry.js";
import { type CollectorConfig, collectorConfig, identityService } from "./config.js";
import { createFetcher } from "./fetchers/registry.js";
import { loadMetrics } from "./metrics.js";
import { collectorPolicy } from "./policy.js";
import { Processor } from "./processor.js";
import { CollectorTelemetry } from "./telemetry.js";

/** Polled by monitors: successful calls are logged at debug. */
const HOT_METHODS = ["CollectorService/GetStatus"];

const metricsOf = (config: CollectorConfig) =>
  loadMetrics(config.collect.metrics_conf, {
    scopeKey: config.collect.scope_key,
    extraArgs: extraArgsValidator(config.collect.collector),
  });
// metrics.yml is checked with the configuration, --check-config included.
const checked = { ...collectorConfig, checkFiles: (config: CollectorConfig) => void metricsOf(config) };

await runService(checked, async ({ config, logger, metrics: registry, listen }) => {
  const metricsFile = config.collect.metrics_conf;
  const metrics = metricsOf(config);
  // The one clock of the service: every "what time is it" below asks it.
  const clock = systemClock;
  const telemetry = new CollectorTelemetry(registry, config.collect.period);
  const collector = createCollector(config, { logger, clock, telemetry });
  const fetcher = createFetcher(config, { clock, telemetry });
  // The processor tells the coordinator whether its loop still makes
  // progress; it is built after the coordinator, hence the indirection.
  const progress = { healthy: () => true };
  const coordinator: Coordinator =
    config.orchestrator.coordination_url === ""
      ? new MemoryCoordinator()
      : new EtcdCoordinator({
          endpoints: parseCoordinationUrl(config.orchestrator.coordination_url),
          prefix: config.orchestrator.coordination_prefix,
          ttlSeconds: config.orchestrator.lease_ttl,
          logger,
          healthy: () => progress.healthy(),
          events: { leaseLost: () => telemetry.leaseLosses.inc(), keepaliveFailed: () => telemetry.keepaliveFailures.inc() },
        });
  await coordinator.start();

  // Its own certificate, presented on its calls, makes it the service identity (CommitPeriod, Rate, ...).
  const certificates = clientCertificatesFrom(config, config.collector, logger);
  const clientOpts = clientOptionsFrom(config, certificates);
  const storageConn = new Connection(config.storage.endpoint ?? showHostPort(config.storage.listen), clientOpts);
  const ratingConn = new Connection(config.rating.endpoint ?? showHostPort(config.rating.listen), clientOpts);
  const processor = new Processor(
    {
      periodSeconds: config.collect.period,
      waitPeriods: config.collect.wait_periods,
      start: config.collect.start,
      end: config.collect.end,
      maxWorkers: config.orchestrator.max_workers,
      maxThreads: config.orchestrator.max_threads,
      batchPeriods: config.collect.batch_periods,
      batchScopes: Math.min(config.collect.batch_scopes, config.orchestrator.max_workers),
      collectTimeoutSeconds: config.orchestrator.collector_request_timeout,
      scopeRefreshSeconds: Math.min(config.collect.period, 300),
      scopeKey: config.collect.scope_key,
      collectorName: collector.name,
      fetcherName: fetcher.name,
      tickSeconds: Math.min(config.collect.period, 5),
      billingTimeZone: config.collect.billing_time_zone,
    },
    {
      fetcher,
      collector,
      metrics,
      coordinator,
      storage: storageConn.client(StorageServiceService),
      scopes: storageConn.client(ScopeServiceService),
      reprocess: storageConn.client(ReprocessServiceService),
      rating: ratingConn.client(RatingServiceService),
      clock,
      logger,
      telemetry,
    },
  );
  telemetry.watch({
    owned: () => coordinator.held().length,
    behind: () => processor.status().map((p) => p.periodsBehind),
    leaseHeld: () => coordinator.leaseHeld(),
  });

  progress.healthy = () => processor.healthy();

  const trust = await serverTrustFrom(config, identityService, config.collector, logger);
  const server = new GrpcServer({ logger, metrics: registry, hotMethods: HOT_METHODS, ...trust });
  server.add(
    CollectorServiceService,
    collectorHandlers({
      collector,
      metrics,
      metricsFile,
      coordinator,
      processor,
      periodSeconds: config.collect.period,
      fetcherName: fetcher.name,
    }),
    collectorPolicy,
  );
  await listen(server, config.collector, {
    metrics: metrics.length,
    collector: collector.name,
    fetcher: fetcher.name,
    tls: trust.tls !== undefined,
  });
  processor.start();
  await server.watchReadiness(() => coordinator.leaseHeld(), config.server.readiness_interval);
  return {
    server,
    drain: (grace) => processor.stop(grace),
    close: async () => {
      storageConn.close();
      ratingConn.close();
      certificates?.close();
      await Promise.all([collector.close(), fetcher.close(), trust.close()]);
    },
  };
});
