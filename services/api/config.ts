/**
 * The configuration the api gateway reads: where it listens, how callers
 * authenticate, the addresses of the services it calls, and the period
 * length it needs to show scope states the way CloudKitty does.
 */
import { commonSections, endpointProblem, metricsListen, periodOption, periodProblem, serviceAddress } from "../../libs/config/common.js";
import { type ConfigOf, defineServiceConfig, type LoadOptions, loadConfig } from "../../libs/config/config.js";
import { oneOf, tolerated } from "../../libs/config/options.js";
import { CONFIG_CATALOG } from "../../libs/gen/config-catalog.js";

const api = {
  listen: serviceAddress("api", "127.0.0.1:8889").listen,
  ...metricsListen("api", "127.0.0.1:9644"),
  auth_strategy: oneOf({
    help:
      "How callers authenticate, as CloudKitty's [DEFAULT] auth_strategy: noauth (no token needed), or keystone (a request " +
      "without X-Auth-Token is refused with 401, and the token is passed on to the services as x-auth-token metadata). " +
      "Default: [DEFAULT] auth_strategy when a cloudkitty.conf sets it, else noauth.",
    choices: ["noauth", "keystone"],
  }),
  port: tolerated({ help: "CloudKitty's API port; the gateway's address is [api] listen (host:port, default 127.0.0.1:8889)" }),
  pecan_debug: tolerated({ help: "CloudKitty's Pecan debug middleware; the gateway has none" }),
};

/**
 * What a cloudkitty.conf sets for CloudKitty's API that the gateway honours
 * ([DEFAULT] auth_strategy) or has no use for (keystonemiddleware, CORS,
 * policies: the trust-boundary work will read them).
 */
const DEFAULT = {
  auth_strategy: oneOf({ help: "CloudKitty's name of [api] auth_strategy, read when that is not set.", choices: ["noauth", "keystone"] }),
  api_paste_config: tolerated({ help: "CloudKitty's WSGI pipeline file; the gateway is its own HTTP server" }),
};
const notYetRead = (what: string) => ({ "*": tolerated({ help: `${what}; the gateway does not read it (yet)` }) });
const cloudkittyApi = {
  keystone_authtoken: notYetRead("keystonemiddleware's token validation"),
  cors: notYetRead("CORS for CloudKitty's API"),
  oslo_middleware: notYetRead("oslo.middleware's proxy headers"),
  oslo_policy: notYetRead("CloudKitty's API policies"),
};

/** The effective auth strategy: [api] auth_strategy, else CloudKitty's [DEFAULT] auth_strategy, else noauth. */
export function authStrategy(c: Pick<ApiConfig, "api" | "DEFAULT">): "noauth" | "keystone" {
  return c.api.auth_strategy ?? c.DEFAULT.auth_strategy ?? "noauth";
}

/** The services the gateway calls (the collector only for /v1/info). */
const storage = serviceAddress("storage", "127.0.0.1:9631");
const rating = serviceAddress("rating", "127.0.0.1:9632");
const collector = serviceAddress("collector", "127.0.0.1:9633");

export const apiConfig = defineServiceConfig(
  "api",
  { ...commonSections, api, storage, rating, collector, collect: { period: periodOption }, DEFAULT, ...cloudkittyApi },
  [
    ({ config: c, report }) => {
      for (const service of ["storage", "rating", "collector"] as const) {
        const bad = endpointProblem(c[service].endpoint);
        if (bad !== undefined) report(service, "endpoint", bad);
      }
      const period = periodProblem(c.collect.period);
      if (period !== undefined) report("collect", "period", period);
      const [ours, theirs] = [c.api.auth_strategy, c.DEFAULT.auth_strategy];
      if (ours !== undefined && theirs !== undefined && ours !== theirs) {
        report("api", "auth_strategy", `${ours} differs from [DEFAULT] auth_strategy = ${theirs}: set one of them`);
      }
    },
  ],
);

export type ApiConfig = ConfigOf<typeof apiConfig.sections>;

/** The configuration from a file and the environment (for tools and tests; the service itself goes through runService). */
export function loadApiConfig(opts: Omit<LoadOptions, "catalog"> = {}): ApiConfig {
  return loadConfig(apiConfig, { ...opts, catalog: CONFIG_CATALOG });
}
