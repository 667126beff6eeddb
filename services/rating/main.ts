/**
 * Composition root of the rating service: configuration, its own database,
 * the in-memory price-list state and its freshness watch, the module
 * pipeline, the client of storage (simulations read stored points), gRPC
 * server, readiness and shutdown.
 */
import { auditHandlers } from "../../libs/audit/api.js";
import { AuditTrail } from "../../libs/audit/trail.js";
import { showHostPort } from "../../libs/config/options.js";
import { AuditServiceService } from "../../libs/gen/ratemesh/v1/audit.js";
import { PriceListServiceService } from "../../libs/gen/ratemesh/v1/pricelist.js";
import { HashmapServiceService, RulesServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { SimulationServiceService } from "../../libs/gen/ratemesh/v1/simulation.js";
import { StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import { Connection, clientOptionsFrom } from "../../libs/grpc/client.js";
import { clientCertificatesFrom, serverTrustFrom } from "../../libs/grpc/from-config.js";
import { GrpcServer } from "../../libs/grpc/server.js";
import { runService } from "../../libs/service/run.js";
import { systemClock } from "../../libs/time/period.js";
import { inputLimitsFrom } from "../../libs/validation/limits.js";
import { RatingServiceDefinition, ratingHandlers } from "./api.js";
import { identityService, ratingConfig } from "./config.js";
import { hashmapHandlers } from "./modules/hashmap/api.js";
import { HashmapManager } from "./modules/hashmap/manage.js";
import { HashmapModule } from "./modules/hashmap/module.js";
import { noopModule } from "./modules/noop.js";
import { rulesHandlers } from "./modules/rules/api.js";
import { RulesManager } from "./modules/rules/manage.js";
import { RulesModule } from "./modules/rules/module.js";
import { Pipeline } from "./pipeline.js";
import { auditPolicy, hashmapPolicy, priceListPolicy, ratingPolicy, rulesPolicy, simulationPolicy } from "./policy.js";
import { simulationHandlers } from "./simulation/api.js";
import { PipelinePriceLists } from "./simulation/price-list-source.js";
import { storageFrames } from "./simulation/stored-frames.js";
import { RatingState } from "./state.js";
import { PostgresRatingDatabase } from "./store/postgres.js";
import type { SqlDatabase } from "./store/sql.js";
import { SqliteRatingDatabase } from "./store/sqlite.js";
import { RatingTelemetry } from "./telemetry.js";
import { priceListHandlers } from "./versions/api.js";
import { VersionManager } from "./versions/manage.js";
import { PriceListPricers } from "./versions/pricer.js";

/** Called for every batch of periods rated: their successful calls are logged at debug. */
const HOT_METHODS = ["RatingService/Rate"];

await runService(ratingConfig, async ({ config, logger, metrics, listen }) => {
  const { rating } = config;
  const db: SqlDatabase =
    rating.backend === "postgresql" ? await PostgresRatingDatabase.open(rating.url) : new SqliteRatingDatabase(rating.url);
  const state = await RatingState.open(db, logger);
  state.watch(rating.refresh_interval);
  const clock = systemClock;
  const telemetry = new RatingTelemetry(metrics, () => state.current.version);
  // The change is committed by then: if this replica cannot reload right away, the next poll will.
  const caughtUp = (version: number) =>
    state.caughtUp(version).catch((err: unknown) => logger.warn({ err, version }, "could not reload the price lists after a change"));
  const pipeline = new Pipeline(
    [
      // CloudKitty's defaults: noop on, the others off until enabled (README: "The pipeline and its modules").
      { module: noopModule, defaults: { enabled: true, priority: 1 } },
      { module: new HashmapModule(() => state.current.hashmap), defaults: { enabled: false, priority: 1 } },
      {
        module: new RulesModule(() => state.current.rules, { frameTimeout: rating.rules_frame_timeout }),
        defaults: { enabled: false, priority: 1 },
      },
    ],
    state,
    db,
    caughtUp,
    telemetry,
  );
  const trust = await serverTrustFrom(config, identityService, rating, logger);
  const audit = await AuditTrail.open({ backend: rating.backend, url: rating.url, table: "rating_audit" });
  const server = new GrpcServer({ logger, metrics, hotMethods: HOT_METHODS, ...trust, audit });
  server.add(RatingServiceDefinition, ratingHandlers({ pipeline, clock, telemetry, limits: inputLimitsFrom(config.limits) }), ratingPolicy);
  server.add(HashmapServiceService, hashmapHandlers(new HashmapManager(db, clock, caughtUp)), hashmapPolicy);
  server.add(RulesServiceService, rulesHandlers(new RulesManager(db, clock, caughtUp)), rulesPolicy);
  server.add(
    PriceListServiceService,
    priceListHandlers(new VersionManager(db, clock, caughtUp), () => clock.now()),
    priceListPolicy,
  );
  // Simulations read stored points from storage as their caller (its token passed on), over TLS with this service's certificate.
  const storageConn = new Connection(
    config.storage.endpoint ?? showHostPort(config.storage.listen),
    clientOptionsFrom(config, clientCertificatesFrom(config, rating, logger)),
  );
  server.add(
    SimulationServiceService,
    simulationHandlers({
      // In force: the live pipeline; drafts and published versions: their own pipelines (versions/pricer.ts).
      priceLists: new PipelinePriceLists(pipeline, new PriceListPricers(db, state, { frameTimeout: rating.rules_frame_timeout })),
      stored: storageFrames(storageConn.client(StorageServiceService)),
      limits: { maxDays: rating.simulation_max_days, maxGroups: rating.simulation_max_groups },
      billingTimeZone: config.collect.billing_time_zone,
    }),
    simulationPolicy,
  );
  server.add(AuditServiceService, auditHandlers(audit), auditPolicy);
  await listen(server, rating, {
    backend: rating.backend,
    version: state.current.version,
    tls: trust.tls !== undefined,
  });
  await server.watchReadiness(() => db.ping(), config.server.readiness_interval);
  return {
    server,
    close: async () => {
      state.stop();
      storageConn.close();
      await db.close();
      await audit.close();
      await trust.close();
    },
  };
});
