/**
 * Composition root of the api gateway: configuration, gRPC clients of
 * storage, rating and the collector, the HTTP application and readiness.
 * Its life is the other services' (libs/service/run.ts): on SIGTERM or
 * SIGINT readiness and /healthcheck answer 503, idle connections close and
 * requests in flight finish for [server] grace_period; then every
 * connection is closed.
 */
import type { Server as TlsServer } from "node:tls";
import { showHostPort } from "../../libs/config/options.js";
import { clientOptionsFrom } from "../../libs/grpc/client.js";
import { clientCertificatesFrom } from "../../libs/grpc/from-config.js";
import { CertificateFiles } from "../../libs/grpc/tls.js";
import { runService } from "../../libs/service/run.js";
import { systemClock } from "../../libs/time/period.js";
import { buildApp } from "./app.js";
import { apiAuthStrategy, apiConfig } from "./config.js";
import { servicesOver } from "./gateway.js";
import { Readiness } from "./readiness.js";
import { UpstreamConnection } from "./upstream.js";

await runService(apiConfig, async ({ config, logger, serveMetrics }) => {
  // The gateway's certificate: HTTPS, and presented on its calls (it acts for its callers: their tokens decide).
  const certificates = clientCertificatesFrom(config, config.api, logger);
  const clientOpts = clientOptionsFrom(config, certificates);
  const authStrategy = apiAuthStrategy(config);
  const served =
    config.api.tls_cert_file === undefined
      ? undefined
      : (certificates ??
        new CertificateFiles(
          { cert: config.api.tls_cert_file, key: config.api.tls_key_file },
          { reloadIntervalSeconds: config.tls.reload_interval },
        ));
  const identity = served?.identity ?? null;
  const addressOf = (s: { listen: { host: string; port: number }; endpoint: string | undefined }) => s.endpoint ?? showHostPort(s.listen);
  const storage = new UpstreamConnection(addressOf(config.storage), clientOpts);
  const rating = new UpstreamConnection(addressOf(config.rating), clientOpts);
  const collector = new UpstreamConnection(addressOf(config.collector), clientOpts);
  const readiness = new Readiness(
    [
      { name: "storage", required: true, serving: (d) => storage.serving(d) },
      { name: "rating", required: true, serving: (d) => rating.serving(d) },
      { name: "collector", required: false, serving: (d) => collector.serving(d) },
    ],
    logger,
  );
  const app = buildApp(
    {
      services: servicesOver(storage, rating, collector),
      periodSeconds: config.collect.period,
      scopeKey: config.collect.scope_key,
      clock: systemClock,
      authStrategy,
      ...(authStrategy === "keystone"
        ? { wwwAuthenticate: `Keystone uri="${config.keystone_authtoken.www_authenticate_uri || config.keystone_authtoken.auth_url}"` }
        : {}),
    },
    { logger, readiness, ...(identity === null ? {} : { https: { key: identity.privateKey, cert: identity.certificate } }) },
  );
  // A reloaded certificate is served to new connections.
  served?.addIdentityCertificateListener((id) => {
    if (id !== null) (app.server as unknown as TlsServer).setSecureContext({ key: id.privateKey, cert: id.certificate });
  });

  const { host, port } = config.api.listen;
  await app.listen({ host, port });
  const bound = app.server.address();
  const boundPort = bound !== null && typeof bound === "object" ? bound.port : port;
  const metricsAddress = await serveMetrics(config.api.metrics_listen);
  logger.info(
    {
      address: `${host}:${boundPort}`,
      metrics_address: metricsAddress,
      auth_strategy: authStrategy,
      https: served !== undefined,
      storage: storage.address,
      rating: rating.address,
      collector: collector.address,
    },
    "listening",
  );
  await readiness.watch(config.server.readiness_interval);

  const server = {
    setServing(serving: boolean): void {
      if (!serving) readiness.stop();
    },
    async shutdown(graceSeconds: number): Promise<{ forced: boolean }> {
      readiness.stop();
      // No new connections, idle ones closed, requests in flight finish; then cut what is left.
      const drained = app.close().then(() => true);
      const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceSeconds * 1000).unref());
      const clean = await Promise.race([drained, timeout]);
      if (!clean) {
        app.server.closeAllConnections();
        await drained;
      }
      return { forced: !clean };
    },
  };
  return {
    server,
    close: async () => {
      storage.close();
      rating.close();
      collector.close();
      served?.close();
      certificates?.close();
    },
  };
});
