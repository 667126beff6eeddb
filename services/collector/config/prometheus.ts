import type { CheckContext, Reporter } from "../../../libs/config/config.js";
import { bool, duration, int, list, str } from "../../../libs/config/options.js";
import type { sections as collectSections } from "./collect.js";
import { retryOptions } from "./retries.js";

/**
 * The Prometheus collector and fetcher: CloudKitty's [collector_prometheus]
 * and [fetcher_prometheus], with the same option names. `prometheus_url` is
 * the API base, as in CloudKitty (http://prometheus:9090/api/v1); a URL
 * without a path gets /api/v1.
 */

function connection() {
  return {
    prometheus_url: str({ help: "Prometheus HTTP API base URL, e.g. http://prometheus:9090/api/v1.", default: "" }),
    prometheus_user: str({ help: "Basic auth user (sent only when prometheus_password is set too)." }),
    prometheus_password: str({ help: "Basic auth password.", secret: true }),
    cafile: str({ help: "PEM file of the CA certificates that sign the server's certificate (https)." }),
    insecure: bool({ help: "https: do not verify the server's certificate.", default: false }),
    timeout: duration({ help: "Timeout of each HTTP request (one attempt).", default: 60, min: 0.1 }),
    http_pool_maxsize: int({ help: "Most HTTP connections open at once to Prometheus.", default: 10, min: 1, max: 1000 }),
    ...retryOptions("query"),
  };
}

const collector_prometheus = {
  ...connection(),
  quantity_precision: int({
    help: "Significant digits of the quantity arithmetic (value, then x factor, then + offset), rounded half up. 9 is CloudKitty's (1073741824 bytes x 1/1073741824 gives 0.999999996); 0 computes exactly.",
    default: 9,
    min: 0,
    max: 1000,
  }),
};

const fetcher_prometheus = {
  metric: str({ help: "The metric whose series carry the scope label; scopes are its distinct values of scope_attribute.", default: "" }),
  scope_attribute: str({ help: "The label that identifies a scope.", default: "project_id" }),
  filters: list({ help: "Label matchers on the metric, as label:value pairs (e.g. job:openstack, region:one).", default: [] }),
  ...connection(),
};

/** The options of [collect] and [fetcher] that choose whether these sections are used. */
type Selectors = Pick<typeof collectSections, "collect" | "fetcher">;

export const sections = { collector_prometheus, fetcher_prometheus };

/** "label:value" items as a map; problems are reported against the option. */
export function parseFilters(items: string[], report?: (message: string) => void): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf(":");
    const label = item.slice(0, i).trim();
    if (i <= 0 || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) {
      report?.(`${JSON.stringify(item)} is not label:value with a Prometheus label name`);
      continue;
    }
    out[label] = item.slice(i + 1).trim();
  }
  return out;
}

function checkConnection(section: "collector_prometheus" | "fetcher_prometheus", url: string, report: Reporter<typeof sections>): void {
  if (url === "") report(section, "prometheus_url", "a value is required");
  else if (!/^https?:\/\/[^/\s]+/.test(url)) report(section, "prometheus_url", `${JSON.stringify(url)} is not an http:// or https:// URL`);
}

export function checks({ config: c, report }: CheckContext<typeof sections & Selectors>): void {
  if (c.collect.collector === "prometheus") checkConnection("collector_prometheus", c.collector_prometheus.prometheus_url, report);
  if (c.fetcher.backend === "prometheus") {
    const f = c.fetcher_prometheus;
    checkConnection("fetcher_prometheus", f.prometheus_url, report);
    if (f.metric === "") report("fetcher_prometheus", "metric", "a value is required when [fetcher] backend = prometheus");
    else if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(f.metric))
      report("fetcher_prometheus", "metric", `${JSON.stringify(f.metric)} is not a metric name`);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(f.scope_attribute)) {
      report("fetcher_prometheus", "scope_attribute", `${JSON.stringify(f.scope_attribute)} is not a label name`);
    }
    parseFilters(f.filters, (m) => report("fetcher_prometheus", "filters", m));
  }
}
