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
import { oneOf, sectionRef, tolerated } from "../../libs/config/options.js";
import { checkServed, checkTrust, identityTokenOptions, servedOptions, trustValues } from "../../libs/config/trust.js";
import { CONFIG_CATALOG } from "../../libs/gen/config-catalog.js";

const { tls_cert_file, tls_key_file } = servedOptions("api");

const api = {
  listen: serviceAddress("api", "127.0.0.1:8889").listen,
  ...metricsListen("api", "127.0.0.1:9644"),
  auth_strategy: oneOf({
    help:
      "How callers of the REST API authenticate. Unset: CloudKitty's [DEFAULT] auth_strategy when a cloudkitty.conf sets it, else " +
      "[auth] auth_strategy, as the services. noauth: no token needed; keystone or jwt: a request without X-Auth-Token (or " +
      "Authorization: Bearer) is refused with 401, and the token is passed on to the services as x-auth-token metadata: they " +
      "authenticate it and apply their policy.",
    choices: ["noauth", "keystone", "jwt"],
  }),
  // HTTPS with this certificate, also presented to the services (never list it in [auth] service_identities).
  tls_cert_file,
  tls_key_file,
  port: tolerated({ help: "CloudKitty's API port; the gateway's address is [api] listen (host:port, default 127.0.0.1:8889)" }),
  pecan_debug: tolerated({ help: "CloudKitty's Pecan debug middleware; the gateway has none" }),
};

/**
 * What a cloudkitty.conf sets for CloudKitty's API that the gateway honours
 * ([DEFAULT] auth_strategy; [keystone_authtoken] with its auth_section) or
 * has no use for (the rest of keystonemiddleware's options, CORS, oslo
 * policies).
 */
const DEFAULT = {
  auth_strategy: oneOf({ help: "CloudKitty's name of [api] auth_strategy, read when that is not set.", choices: ["noauth", "keystone"] }),
  api_paste_config: tolerated({ help: "CloudKitty's WSGI pipeline file; the gateway is its own HTTP server" }),
};
const notRead = (what: string) => ({ "*": tolerated({ help: `${what}; ratemesh does not read it` }) });

/** Callers' tokens come from Keystone, validated per [keystone_authtoken] as OpenStack's auth token middleware does. */
export const identityService = { strategy: "keystone", section: "keystone_authtoken", name: "Keystone" } as const;

const cloudkittyApi = {
  keystone_authtoken: {
    ...identityTokenOptions(identityService),
    auth_section: sectionRef({
      help: "The section the service user's options are read from (CloudKitty's guide names its [ks_auth]), instead of this one.",
      takes: ["auth_type", "auth_url", "username", "password", "project_name", "user_domain_name", "project_domain_name"],
    }),
    ...notRead("keystonemiddleware's other options"),
  },
  cors: notRead("CORS for CloudKitty's API"),
  oslo_middleware: notRead("oslo.middleware's proxy headers"),
  oslo_policy: notRead("CloudKitty's API policies (ratemesh's are [auth] policy_file)"),
};

/** The gateway's auth strategy: [api] auth_strategy, else CloudKitty's [DEFAULT] auth_strategy, else [auth] auth_strategy. */
export function apiAuthStrategy(c: Pick<ApiConfig, "api" | "DEFAULT" | "auth">): "noauth" | "keystone" | "jwt" {
  return c.api.auth_strategy ?? c.DEFAULT.auth_strategy ?? c.auth.auth_strategy;
}

/** The services the gateway calls (the collector only for /v1/info). */
const storage = serviceAddress("storage", "127.0.0.1:9631");
const rating = serviceAddress("rating", "127.0.0.1:9632");
const collector = serviceAddress("collector", "127.0.0.1:9633");

export const apiConfig = defineServiceConfig(
  "api",
  {
    ...commonSections(identityService),
    api,
    storage,
    rating,
    collector,
    collect: { period: periodOption, scope_key: scopeKeyOption },
    DEFAULT,
    ...cloudkittyApi,
  },
  [
    ({ config: c, report }) => {
      for (const service of ["storage", "rating", "collector"] as const) {
        const bad = endpointProblem(c[service].endpoint);
        if (bad !== undefined) report(service, "endpoint", bad);
      }
      const period = periodProblem(c.collect.period);
      if (period !== undefined) report("collect", "period", period);
      checkTrust(trustValues(c, identityService), report);
      checkServed("api", c.api, c.server.allow_insecure_bind, report);
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
