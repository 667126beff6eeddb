/**
 * The Prometheus fetcher, as CloudKitty's: the distinct values of the scope
 * label over a metric's series, from one instant query
 * `max(<metric>{k1="v1", ...}) by (<scope_attribute>)` (the matchers only
 * when filters are set). Series without the label are skipped.
 */
import type { PrometheusClient } from "../sources/prometheus.js";
import type { Fetcher } from "./fetcher.js";

export interface PrometheusFetcherOptions {
  metric: string;
  scopeAttribute: string;
  filters: Record<string, string>;
}

export function scopesQuery(o: PrometheusFetcherOptions): string {
  const matchers = Object.entries(o.filters).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  return `max(${o.metric}${matchers.length > 0 ? `{${matchers.join(", ")}}` : ""}) by (${o.scopeAttribute})`;
}

export class PrometheusFetcher implements Fetcher {
  readonly name = "prometheus";

  constructor(
    readonly client: PrometheusClient,
    private readonly opts: PrometheusFetcherOptions,
  ) {}

  async listScopes(signal?: AbortSignal): Promise<string[]> {
    const series = await this.client.instant(scopesQuery(this.opts), undefined, signal);
    const found = new Set<string>();
    for (const s of series) {
      const v = s.metric[this.opts.scopeAttribute];
      if (v !== undefined && v !== "") found.add(v);
    }
    return [...found].sort();
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
