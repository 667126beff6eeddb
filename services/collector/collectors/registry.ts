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
import type { CollectorTelemetry, SourceMeter } from "../telemetry.js";
import type { BatchQuery, Collector } from "./collector.js";
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
  /** Where requests to the source are counted; none: not counted. */
  telemetry?: CollectorTelemetry | undefined;
}

export function createCollector(config: Config, deps: CollectorDeps): Collector {
  const { clock } = deps;
  const meter = deps.telemetry?.source(config.collect.collector, "collector");
  switch (config.collect.collector) {
    case "file":
      return metered(new FileCollector(config.collector_file.path ?? "", config.collect.scope_key), meter);
    case "gnocchi":
      return new GnocchiCollector(gnocchiClientFromConfig(config.collector_gnocchi, clock, meter), {
        scopeKey: config.collect.scope_key,
        periodSeconds: config.collect.period,
        logger: deps.logger,
      });
    case "prometheus":
      return new PrometheusCollector(prometheusClientFromConfig(config.collector_prometheus, meter), {
        scopeKey: config.collect.scope_key,
        precision: config.collector_prometheus.quantity_precision,
      });
  }
}

/** A collector whose every collection is counted as one request to its source (ok or error): for the usage file, which has no HTTP. */
function metered(c: Collector, meter: SourceMeter | undefined): Collector {
  if (meter === undefined) return c;
  const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      const out = await fn();
      meter.request("ok", (performance.now() - t0) / 1000);
      return out;
    } catch (err) {
      meter.request("error", (performance.now() - t0) / 1000);
      throw err;
    }
  };
  const batch = c.collectBatch?.bind(c);
  return {
    name: c.name,
    describe: (q) => c.describe(q),
    close: () => c.close(),
    collect: (q) => timed(() => c.collect(q)),
    ...(batch === undefined ? {} : { collectBatch: (q: BatchQuery) => timed(() => batch(q)) }),
  };
}
