import type { CollectorDeps } from "../collectors/registry.js";
import { passwordAuth } from "../config/keystone.js";
import { parseFilters } from "../config/prometheus.js";
import type { CollectorConfig as Config } from "../config.js";
import { gnocchiClientFromConfig } from "../sources/gnocchi.js";
import { HttpSource } from "../sources/http.js";
import { KeystoneSession } from "../sources/keystone.js";
import { prometheusClientFromConfig } from "../sources/prometheus.js";
import type { Fetcher } from "./fetcher.js";
import { GnocchiFetcher } from "./gnocchi.js";
import { KeystoneFetcher } from "./keystone.js";
import { PrometheusFetcher } from "./prometheus.js";
import { SourceFetcher } from "./source.js";

/** A fetcher's needs are a collector's, without the logger. */
export type FetcherDeps = Omit<CollectorDeps, "logger">;

export function createFetcher(config: Config, deps: FetcherDeps): Fetcher {
  const { clock } = deps;
  const meter = deps.telemetry?.source(config.fetcher.backend, "fetcher");
  switch (config.fetcher.backend) {
    case "source":
      return new SourceFetcher(config.fetcher_source.sources);
    case "gnocchi":
      // Its own client, so its own pool: [fetcher_gnocchi] http_pool_maxsize.
      return new GnocchiFetcher(gnocchiClientFromConfig(config.fetcher_gnocchi, clock, meter), {
        scopeAttribute: config.fetcher_gnocchi.scope_attribute,
        resourceTypes: config.fetcher_gnocchi.resource_types,
      });
    case "keystone": {
      const k = config.fetcher_keystone;
      const http = new HttpSource({
        meter,
        name: "Keystone",
        connections: k.http_pool_maxsize,
        timeoutSeconds: k.timeout,
        retries: k.retries,
        retryBackoffSeconds: k.retry_backoff,
        tls: { cafile: k.cafile, certfile: k.certfile, keyfile: k.keyfile, insecure: k.insecure },
      });
      const session = new KeystoneSession(passwordAuth(k), { serviceType: "identity", interface: "public", regionName: "" }, http, clock);
      return new KeystoneFetcher(http, session, {
        authUrl: k.auth_url ?? "",
        ignoreRatingRole: k.ignore_rating_role,
        ignoreDisabledTenants: k.ignore_disabled_tenants,
      });
    }
    case "prometheus":
      return new PrometheusFetcher(prometheusClientFromConfig(config.fetcher_prometheus, meter), {
        metric: config.fetcher_prometheus.metric,
        scopeAttribute: config.fetcher_prometheus.scope_attribute,
        filters: parseFilters(config.fetcher_prometheus.filters),
      });
    default:
      throw new Error(`[fetcher] backend = ${config.fetcher.backend} is not available yet`);
  }
}
