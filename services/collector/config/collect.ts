import {
  billingTimeZoneOption,
  billingTimeZoneProblem,
  endpointProblem,
  metricsListen,
  periodOption,
  periodProblem,
  scopeKeyOption,
  serviceAddress,
  waitPeriodsOption,
} from "../../../libs/config/common.js";
import type { CheckContext } from "../../../libs/config/config.js";
import { int, list, oneOf, str, timestamp } from "../../../libs/config/options.js";
import { servedOptions } from "../../../libs/config/trust.js";
import { collectorRefusals } from "./cloudkitty.js";

/** What to collect and how often: CloudKitty's [collect] and [fetcher] sections. */

const collect = {
  collector: oneOf({
    help: "Where usage comes from: gnocchi, prometheus, or file (a JSON-lines usage file, for imports and the demo).",
    choices: ["gnocchi", "prometheus", "file"],
    default: "gnocchi",
    refusals: collectorRefusals,
  }),
  period: periodOption,
  wait_periods: waitPeriodsOption,
  metrics_conf: str({
    help: "Path of the metrics configuration, in CloudKitty's metrics.yml format.",
    default: "/etc/ratemesh/metrics.yml",
  }),
  scope_key: scopeKeyOption,
  start: timestamp({
    help: "Where a scope that was never rated starts (a period boundary). Default: the start of the current month (UTC), as CloudKitty.",
  }),
  batch_periods: int({
    help: "A scope that is behind is collected this many periods per request to the source (then committed period by period), so that a catch-up does not cost a round trip per metric and period.",
    default: 24,
    min: 1,
    max: 10000,
  }),
  batch_scopes: int({
    help: "How many scopes at the same point in time are collected together in one request to the source, where the source allows it (at most [orchestrator] max_workers).",
    default: 8,
    min: 1,
    max: 1000,
  }),
  billing_time_zone: billingTimeZoneOption,
  end: timestamp({
    help: "Rate no period that ends after this instant (a period boundary): for importing a closed window of usage, as the demo does. Default: no end.",
  }),
};

const fetcher = {
  backend: oneOf({
    help: "How the scopes to rate are listed: keystone (the projects on which the rating user has the rating role, CloudKitty's default), source (a static list), gnocchi or prometheus.",
    choices: ["keystone", "source", "gnocchi", "prometheus"],
    default: "keystone",
  }),
};

const fetcher_source = {
  sources: list({ help: "The scope ids to rate, when [fetcher] backend = source.", default: [] }),
};

const collector_file = {
  path: str({
    help: 'JSON-lines usage file read when [collect] collector = file: one record per line, {"metric", "scope_id", "begin", "qty", "groupby", "metadata"}.',
  }),
};

const collector = {
  listen: serviceAddress("collector", "127.0.0.1:9633").listen,
  ...metricsListen("collector", "127.0.0.1:9643"),
  ...servedOptions("collector"),
};

/** How the collector reaches the services it calls. */
const storage = serviceAddress("storage", "127.0.0.1:9631");
const rating = serviceAddress("rating", "127.0.0.1:9632");

export const sections = { collector, collect, fetcher, fetcher_source, collector_file, storage, rating };

export function checks({ config: c, report }: CheckContext<typeof sections>): void {
  // Periods are aligned to the epoch: the collector walks them.
  const period = periodProblem(c.collect.period);
  if (period !== undefined) {
    report("collect", "period", period);
  } else {
    for (const option of ["start", "end"] as const) {
      const t = c.collect[option];
      if (t !== undefined && (t.getTime() / 1000) % c.collect.period !== 0) {
        report("collect", option, `${t.toISOString()} is not a period boundary (period ${c.collect.period} s)`);
      }
    }
  }
  const zone = billingTimeZoneProblem(c.collect.billing_time_zone);
  if (zone !== undefined) report("collect", "billing_time_zone", zone);
  if (c.collect.start !== undefined && c.collect.end !== undefined && c.collect.end <= c.collect.start) {
    report("collect", "end", `must be after [collect] start (${c.collect.start.toISOString()})`);
  }
  if (c.collect.collector === "file" && (c.collector_file.path ?? "") === "") {
    report("collector_file", "path", "a value is required when [collect] collector = file");
  }
  if (c.fetcher.backend === "source" && c.fetcher_source.sources.length === 0) {
    report("fetcher_source", "sources", "a value is required when [fetcher] backend = source (the scope ids to rate)");
  }
  for (const service of ["storage", "rating"] as const) {
    const bad = endpointProblem(c[service].endpoint);
    if (bad !== undefined) report(service, "endpoint", bad);
  }
}
