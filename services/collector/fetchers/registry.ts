import type { Clock } from "../../../libs/time/period.js";
import { parseFilters } from "../config/prometheus.js";
import type { CollectorConfig as Config } from "../config.js";
import { gnocchiClientFromConfig } from "../sources/gnocchi.js";
import { prometheusClientFromConfig } from "../sources/prometheus.js";
import type { CollectorTelemetry } from "../telemetry.js";
import type { Fetcher } from "./fetcher.js";
import { GnocchiFetcher } from "./gnocchi.js";
import { PrometheusFetcher } from "./prometheus.js";
import { SourceFetcher } from "./source.js";

export interface FetcherDeps {
  /** Keystone token renewal reads the time from it. */
  clock: Clock;
  /** Where requests to the source are counted; none: not counted. */
  telemetry?: CollectorTelemetry | undefined;
}

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
