/**
 * Composition root of the storage service: configuration, engine, metrics,
 * gRPC server, readiness and shutdown.
 */
import { auditHandlers } from "../../libs/audit/api.js";
import { AuditTrail } from "../../libs/audit/trail.js";
import { AuditServiceService } from "../../libs/gen/ratemesh/v1/audit.js";
import { ReprocessServiceService, ScopeServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import { serverTrustFrom } from "../../libs/grpc/from-config.js";
import { GrpcServer } from "../../libs/grpc/server.js";
import { runService } from "../../libs/service/run.js";
import { systemClock } from "../../libs/time/period.js";
import { reprocessHandlers } from "./api/reprocess-service.js";
import { scopeHandlers } from "./api/scope-service.js";
import { storageService } from "./api/storage-service.js";
import { identityService, storageConfig } from "./config.js";
import { openEngine } from "./engines.js";
import { auditPolicy, reprocessPolicy, scopePolicy, storagePolicy } from "./policy.js";
import { StorageTelemetry } from "./telemetry.js";

/** Called for every period rated (CommitPeriod) or by every collector loop: their successful calls are logged at debug. */
const HOT_METHODS = ["StorageService/CommitPeriod", "ScopeService/GetScope", "ScopeService/ListScopes", "ReprocessService/ListTasks"];

await runService(storageConfig, async ({ config, logger, metrics, listen }) => {
  const periodSeconds = config.collect.period;
  const { backend, url } = config.storage;
  const engine = await openEngine({ backend, url, periodSeconds, poolSize: config.storage.pool_size, cacheMiB: config.storage.cache_size });
  const telemetry = new StorageTelemetry(metrics, () => engine.connections());
  const deps = {
    engine,
    logger,
    clock: systemClock,
    periodSeconds,
    waitPeriods: config.collect.wait_periods,
    clockSkewTolerance: config.storage.clock_skew_tolerance,
    billingTimeZone: config.collect.billing_time_zone,
    telemetry,
  };
  const trust = await serverTrustFrom(config, identityService, config.storage, logger);
  const audit = await AuditTrail.open({ backend, url, table: "storage_audit" });
  const server = new GrpcServer({ logger, metrics, hotMethods: HOT_METHODS, ...trust, audit });
  const storage = storageService(deps);
  server.add(storage.definition, storage.handlers, storagePolicy);
  server.add(ScopeServiceService, scopeHandlers(deps), scopePolicy);
  server.add(ReprocessServiceService, reprocessHandlers(deps), reprocessPolicy);
  server.add(AuditServiceService, auditHandlers(audit), auditPolicy);
  await listen(server, config.storage, {
    backend,
    tls: trust.tls !== undefined,
  });
  await server.watchReadiness(() => engine.ping(), config.server.readiness_interval);
  return {
    server,
    close: async () => {
      await engine.close();
      await audit.close();
      await trust.close();
    },
  };
});
