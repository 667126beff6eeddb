/**
 * The HTTP application: fastify with CloudKitty's routes, JSON read and
 * written with exact decimals, every error answered in one place (errors.ts),
 * the auth strategy, one log line per request, and the health endpoints:
 *
 * - GET /             CloudKitty's root: the API versions.
 * - GET /healthcheck  CloudKitty's (oslo.middleware) liveness: "OK", or 503
 *                     while the gateway shuts down.
 * - GET /ready        readiness: 200 when storage and rating report SERVING
 *                     through grpc.health.v1 (the collector is shown, and
 *                     only /v1/info needs it), 503 otherwise.
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import type { Logger } from "../../libs/logging/logger.js";
import { errorBody, httpFailure, schemaFailure } from "./errors.js";
import { type Gateway, tokenOf } from "./gateway.js";
import { parseExactJson } from "./json.js";
import type { Readiness } from "./readiness.js";
import { selfUrl, sendJson } from "./reply.js";
import { registerDataframes } from "./routes/dataframes.js";
import { registerDataframesAdd } from "./routes/dataframes-add.js";
import { registerHashmap } from "./routes/hashmap.js";
import { registerInfo } from "./routes/info.js";
import { registerModules } from "./routes/modules.js";
import { registerQuote } from "./routes/quote.js";
import { registerReports } from "./routes/report.js";
import { registerReprocess } from "./routes/reprocess.js";
import { registerScope } from "./routes/scope.js";
import { registerSummary } from "./routes/summary.js";

export interface AppOptions {
  logger: Logger;
  readiness: Readiness;
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
  /** Serve HTTPS with this certificate (main.ts swaps it on reload). */
  https?: { key: Buffer; cert: Buffer };
}

/** Routes keystonemiddleware lets through without a token (CloudKitty's acl_public_routes), and the health endpoints. */
const PUBLIC = new Set(["/", "/v1", "/v2", "/healthcheck", "/ready"]);

/** keystonemiddleware's answer to a request without a token. */
const UNAUTHORIZED = { error: { code: 401, title: "Unauthorized", message: "The request you have made requires authentication." } };

function pathOf(request: FastifyRequest): string {
  const path = request.url.split("?")[0] ?? "/";
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

export function buildApp(gw: Gateway, opts: AppOptions): FastifyInstance {
  const { logger, readiness } = opts;
  const app = Fastify({
    ...(opts.https === undefined ? {} : { https: opts.https }),
    logger: false,
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024,
    // On close, connections with no request in flight are closed at once; busy ones finish their request.
    forceCloseConnections: "idle",
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: "array", removeAdditional: false, allowUnionTypes: true } },
    schemaErrorFormatter: (errors, dataVar) => schemaFailure(errors, dataVar),
  });

  // Exact decimals in, whatever the content type says (python-cloudkittyclient posts data frames without one).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === "") {
      done(null, undefined);
      return;
    }
    try {
      done(null, parseExactJson(text));
    } catch (err) {
      const e = new Error(`the body is not valid JSON: ${(err as Error).message}`) as Error & { statusCode: number };
      e.statusCode = 400;
      done(e, undefined);
    }
  });

  // Per request: when it started, its id, and what went wrong (for its log line).
  const started = new WeakMap<FastifyRequest, bigint>();
  const ids = new WeakMap<FastifyRequest, string>();
  const failures = new WeakMap<FastifyRequest, Record<string, unknown>>();

  app.addHook("onRequest", async (request, reply) => {
    started.set(request, process.hrtime.bigint());
    // As CloudKitty's oslo.middleware RequestId: every answer names its request.
    const id = `req-${randomUUID()}`;
    ids.set(request, id);
    reply.header("x-openstack-request-id", id);
    if (gw.authStrategy !== "noauth" && !PUBLIC.has(pathOf(request)) && tokenOf(request) === undefined) {
      if (gw.wwwAuthenticate !== undefined) reply.header("www-authenticate", gw.wwwAuthenticate);
      return sendJson(reply, 401, UNAUTHORIZED);
    }
    return undefined;
  });

  // v1 (WSME) takes one value per query parameter: the last one given, when repeated.
  app.addHook("preValidation", async (request) => {
    if (!pathOf(request).startsWith("/v1") || request.query === null || typeof request.query !== "object") return;
    const query = request.query as Record<string, unknown>;
    for (const [k, v] of Object.entries(query)) if (Array.isArray(v)) query[k] = v[v.length - 1];
  });

  app.addHook("onResponse", async (request, reply) => {
    const t0 = started.get(request);
    const fields: Record<string, unknown> = {
      request_id: ids.get(request),
      method: request.method,
      route: request.routeOptions.url ?? pathOf(request),
      status: reply.statusCode,
      duration_ms: t0 === undefined ? undefined : Number(process.hrtime.bigint() - t0) / 1e6,
    };
    const failure = failures.get(request);
    logger.info(failure === undefined ? fields : { ...fields, ...failure }, "http");
  });

  app.setErrorHandler(async (err, request, reply) => {
    const f = httpFailure(err);
    const record: Record<string, unknown> = { message: f.message };
    if (f.grpcCode !== undefined) record.grpc_code = f.grpcCode;
    if (f.errorId !== undefined) {
      record.error_id = f.errorId;
      logger.error({ err, error_id: f.errorId, method: request.method, route: request.routeOptions.url }, "request failed");
    }
    failures.set(request, record);
    return sendJson(reply, f.statusCode, errorBody(pathOf(request), f.statusCode, f.message));
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = pathOf(request);
    const message = path.startsWith("/v1")
      ? "The resource could not be found."
      : "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";
    return sendJson(reply, 404, errorBody(path, 404, message));
  });

  app.get("/", async (request, reply) => {
    const base = selfUrl(request, "");
    return sendJson(reply, 200, {
      versions: [
        { id: "v1", links: [{ href: `${base}/v1`, rel: "self" }], status: "CURRENT" },
        { id: "v2", links: [{ href: `${base}/v2`, rel: "self" }], status: "EXPERIMENTAL" },
      ],
    });
  });

  app.get("/healthcheck", async (_request, reply) => {
    const stopping = readiness.stopping;
    return reply
      .code(stopping ? 503 : 200)
      .type("text/plain; charset=UTF-8")
      .send(stopping ? "SHUTTING DOWN" : "OK");
  });

  app.get("/ready", async (_request, reply) => {
    const state = readiness.state();
    return sendJson(reply, state.ready ? 200 : 503, state);
  });

  registerModules(app, gw);
  registerQuote(app, gw);
  registerHashmap(app, gw);
  registerReports(app, gw);
  registerInfo(app, gw);
  registerSummary(app, gw);
  registerDataframes(app, gw);
  registerDataframesAdd(app, gw);
  registerScope(app, gw);
  registerReprocess(app, gw);
  return app;
}
