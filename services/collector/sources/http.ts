/**
 * HTTP to a metrics source (Gnocchi, Keystone, Prometheus): one undici
 * pool per origin, whose size bounds the connections open to that origin at
 * once (requests beyond it queue inside the pool and reuse the kept-alive
 * connections); a timeout on every attempt; retries with exponential
 * backoff and jitter on connection errors, timeouts and 5xx answers. A
 * request that still fails throws a SourceHttpError that says what was
 * asked and what the source answered.
 *
 * Retrying is safe because every request ratemesh sends to a source is a
 * read (Gnocchi's aggregates and resource search are POSTs that change
 * nothing; a Keystone token request only issues another token).
 *
 * Each request is a client span (its attempts as events), and each attempt
 * is counted by status with its time; the pools' connections in use and
 * requests queued are read by the meter's gauges.
 */
import { readFileSync } from "node:fs";
import { Pool } from "undici";
import { errorMessage, RatemeshError } from "../../../libs/errors/errors.js";
import { type Span, SpanKind, withSpan } from "../../../libs/tracing/tracing.js";
import type { PoolStats, SourceMeter, SourceStatus } from "../telemetry.js";

export interface TlsFiles {
  cafile?: string | undefined;
  certfile?: string | undefined;
  keyfile?: string | undefined;
  insecure?: boolean | undefined;
}

export interface HttpSourceOptions {
  /** "Gnocchi", "Prometheus": names the source in errors. */
  name: string;
  /** Most connections open at once to one origin. */
  connections: number;
  /** Each attempt's timeout. */
  timeoutSeconds: number;
  /** Attempts after the first on a retryable failure. */
  retries: number;
  retryBackoffSeconds: number;
  tls?: TlsFiles;
  /** Where requests and pools are counted; none: not counted. */
  meter?: SourceMeter | undefined;
}

export interface HttpRequest {
  method: "GET" | "POST";
  url: URL;
  headers?: Record<string, string>;
  body?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** How many attempts it took. */
  attempts: number;
}

const MAX_BACKOFF_MS = 10_000;
const EXCERPT = 500;

/**
 * A request the source refused or could not answer. `retryable` says
 * whether the cause was transient (connection, timeout, 5xx): the gRPC
 * layer maps it to UNAVAILABLE, a 4xx to FAILED_PRECONDITION (the request
 * the configuration makes is wrong).
 */
export class SourceHttpError extends RatemeshError {
  readonly kind: "unavailable" | "failed_precondition";
  constructor(
    readonly source: string,
    readonly request: string,
    readonly status: number | undefined,
    readonly bodyExcerpt: string,
    readonly attempts: number,
    cause: unknown,
    retryable: boolean,
  ) {
    const answer =
      status === undefined ? `failed: ${errorMessage(cause)}` : `answered ${status}${bodyExcerpt === "" ? "" : `: ${bodyExcerpt}`}`;
    super(`${source} ${request} ${answer}${attempts > 1 ? ` (after ${attempts} attempts)` : ""}`, { cause });
    this.kind = retryable ? "unavailable" : "failed_precondition";
    this.name = "SourceHttpError";
  }
}

/** A request's line for messages and debugging: method and URL, never credentials. */
export function describeRequest(method: string, url: URL): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  return `${method} ${u.toString()}`;
}

export function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT)}...` : flat;
}

const RETRYABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

function isRetryableError(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e !== undefined && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && RETRYABLE_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export class HttpSource {
  private readonly pools = new Map<string, Pool>();
  private readonly connect: Record<string, unknown>;
  private closed = false;

  constructor(readonly opts: HttpSourceOptions) {
    const tls = opts.tls ?? {};
    const connect: Record<string, unknown> = {};
    if (tls.cafile) connect.ca = readFileSync(tls.cafile);
    if (tls.certfile) connect.cert = readFileSync(tls.certfile);
    if (tls.keyfile) connect.key = readFileSync(tls.keyfile);
    if (tls.insecure) connect.rejectUnauthorized = false;
    this.connect = connect;
    opts.meter?.pool(() => this.poolStats());
  }

  /** The connections in use and requests queued over every origin's pool. */
  poolStats(): PoolStats {
    let inUse = 0;
    let queued = 0;
    for (const p of this.pools.values()) {
      inUse += p.stats.running;
      queued += p.stats.pending;
    }
    return { inUse, queued, max: this.opts.connections * Math.max(1, this.pools.size) };
  }

  /** The pool of an origin, created on first use. */
  pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      if (this.closed) throw new Error(`${this.opts.name} client is closed`);
      pool = new Pool(origin, {
        connections: this.opts.connections,
        // One request per connection at a time: pipelining would let one
        // slow aggregate hold up the requests queued behind it.
        pipelining: 1,
        connect: { ...this.connect, timeout: Math.round(this.opts.timeoutSeconds * 1000) },
        // The timeouts are per attempt and handled with a signal below, so
        // undici's own (5 min by default) must not cut in first.
        headersTimeout: 0,
        bodyTimeout: 0,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 300_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * Sends the request, retrying transient failures. Resolves with any
   * non-5xx answer (the caller decides what a 4xx means); throws a
   * SourceHttpError once the retries are spent, or the caller's abort.
   */
  request(req: HttpRequest): Promise<HttpResponse> {
    const attributes = {
      "http.request.method": req.method,
      "server.address": req.url.hostname,
      "url.full": describeRequest(req.method, req.url).slice(req.method.length + 1),
      "ratemesh.source": this.opts.name,
    };
    return withSpan(req.method, { attributes, kind: SpanKind.CLIENT }, (span) => this.send(req, span));
  }

  private async send(req: HttpRequest, span: Span): Promise<HttpResponse> {
    const { retries, retryBackoffSeconds, timeoutSeconds } = this.opts;
    const what = describeRequest(req.method, req.url);
    let attempt = 0;
    for (;;) {
      attempt++;
      req.signal?.throwIfAborted();
      // One controller per attempt, fed by the timeout and the caller's
      // signal, both detached when the attempt ends: the caller's signal may
      // live for a whole catch-up and must not collect a listener per request.
      const attemptAbort = new AbortController();
      let timedOut = false;
      const timer = setTimeout(
        () => {
          timedOut = true;
          attemptAbort.abort(new Error(`timed out after ${timeoutSeconds} s`));
        },
        Math.round(timeoutSeconds * 1000),
      );
      const onCallerAbort = () => attemptAbort.abort(req.signal?.reason);
      req.signal?.addEventListener("abort", onCallerAbort, { once: true });
      const signal = attemptAbort.signal;
      let failure: SourceHttpError;
      const t0 = performance.now();
      let status: SourceStatus = "error";
      try {
        const res = await this.pool(req.url.origin).request({
          method: req.method,
          path: `${req.url.pathname}${req.url.search}`,
          headers: req.headers ?? {},
          body: req.body ?? null,
          signal,
        });
        const body = await res.body.text();
        status = statusClass(res.statusCode);
        const out: HttpResponse = { status: res.statusCode, headers: res.headers, body, attempts: attempt };
        span.setAttribute("http.response.status_code", res.statusCode);
        if (res.statusCode < 500) return out;
        failure = new SourceHttpError(this.opts.name, what, res.statusCode, excerpt(body), attempt, undefined, true);
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason ?? err;
        if (timedOut) {
          status = "timeout";
          failure = new SourceHttpError(
            this.opts.name,
            what,
            undefined,
            "",
            attempt,
            new Error(`timed out after ${timeoutSeconds} s`),
            true,
          );
        } else if (isRetryableError(err)) {
          failure = new SourceHttpError(this.opts.name, what, undefined, "", attempt, err, true);
        } else {
          throw new SourceHttpError(this.opts.name, what, undefined, "", attempt, err, false);
        }
      } finally {
        clearTimeout(timer);
        req.signal?.removeEventListener("abort", onCallerAbort);
        this.opts.meter?.request(status, (performance.now() - t0) / 1000);
      }
      if (attempt > retries) throw failure;
      span.addEvent("retry", { attempt, status });
      const base = Math.min(MAX_BACKOFF_MS, retryBackoffSeconds * 1000 * 2 ** (attempt - 1));
      await sleepUnlessAborted(base / 2 + Math.random() * (base / 2), req.signal);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  }
}

function statusClass(code: number): SourceStatus {
  if (code >= 500) return "5xx";
  if (code >= 400) return "4xx";
  return code >= 300 ? "3xx" : "2xx";
}

function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The value of a response header (the first one if repeated). */
export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
