/**
 * The configuration the api gateway reads: where it listens, how callers
 * authenticate, the addresses of the services it calls, and the period
 * length it needs to show scope states the way CloudKitty does.
 */
import {
  commonSections,
  endpointProblem,
  metricsListen,
  periodOption,
  periodProblem,
  scopeKeyOption,
  serviceAddress,
} from "../../libs/config/common.js";
import { type ConfigOf, defineServiceConfig, type LoadOptions, loadConfig } from "../../libs/config/config.js";
import { oneOf } from "../../libs/config/options.js";
import { checkServed, checkTrust, servedOptions } from "../../libs/config/trust.js";
import { CONFIG_CATALOG } from "../../libs/gen/config-catalog.js";

const { tls_cert_file, tls_key_file } = servedOptions("api");

const api = {
  listen: serviceAddress("api", "127.0.0.1:8889").listen,
  ...metricsListen("api", "127.0.0.1:9644"),
  auth_strategy: oneOf({
    help:
      "How callers of the REST API authenticate. Unset: [auth] auth_strategy, as the services. noauth: no token needed; keystone " +
      "or jwt: a request without X-Auth-Token (or Authorization: Bearer) is refused with 401, and the token is passed on to the " +
      "services as x-auth-token metadata: they authenticate it and apply their policy.",
    choices: ["noauth", "keystone", "jwt"],
  }),
  // HTTPS with this certificate, also presented to the services (never list it in [auth] service_identities).
  tls_cert_file,
  tls_key_file,
};

/** The services the gateway calls (the collector only for /v1/info). */
const storage = serviceAddress("storage", "127.0.0.1:9631");
const rating = serviceAddress("rating", "127.0.0.1:9632");
const collector = serviceAddress("collector", "127.0.0.1:9633");

export const apiConfig = defineServiceConfig(
  "api",
  { ...commonSections, api, storage, rating, collector, collect: { period: periodOption, scope_key: scopeKeyOption } },
  [
    ({ config: c, report }) => {
      for (const service of ["storage", "rating", "collector"] as const) {
        const bad = endpointProblem(c[service].endpoint);
        if (bad !== undefined) report(service, "endpoint", bad);
      }
      const period = periodProblem(c.collect.period);
      if (period !== undefined) report("collect", "period", period);
      checkTrust(c, report);
      checkServed("api", c.api, c.server.allow_insecure_bind, report);
    },
  ],
);

export type ApiConfig = ConfigOf<typeof apiConfig.sections>;

/** The configuration from a file and the environment (for tools and tests; the service itself goes through runService). */
export function loadApiConfig(opts: Omit<LoadOptions, "catalog"> = {}): ApiConfig {
  return loadConfig(apiConfig, { ...opts, catalog: CONFIG_CATALOG });
}
