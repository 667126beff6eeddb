/**
 * A Gnocchi API client for the collector and the fetcher: authentication
 * (basic mode, or a Keystone v3 token with the endpoint from its catalog),
 * the aggregates API and the resource search, over an HttpSource (one pool
 * per origin, timeouts, retries). Numbers in answers are kept as their JSON
 * text (see json.ts).
 */

import type { Clock } from "../../../libs/time/period.js";
import type { CollectorConfig as Config } from "../config.js";
import type { SourceMeter } from "../telemetry.js";
import { describeRequest, excerpt, type HttpResponse, HttpSource, header, SourceHttpError } from "./http.js";
import { parseJsonNumbersAsText } from "./json.js";
import { KeystoneSession } from "./keystone.js";

export type GnocchiAuth =
  | { kind: "basic"; endpoint: string; user: string }
  | { kind: "keystone"; session: KeystoneSession; endpoint: string };

/** One aggregate as Gnocchi gives it: timestamp, granularity (seconds) and value, numbers as text. */
export type Aggregate = [timestamp: string, granularity: string, value: string];

export interface AggregateGroup {
  /** The groupby attributes' values (numbers as text, null kept). */
  group: Record<string, unknown>;
  aggregated: Aggregate[];
}

export interface AggregatesQuery {
  operations: unknown;
  resourceType: string;
  search: unknown;
  start: Date;
  stop: Date;
  /** Sent only when set (CloudKitty's force_granularity > 0). */
  granularity: number | undefined;
  groupby: string[];
}

/** The aggregates answer: groups, or "no such metric" (CloudKitty's "no data for this cycle"). */
export type AggregatesResult = { groups: AggregateGroup[] } | { metricNotFound: string };

export interface ResourcePage {
  resources: Array<Record<string, unknown>>;
  /** Gnocchi said there may be more (a Link rel="next" header). */
  more: boolean;
}

export interface SearchQuery {
  resourceType: string;
  filter: unknown;
  sort: string[];
  /** Attributes to return (Gnocchi's attrs); empty: all. */
  attrs: string[];
  marker: string | undefined;
  limit?: number | undefined;
}

/** CloudKitty's timestamp form (Python's isoformat of an aware UTC datetime). */
export function isoformat(d: Date): string {
  const s = d.toISOString();
  return `${s.endsWith(".000Z") ? s.slice(0, -5) : s.slice(0, -1)}+00:00`;
}

export class GnocchiClient {
  /** Requests sent (attempts not counted), for status and tests. */
  requests = 0;

  constructor(
    readonly http: HttpSource,
    private readonly auth: GnocchiAuth,
  ) {}

  /** The URL of an API path under the endpoint (the endpoint may carry a path prefix). */
  async url(path: string, signal?: AbortSignal): Promise<URL> {
    const base = await this.endpoint(signal);
    return new URL(`${base.replace(/\/+$/, "")}${path}`);
  }

  private async endpoint(signal?: AbortSignal): Promise<string> {
    if (this.auth.kind === "basic" || this.auth.endpoint !== "") return this.auth.endpoint;
    const t = await this.auth.session.token(signal);
    if (t.endpoint === undefined) {
      throw new SourceHttpError(
        "Keystone",
        "catalog",
        undefined,
        "",
        1,
        new Error("the token's catalog has no metric endpoint for the configured interface and region"),
        false,
      );
    }
    return t.endpoint;
  }

  aggregatesUrlPath(q: AggregatesQuery): string {
    const params = new URLSearchParams();
    params.set("start", isoformat(q.start));
    params.set("stop", isoformat(q.stop));
    if (q.granularity !== undefined) params.set("granularity", String(q.granularity));
    params.set("use_history", "true");
    for (const g of q.groupby) params.append("groupby", g);
    return `/v1/aggregates?${params.toString()}`;
  }

  aggregatesBody(q: AggregatesQuery): string {
    return JSON.stringify({ operations: q.operations, search: q.search, resource_type: q.resourceType });
  }

  /** The request line and body, for debugging output (no credentials). */
  async describeAggregates(q: AggregatesQuery): Promise<string> {
    const url = await this.url(this.aggregatesUrlPath(q)).catch(() => new URL(`http://gnocchi${this.aggregatesUrlPath(q)}`));
    return `${describeRequest("POST", url)} ${this.aggregatesBody(q)}`;
  }

  async describeSearch(q: SearchQuery): Promise<string> {
    const path = this.searchPath(q);
    const url = await this.url(path).catch(() => new URL(`http://gnocchi${path}`));
    return `${describeRequest("POST", url)} ${JSON.stringify(q.filter)}`;
  }

  async aggregates(q: AggregatesQuery, signal?: AbortSignal): Promise<AggregatesResult> {
    const res = await this.send("POST", this.aggregatesUrlPath(q), this.aggregatesBody(q), signal);
    const what = `POST ${res.url.pathname}`;
    if (res.response.status === 400 || res.response.status === 404) {
      // CloudKitty (9.0.0) skips a metric that no resource of the scope has:
      // "Metrics not found" (400) or an unknown metric (404).
      const cause = errorCause(res.response.body);
      if (cause === "Metrics not found" || cause === "Unknown metrics") return { metricNotFound: cause };
    }
    const body = this.expectJson(res.response, res.url, 200);
    if (!Array.isArray(body)) {
      throw new SourceHttpError(
        "Gnocchi",
        what,
        200,
        `expected a list of groups: ${excerpt(res.response.body)}`,
        res.response.attempts,
        undefined,
        false,
      );
    }
    const groups: AggregateGroup[] = [];
    for (const item of body as Array<{ group?: Record<string, unknown>; measures?: { measures?: { aggregated?: unknown } } }>) {
      const aggregated = item.measures?.measures?.aggregated;
      if (!Array.isArray(aggregated)) {
        throw new SourceHttpError(
          "Gnocchi",
          what,
          200,
          `the operations must end with an aggregate (no "aggregated" measures in ${excerpt(JSON.stringify(item)).slice(0, 200)})`,
          res.response.attempts,
          undefined,
          false,
        );
      }
      groups.push({ group: item.group ?? {}, aggregated: aggregated as Aggregate[] });
    }
    return { groups };
  }

  searchPath(q: SearchQuery): string {
    const params = new URLSearchParams();
    for (const s of q.sort) params.append("sort", s);
    for (const a of q.attrs) params.append("attrs", a);
    if (q.marker !== undefined) params.set("marker", q.marker);
    if (q.limit !== undefined) params.set("limit", String(q.limit));
    return `/v1/search/resource/${encodeURIComponent(q.resourceType)}?${params.toString()}`;
  }

  async searchResources(q: SearchQuery, signal?: AbortSignal): Promise<ResourcePage> {
    const res = await this.send("POST", this.searchPath(q), JSON.stringify(q.filter ?? {}), signal);
    const body = this.expectJson(res.response, res.url, 200);
    if (!Array.isArray(body)) {
      throw new SourceHttpError(
        "Gnocchi",
        `POST ${res.url.pathname}`,
        200,
        `expected a list of resources: ${excerpt(res.response.body)}`,
        1,
        undefined,
        false,
      );
    }
    const link = header(res.response, "link") ?? "";
    return { resources: body as Array<Record<string, unknown>>, more: /rel="next"/.test(link) };
  }

  /** A GET or POST with authentication; one more try with a new token after a 401 (Keystone). */
  async send(
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ response: HttpResponse; url: URL }> {
    for (let attempt = 1; ; attempt++) {
      const url = await this.url(path, signal);
      const headers: Record<string, string> = { accept: "application/json" };
      if (body !== undefined) headers["content-type"] = "application/json";
      let token: Awaited<ReturnType<KeystoneSession["token"]>> | undefined;
      if (this.auth.kind === "basic") {
        headers.authorization = `Basic ${Buffer.from(`${this.auth.user}:`).toString("base64")}`;
      } else {
        token = await this.auth.session.token(signal);
        headers["x-auth-token"] = token.value;
      }
      this.requests++;
      const response = await this.http.request({ method, url, headers, body, signal });
      if (response.status === 401 && token !== undefined && this.auth.kind === "keystone" && attempt === 1) {
        this.auth.session.invalidate(token);
        continue;
      }
      return { response, url };
    }
  }

  expectJson(res: HttpResponse, url: URL, status: number): unknown {
    const what = `${describeRequest("POST", url)}`;
    if (res.status !== status) throw new SourceHttpError("Gnocchi", what, res.status, excerpt(res.body), res.attempts, undefined, false);
    try {
      return parseJsonNumbersAsText(res.body);
    } catch {
      throw new SourceHttpError("Gnocchi", what, res.status, `not JSON: ${excerpt(res.body)}`, res.attempts, undefined, false);
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

/** Gnocchi's error body: {"code", "title", "description": {"cause", ...} | string}. */
function errorCause(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { description?: { cause?: unknown } | string };
    const d = parsed.description;
    if (typeof d === "object" && d !== null && typeof d.cause === "string") return d.cause;
  } catch {
    // Not JSON: not one of the answers that mean "no data".
  }
  return undefined;
}

type GnocchiSection = Config["collector_gnocchi"];

/** A client from a [collector_gnocchi] or [fetcher_gnocchi] section. */
export function gnocchiClientFromConfig(c: GnocchiSection, clock: Clock, meter?: SourceMeter): GnocchiClient {
  const http = new HttpSource({
    meter,
    name: "Gnocchi",
    connections: c.http_pool_maxsize,
    timeoutSeconds: c.timeout,
    retries: c.retries,
    retryBackoffSeconds: c.retry_backoff,
    tls: { cafile: c.cafile, certfile: c.certfile, keyfile: c.keyfile, insecure: c.insecure },
  });
  if (c.gnocchi_auth_type === "basic") {
    return new GnocchiClient(http, { kind: "basic", endpoint: c.gnocchi_endpoint, user: c.gnocchi_user });
  }
  const session = new KeystoneSession(
    {
      authUrl: c.auth_url ?? "",
      username: c.username,
      userId: c.user_id,
      password: c.password ?? "",
      userDomainName: c.user_domain_name,
      userDomainId: c.user_domain_id,
      projectName: c.project_name,
      projectId: c.project_id,
      projectDomainName: c.project_domain_name,
      projectDomainId: c.project_domain_id,
    },
    { serviceType: "metric", interface: c.interface, regionName: c.region_name },
    http,
    clock,
  );
  return new GnocchiClient(http, { kind: "keystone", session, endpoint: c.gnocchi_endpoint });
}
