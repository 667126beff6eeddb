/**
 * Which collector the configuration selects, and the extra_args each one
 * accepts in metrics.yml.
 */

import type { Logger } from "../../../libs/logging/logger.js";
import type { Clock } from "../../../libs/time/period.js";
import type { CollectorConfig as Config } from "../config.js";
import type { ExtraArgsValidator } from "../metrics.js";
import { gnocchiClientFromConfig } from "../sources/gnocchi.js";
import { prometheusClientFromConfig } from "../sources/prometheus.js";
import type { Collector } from "./collector.js";
import { FileCollector } from "./file.js";
import { GnocchiCollector } from "./gnocchi.js";
import { gnocchiExtraArgs } from "./gnocchi-query.js";
import { PrometheusCollector, prometheusExtraArgs } from "./prometheus.js";

/** The file collector takes no extra_args. */
const noExtraArgs: ExtraArgsValidator = (args, report) => {
  for (const k of Object.keys(args)) report(k, "unknown argument (the file collector takes none)");
  return { args: {}, groupbyExtra: [] };
};

export function extraArgsValidator(collector: Config["collect"]["collector"]): ExtraArgsValidator {
  switch (collector) {
    case "file":
      return noExtraArgs;
    case "gnocchi":
      return gnocchiExtraArgs;
    case "prometheus":
      return prometheusExtraArgs;
  }
}

export interface CollectorDeps {
  logger?: Logger | undefined;
  /** Keystone token renewal reads the time from it. */
  clock: Clock;
}

export function createCollector(config: Config, deps: CollectorDeps): Collector {
  const { clock } = deps;
  switch (config.collect.collector) {
    case "file":
      return new FileCollector(config.collector_file.path ?? "", config.collect.scope_key);
    case "gnocchi":
      return new GnocchiCollector(gnocchiClientFromConfig(config.collector_gnocchi, clock), {
        scopeKey: config.collect.scope_key,
        periodSeconds: config.collect.period,
        logger: deps.logger,
      });
    case "prometheus":
      return new PrometheusCollector(prometheusClientFromConfig(config.collector_prometheus), {
        scopeKey: config.collect.scope_key,
        precision: config.collector_prometheus.quantity_precision,
      });
  }
}
