/**
 * The life of a service process, the same for the three of them: read and
 * validate the configuration (every problem at once, exit code 2), start,
 * then on SIGTERM or SIGINT shut down in two stages: stop taking work and
 * let in-flight work finish for [server] grace_period, then cancel what is
 * left and give it [server] force_period to wind down before exiting.
 * A second signal skips to the end.
 *
 * It also gives the service its metrics registry (with the process and
 * runtime metrics) and the endpoint that serves it, and starts tracing
 * when [tracing] endpoint is set (spans still buffered are sent at exit).
 */
import { parseArgs } from "node:util";
import type { baseSections } from "../config/common.js";
import { ConfigError, type ConfigOf, readConfig, redactedConfig, type Sections, type ServiceConfig } from "../config/config.js";
import type { HostPort } from "../config/options.js";
import type { BaseTrustSections } from "../config/trust.js";
import { CONFIG_CATALOG } from "../gen/config-catalog.js";
import { createLogger, type Logger } from "../logging/logger.js";
import { type MetricsEndpoint, serveMetrics } from "../metrics/endpoint.js";
import { createRegistry, type Registry } from "../metrics/metrics.js";
import { startTracing } from "../tracing/tracing.js";

/** What a service serves: gRPC (libs/grpc/server.ts) or HTTP. */
export interface ServedTraffic {
  /** Health or readiness as others see it; false once shutdown starts. */
  setServing(serving: boolean): void;
  /** Stops taking calls, lets those in flight finish for graceSeconds, then cuts what is left. */
  shutdown(graceSeconds: number): Promise<{ forced: boolean }>;
}

export interface Running {
  server: ServedTraffic;
  /** Stage one: stop taking new work, finish or abandon current work safely. */
  drain?: (graceSeconds: number) => Promise<void>;
  /** After the server stopped: release resources (database, leases). */
  close?: () => Promise<void>;
}

export interface StartContext<C> {
  config: C;
  logger: Logger;
  configFile: string | undefined;
  /** The process's metrics: what the service counts goes here. */
  metrics: Registry;
  /** Serves the registry at `listen` (undefined: not at all) until the process exits; resolves with the bound address. */
  serveMetrics(listen: HostPort | undefined): Promise<string | undefined>;
  /**
   * Opens the service: `server` listens at `at.listen`, the metrics are
   * served at `at.metrics_listen`, and one "listening" line says both
   * addresses, the auth strategy and `details`. Resolves with the bound port.
   */
  listen(server: Listener, at: ServiceAddresses, details: Record<string, unknown>): Promise<number>;
}

/** A server that binds an address (libs/grpc/server.ts's GrpcServer). */
export interface Listener {
  listen(host: string, port: number): Promise<number>;
}

/** Where a service listens, as its section declares it. */
export interface ServiceAddresses {
  listen: HostPort;
  metrics_listen: HostPort | undefined;
}

/**
 * A service's configuration, and optionally a check of the files it points
 * to (a collector's metrics.yml), which throws a ConfigError: run with the
 * configuration's own checks, before the service starts and by
 * --check-config, so that the check says what the start would.
 */
export type CheckedServiceConfig<S extends Sections> = ServiceConfig<S> & { checkFiles?: (config: ConfigOf<S>) => void };

export async function runService<S extends Sections & typeof baseSections & BaseTrustSections>(
  spec: CheckedServiceConfig<S>,
  start: (ctx: StartContext<ConfigOf<S>>) => Promise<Running>,
): Promise<void> {
  const service = spec.service;
  const { values } = parseArgs({
    options: {
      config: { type: "string", short: "c" },
      "check-config": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      `usage: ratemesh-${service} [--config FILE] [--check-config]\n` +
        "  --config FILE    INI configuration (default: $RATEMESH_CONFIG, else defaults only)\n" +
        "  --check-config   validate the configuration and exit\n",
    );
    return;
  }
  const configFile = values.config ?? process.env.RATEMESH_CONFIG;
  let config: ConfigOf<S>;
  let warnings: string[];
  try {
    ({ config, warnings } = readConfig(spec, { file: configFile, env: process.env, catalog: CONFIG_CATALOG }));
    spec.checkFiles?.(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ratemesh-${service}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (values["check-config"]) {
    process.stdout.write(`${configFile ?? "(defaults)"}: configuration is valid for ${service}\n`);
    for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
    return;
  }

  const logger = createLogger({ service, level: config.log.level });
  logger.info({ config_file: configFile, config: redactedConfig(spec, config) }, "starting");
  // What the file sets and ratemesh does not use: said once, never silently dropped.
  for (const w of warnings) logger.warn({ config_file: configFile }, w);
  const tracing = startTracing({
    endpoint: config.tracing.endpoint,
    serviceName: config.tracing.service_name || `ratemesh-${service}`,
    sampleRatio: config.tracing.sample_ratio,
  });
  const metrics = createRegistry();
  let endpoint: MetricsEndpoint | undefined;
  const serve = async (listen: HostPort | undefined) => {
    if (listen === undefined) return undefined;
    endpoint = await serveMetrics(metrics, listen, logger);
    return endpoint.address;
  };
  const listen = async (server: Listener, at: ServiceAddresses, details: Record<string, unknown>) => {
    const port = await server.listen(at.listen.host, at.listen.port);
    const metricsAddress = await serve(at.metrics_listen);
    const where = { address: `${at.listen.host}:${port}`, metrics_address: metricsAddress };
    logger.info({ ...where, ...details, auth_strategy: config.auth.auth_strategy }, "listening");
    return port;
  };
  let running: Running;
  try {
    running = await start({ config, logger, configFile, metrics, serveMetrics: serve, listen });
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal({ problems: err.problems }, "invalid configuration");
      logger.flush();
      process.stderr.write(`ratemesh-${service}: ${err.message}\n`);
      process.exitCode = 2;
      setTimeout(() => process.exit(2), 100).unref();
      return;
    }
    logger.fatal({ err }, "could not start");
    logger.flush();
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
    return;
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      logger.flush();
      process.exit(1);
    }
    stopping = true;
    const grace = config.server.grace_period;
    const force = config.server.force_period;
    const t0 = Date.now();
    logger.info({ signal, grace_period_s: grace }, "shutting down");
    running.server.setServing(false);
    const hardStop = setTimeout(
      () => {
        logger.error({ elapsed_ms: Date.now() - t0 }, "shutdown took longer than grace + force period: exiting");
        logger.flush();
        process.exit(1);
      },
      (grace + force) * 1000 + 500,
    );
    hardStop.unref();
    try {
      const drainStart = Date.now();
      await running.drain?.(grace);
      const left = Math.max(0, grace - (Date.now() - drainStart) / 1000);
      const { forced } = await running.server.shutdown(left);
      if (forced) logger.warn("in-flight calls were cancelled at the end of the grace period");
      await running.close?.();
      await endpoint?.close();
      await tracing.shutdown().catch((err: unknown) => logger.warn({ err }, "could not send the last spans"));
      logger.info({ elapsed_ms: Date.now() - t0 }, "stopped");
      logger.flush();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "error during shutdown");
      logger.flush();
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}
