/**
 * A Prometheus HTTP API client: instant queries (CloudKitty's collector and
 * fetcher) and range queries (batch collection), with basic auth when both
 * user and password are set (as CloudKitty), over an HttpSource. Sample
 * values stay strings, as Prometheus sends them.
 */
import type { CollectorConfig as Config } from "../config.js";
import type { SourceMeter } from "../telemetry.js";
import { describeRequest, excerpt, HttpSource, SourceHttpError } from "./http.js";

export interface PromSeries {
  metric: Record<string, string>;
  /** [unix seconds, value text] */
  value?: [number, string];
  values?: Array<[number, string]>;
}

export interface PrometheusClientOptions {
  /** The API base: http://prometheus:9090/api/v1 (a URL without a path gets /api/v1). */
  url: string;
  user?: string | undefined;
  password?: string | undefined;
}

/** CloudKitty's timestamp form (Python's isoformat of an aware UTC datetime). */
function isoformat(d: Date): string {
  const s = d.toISOString();
  return `${s.endsWith(".000Z") ? s.slice(0, -5) : s.slice(0, -1)}+00:00`;
}

export class PrometheusClient {
  readonly base: string;
  /** Queries sent (attempts not counted). */
  requests = 0;
  private readonly authorization: string | undefined;

  constructor(
    readonly http: HttpSource,
    opts: PrometheusClientOptions,
  ) {
    const u = new URL(opts.url);
    if (u.pathname === "" || u.pathname === "/") u.pathname = "/api/v1";
    this.base = u.toString().replace(/\/+$/, "");
    this.authorization =
      opts.user && opts.password ? `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString("base64")}` : undefined;
  }

  instantUrl(query: string, time: Date | undefined): URL {
    const u = new URL(`${this.base}/query`);
    u.searchParams.set("query", query);
    if (time !== undefined) u.searchParams.set("time", isoformat(time));
    return u;
  }

  rangeUrl(query: string, start: Date, end: Date, stepSeconds: number): URL {
    const u = new URL(`${this.base}/query_range`);
    u.searchParams.set("query", query);
    u.searchParams.set("start", String(start.getTime() / 1000));
    u.searchParams.set("end", String(end.getTime() / 1000));
    u.searchParams.set("step", String(stepSeconds));
    return u;
  }

  async instant(query: string, time: Date | undefined, signal?: AbortSignal): Promise<PromSeries[]> {
    return this.get(this.instantUrl(query, time), signal);
  }

  async range(query: string, start: Date, end: Date, stepSeconds: number, signal?: AbortSignal): Promise<PromSeries[]> {
    return this.get(this.rangeUrl(query, start, end, stepSeconds), signal);
  }

  describe(url: URL): string {
    return describeRequest("GET", url);
  }

  private async get(url: URL, signal?: AbortSignal): Promise<PromSeries[]> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    this.requests++;
    const res = await this.http.request({ method: "GET", url, headers, signal });
    const what = describeRequest("GET", url);
    let body: { status?: string; errorType?: string; error?: string; data?: { resultType?: string; result?: unknown } };
    try {
      body = JSON.parse(res.body);
    } catch {
      throw new SourceHttpError("Prometheus", what, res.status, `not JSON: ${excerpt(res.body)}`, res.attempts, undefined, false);
    }
    if (body.status !== "success") {
      // CloudKitty's CollectError("<errorType>: <error>").
      throw new SourceHttpError(
        "Prometheus",
        what,
        res.status,
        `${body.errorType ?? "error"}: ${body.error ?? excerpt(res.body)}`,
        res.attempts,
        undefined,
        false,
      );
    }
    const result = body.data?.result;
    if (!Array.isArray(result)) {
      throw new SourceHttpError(
        "Prometheus",
        what,
        res.status,
        `expected a vector or a matrix: ${excerpt(res.body)}`,
        res.attempts,
        undefined,
        false,
      );
    }
    return result as PromSeries[];
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

type PrometheusSection = Omit<Config["collector_prometheus"], "quantity_precision">;

export function prometheusClientFromConfig(c: PrometheusSection, meter?: SourceMeter): PrometheusClient {
  const http = new HttpSource({
    meter,
    name: "Prometheus",
    connections: c.http_pool_maxsize,
    timeoutSeconds: c.timeout,
    retries: c.retries,
    retryBackoffSeconds: c.retry_backoff,
    tls: { cafile: c.cafile, insecure: c.insecure },
  });
  return new PrometheusClient(http, { url: c.prometheus_url, user: c.prometheus_user, password: c.prometheus_password });
}
