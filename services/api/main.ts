/**
 * Composition root of the api gateway: configuration, gRPC clients of
 * storage, rating and the collector, the HTTP application, readiness, and
 * shutdown.
 *
 * The life of the process is the other services' (libs/service/run.ts),
 * for an HTTP server: configuration problems listed at once (exit status 2),
 * `--check-config`, and on SIGTERM or SIGINT two stages: stop taking
 * requests (readiness and /healthcheck answer 503, idle connections close)
 * and let in-flight requests finish for [server] grace_period, then close
 * every connection and give [server] force_period before exiting. A second
 * signal exits at once.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, redactedConfig } from "../../libs/config/config.js";
import { showHostPort } from "../../libs/config/options.js";
import { clientOptionsFrom } from "../../libs/grpc/client.js";
import { createLogger } from "../../libs/logging/logger.js";
import { systemClock } from "../../libs/time/period.js";
import { buildApp } from "./app.js";
import { type ApiConfig, apiConfig } from "./config.js";
import { servicesOver } from "./gateway.js";
import { Readiness } from "./readiness.js";
import { UpstreamConnection } from "./upstream.js";

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
    "usage: ratemesh-api [--config FILE] [--check-config]\n" +
      "  --config FILE    INI configuration (default: $RATEMESH_CONFIG, else defaults only)\n" +
      "  --check-config   validate the configuration and exit\n",
  );
  process.exit(0);
}

const configFile = values.config ?? process.env.RATEMESH_CONFIG;
let config: ApiConfig;
try {
  config = loadConfig(apiConfig, { file: configFile, env: process.env });
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`ratemesh-api: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
if (values["check-config"]) {
  process.stdout.write(`${configFile ?? "(defaults)"}: configuration is valid for api\n`);
  process.exit(0);
}

const logger = createLogger({ service: "api", level: config.log.level });
logger.info({ config_file: configFile, config: redactedConfig(apiConfig, config) }, "starting");

const clientOpts = clientOptionsFrom(config);
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
    clock: systemClock,
    authStrategy: config.api.auth_strategy,
  },
  { logger, readiness },
);

const { host, port } = config.api.listen;
try {
  await app.listen({ host, port });
} catch (err) {
  logger.fatal({ err }, "could not start");
  logger.flush();
  setTimeout(() => process.exit(1), 100);
  await new Promise(() => {});
}
const bound = app.server.address();
const boundPort = bound !== null && typeof bound === "object" ? bound.port : port;
logger.info(
  {
    address: `${host}:${boundPort}`,
    auth_strategy: config.api.auth_strategy,
    storage: storage.address,
    rating: rating.address,
    collector: collector.address,
  },
  "listening",
);
await readiness.watch(config.server.readiness_interval);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
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
  readiness.stop();
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
    // Stage one: no new connections, idle ones closed, requests in flight finish.
    const drained = app.close().then(() => true);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), grace * 1000).unref());
    if (!(await Promise.race([drained, timeout]))) {
      // Stage two: cut what is left.
      logger.warn("requests still in flight at the end of the grace period: closing their connections");
      app.server.closeAllConnections();
      await drained;
    }
    storage.close();
    rating.close();
    collector.close();
    logger.info({ elapsed_ms: Date.now() - t0 }, "stopped");
    logger.flush();
    process.exit(0);
  } catch (err) {
    logger.error({ err }, "error during shutdown");
    logger.flush();
    process.exit(1);
  }
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
