/**
 * gRPC server plumbing shared by every service: async handlers wrapped once
 * (each call answered exactly once, typed errors mapped to status codes, one
 * log line per call with method, code and duration, counted in the
 * registry, and run in a span continuing the caller's trace), the trust
 * boundary (TLS with reloaded certificates, and every call through the
 * Guard: authenticated, authorized against the service's policy table,
 * narrowed to the caller's project), connection limits, server reflection
 * from the real descriptors, grpc.health.v1 driven by a readiness check,
 * and a two-stage shutdown.
 */
import * as grpc from "@grpc/grpc-js";
import { context } from "@opentelemetry/api";
import { HealthImplementation } from "grpc-health-check";
import type { AuditSink } from "../audit/trail.js";
import { noauth } from "../auth/authenticate.js";
import type { Principal } from "../auth/principal.js";
import { InvalidArgumentError, UnimplementedError } from "../errors/errors.js";
import type { Logger } from "../logging/logger.js";
import type { Registry } from "../metrics/metrics.js";
import type { RequestLimits } from "../validation/limits.js";
import { Guard, type PolicyTable } from "./guard.js";
import { createReflection } from "./reflection.js";
import { type MethodMetrics, ServerMetricFamilies } from "./server-metrics.js";
import { codeName, toStatus } from "./status.js";
import { installStrictDecoding, UndecodableRequest, undecodableAsValue } from "./strict-decoding.js";
import { type CertificateFiles, type ClientAuth, serverCredentials } from "./tls.js";
import { type CallSpan, serverCallSpan } from "./trace-context.js";
import { type MethodDef, type RequestOf, type ResponseOf, type ServiceDef, serviceNameOf, shortMethod } from "./types.js";

export interface CallContext {
  /** Short method name, e.g. "StorageService/CommitPeriod". */
  readonly method: string;
  readonly metadata: grpc.Metadata;
  readonly peer: string;
  /** Aborted when the client cancels or its deadline passes. */
  readonly signal: AbortSignal;
  readonly deadline: Date | undefined;
  /** Who is calling (under noauth: anonymous, unconfined). */
  readonly caller: Principal;
}

export type Handlers<S extends ServiceDef> = {
  [K in keyof S]: S[K] extends { responseStream: true }
    ? (req: RequestOf<S[K]>, ctx: CallContext, send: (msg: ResponseOf<S[K]>) => Promise<void>) => Promise<void>
    : (req: RequestOf<S[K]>, ctx: CallContext) => Promise<ResponseOf<S[K]>>;
};

export interface ServerOptions {
  logger: Logger;
  maxMessageBytes: number;
  /** Where the calls are counted (grpc_server_*); none: not counted. */
  metrics?: Registry;
  /**
   * Methods ("Service/Method") called for every unit of work, whose access
   * lines are logged at debug rather than info: at info they would be most
   * of the log. An internal error is still logged at error; a refusal the
   * caller is told about (not found, failed precondition...) the caller
   * logs if it matters.
   */
  hotMethods?: readonly string[];
  /** Serve TLS with these certificates; none: plaintext (the caller checked it binds the loopback or may do otherwise). */
  tls?: { files: CertificateFiles; clientAuth: ClientAuth };
  /** Authenticates and authorizes every call; none: noauth, every call allowed. */
  guard?: Guard;
  /** Longest status message sent or logged (default MAX_DETAILS). */
  maxStatusMessage?: number;
  /** Limits on each client connection; grpc-js's defaults where unset. */
  connections?: ConnectionLimits;
  /** Checked on every request before its handler; none: no limits but the message size. */
  limits?: RequestLimits;
  /**
   * Where a successful call of an audited method (its policy has `audit`)
   * is recorded, before the caller is answered: an OK means the change is
   * in the trail. None: not recorded.
   */
  audit?: AuditSink;
}

/** Durations in seconds; 0: no limit. */
export interface ConnectionLimits {
  maxConcurrentStreams: number;
  keepaliveTimeSeconds: number;
  keepaliveTimeoutSeconds: number;
  maxIdleSeconds: number;
  maxAgeSeconds: number;
  maxAgeGraceSeconds: number;
}

function connectionOptions(l: ConnectionLimits | undefined): grpc.ServerOptions {
  if (l === undefined) return {};
  const ms = (s: number) => Math.round(s * 1000);
  return {
    "grpc.max_concurrent_streams": l.maxConcurrentStreams,
    "grpc.keepalive_time_ms": ms(l.keepaliveTimeSeconds),
    "grpc.keepalive_timeout_ms": ms(l.keepaliveTimeoutSeconds),
    ...(l.maxIdleSeconds > 0 ? { "grpc.max_connection_idle_ms": ms(l.maxIdleSeconds) } : {}),
    ...(l.maxAgeSeconds > 0
      ? { "grpc.max_connection_age_ms": ms(l.maxAgeSeconds), "grpc.max_connection_age_grace_ms": ms(l.maxAgeGraceSeconds) }
      : {}),
  };
}

/** Where a method's calls are reported, fixed when the service is registered. */
interface CallSite {
  label: string;
  path: string;
  metrics: MethodMetrics | undefined;
  /** The level of the call's access line, unless it failed with an internal error. */
  okLevel: "debug" | "info";
}

/** One call in progress: what its end reports. */
interface CallRecord extends CallSite {
  started: bigint;
  span: CallSpan;
  /** Who called, once authenticated (for the access line). */
  caller: string | undefined;
}

type Readiness = () => Promise<boolean> | boolean;

export class GrpcServer {
  readonly server: grpc.Server;
  private readonly health = new HealthImplementation({ "": "NOT_SERVING" });
  private readonly serviceNames: string[] = [];
  private readinessTimer: NodeJS.Timeout | undefined;
  private serving = false;
  private stopping = false;
  private readonly families: ServerMetricFamilies | undefined;
  private readonly hot: ReadonlySet<string>;
  readonly guard: Guard;

  constructor(private readonly opts: ServerOptions) {
    this.families = opts.metrics === undefined ? undefined : new ServerMetricFamilies(opts.metrics);
    this.hot = new Set(opts.hotMethods ?? []);
    this.guard = opts.guard ?? new Guard(noauth);
    installStrictDecoding();
    this.server = new grpc.Server({
      ...connectionOptions(opts.connections),
      "grpc.max_receive_message_length": opts.maxMessageBytes,
      "grpc.max_send_message_length": opts.maxMessageBytes,
      // Clients ping every [client] keepalive_time; accept it even when idle.
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.http2.min_ping_interval_without_data_ms": 1000,
    });
  }

  /**
   * Registers a service with its policy (who may call each method; see
   * guard.ts). A method without a handler answers UNIMPLEMENTED, saying so.
   */
  add<S extends ServiceDef>(def: S, handlers: Partial<Handlers<S>>, policy?: PolicyTable<S>): this {
    const name = serviceNameOf(def);
    const impl: grpc.UntypedServiceImplementation = {};
    const served: Record<string, MethodDef> = {};
    for (const [key, method] of Object.entries(def)) {
      served[key] = { ...method, requestDeserialize: undecodableAsValue(method.requestDeserialize) };
      const handler = (handlers as Record<string, unknown>)[key] as ((...args: unknown[]) => Promise<unknown>) | undefined;
      const label = shortMethod(method.path);
      this.guard.register(label, (policy as Record<string, never> | undefined)?.[key]);
      if (method.requestStream) throw new Error(`${label}: client streaming is not supported by this wrapper`);
      const metrics = this.families?.method(method.path, method.responseStream ? "server_stream" : "unary");
      const site = { label, path: method.path, metrics, okLevel: this.hot.has(label) ? ("debug" as const) : ("info" as const) };
      impl[key] = method.responseStream ? this.wrapStream(site, handler) : this.wrapUnary(site, handler);
    }
    this.server.addService(served as unknown as grpc.ServiceDefinition, impl);
    this.serviceNames.push(name);
    this.health.setStatus(name, "NOT_SERVING");
    return this;
  }

  /** Binds, and adds reflection and health. Returns the bound port. */
  async listen(host: string, port: number): Promise<number> {
    this.guard.checkOverrides();
    createReflection([...this.serviceNames, "grpc.health.v1.Health"]).addToServer(this.server);
    this.health.addToServer(this.server);
    const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const tls = this.opts.tls;
    const credentials = tls === undefined ? grpc.ServerCredentials.createInsecure() : serverCredentials(tls.files, tls.clientAuth);
    return await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(target, credentials, (err, bound) => {
        if (err !== null) reject(new Error(`cannot listen on ${target}: ${err.message}`));
        else resolve(bound);
      });
    });
  }

  get isServing(): boolean {
    return this.serving;
  }

  /** Reports SERVING or NOT_SERVING for the server and each of its services. */
  setServing(serving: boolean): void {
    if (this.stopping) serving = false;
    if (serving === this.serving) return;
    this.serving = serving;
    const s = serving ? "SERVING" : "NOT_SERVING";
    this.health.setStatus("", s);
    for (const name of this.serviceNames) this.health.setStatus(name, s);
    this.opts.logger.info({ health: s }, serving ? "ready" : "not ready");
  }

  /** Checks readiness now, then every intervalSeconds, and reports it through health. */
  async watchReadiness(check: Readiness, intervalSeconds: number): Promise<void> {
    const run = async () => {
      let ok = false;
      try {
        ok = await check();
      } catch (err) {
        this.opts.logger.warn({ err }, "readiness check failed");
      }
      this.setServing(ok);
    };
    await run();
    const tick = () => {
      this.readinessTimer = setTimeout(() => {
        void run().finally(() => {
          if (!this.stopping) tick();
        });
      }, intervalSeconds * 1000);
      this.readinessTimer.unref();
    };
    tick();
  }

  /**
   * First stage: refuse new calls and wait for in-flight ones up to
   * graceSeconds. Second stage: cancel what is left. Resolves with whether
   * the second stage was needed.
   */
  async shutdown(graceSeconds: number): Promise<{ forced: boolean }> {
    this.stopping = true;
    clearTimeout(this.readinessTimer);
    this.setServing(false);
    const drained = new Promise<boolean>((resolve) => this.server.tryShutdown(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceSeconds * 1000).unref());
    const clean = await Promise.race([drained, timeout]);
    if (!clean) this.server.forceShutdown();
    return { forced: !clean };
  }

  /**
   * The call's context once the guard admitted it, and the request to
   * hand on (narrowed to the caller's project where the policy says so).
   */
  private async admit(
    rec: CallRecord,
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  ): Promise<{ ctx: CallContext; request: unknown; auditTarget: string | undefined }> {
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort(new Error("call cancelled by the client")));
    const deadline = call.getDeadline();
    const admitted = await this.guard.admit(rec.label, call.metadata, call.getAuthContext()?.sslPeerCertificate, call.request);
    rec.caller = admitted.principal.display;
    const ctx: CallContext = {
      method: rec.label,
      metadata: call.metadata,
      peer: call.getPeer(),
      signal: ac.signal,
      deadline: deadline instanceof Date ? deadline : Number.isFinite(deadline) ? new Date(deadline) : undefined,
      caller: admitted.principal,
    };
    return { ctx, request: admitted.request, auditTarget: admitted.auditTarget };
  }

  private begin(site: CallSite, metadata: grpc.Metadata): CallRecord {
    site.metrics?.start();
    return { ...site, started: process.hrtime.bigint(), span: serverCallSpan(site.path, metadata), caller: undefined };
  }

  /** The call ended well: counted, its span ended, and its access line logged (in the call's trace). */
  private ok(rec: CallRecord, code = grpc.status.OK): void {
    const ms = elapsedMs(rec.started);
    rec.metrics?.done(code, ms / 1000);
    context.with(rec.span.context, () =>
      this.opts.logger[rec.okLevel]({ method: rec.label, code: codeName(code), duration_ms: ms, caller: rec.caller }, "rpc"),
    );
    rec.span.end(code);
  }

  private fail(rec: CallRecord, err: unknown): grpc.ServiceError {
    const mapped = toStatus(err, this.opts.maxStatusMessage);
    const ms = elapsedMs(rec.started);
    rec.metrics?.done(mapped.code, ms / 1000);
    const fields = { method: rec.label, code: codeName(mapped.code), duration_ms: ms, caller: rec.caller };
    context.with(rec.span.context, () => {
      if (mapped.internal) this.opts.logger.error({ ...fields, err, error_id: mapped.details }, "rpc");
      else this.opts.logger[rec.okLevel]({ ...fields, message: mapped.details }, "rpc");
    });
    rec.span.end(mapped.code, mapped.internal ? err : new Error(mapped.details));
    const e = new Error(mapped.details) as grpc.ServiceError;
    e.code = mapped.code;
    e.details = mapped.details;
    e.metadata = new grpc.Metadata();
    return e;
  }

  /** Runs the handler as the admitted caller, in the call's span. */
  private async handle(
    rec: CallRecord,
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
    run: (request: unknown, ctx: CallContext) => Promise<unknown>,
  ): Promise<{ result: unknown; ctx: CallContext }> {
    if (call.request instanceof UndecodableRequest) throw new InvalidArgumentError("request", call.request.message);
    const { ctx, request, auditTarget } = await this.admit(rec, call);
    this.opts.limits?.check(request);
    const current = { principal: ctx.caller, method: rec.label, auditTarget };
    const result = await context.with(rec.span.context, () => this.guard.run(current, () => run(request, ctx)));
    if (auditTarget !== undefined && this.opts.audit !== undefined) {
      const p = ctx.caller;
      await this.opts.audit.record({ at: new Date(), actor: p.display, project: p.project, method: rec.label, target: auditTarget });
    }
    return { result, ctx };
  }

  private wrapUnary(
    site: CallSite,
    handler: ((...args: unknown[]) => Promise<unknown>) | undefined,
  ): grpc.handleUnaryCall<unknown, unknown> {
    const { label } = site;
    return (call, callback) => {
      const rec = this.begin(site, call.metadata);
      if (handler === undefined) {
        callback(this.fail(rec, new UnimplementedError(`${label} is not implemented yet`)), null);
        return;
      }
      this.handle(rec, call, (request, ctx) => handler(request, ctx)).then(
        ({ result }) => {
          this.ok(rec);
          callback(null, result);
        },
        (err: unknown) => callback(this.fail(rec, err), null),
      );
    };
  }

  private wrapStream(
    site: CallSite,
    handler: ((...args: unknown[]) => Promise<unknown>) | undefined,
  ): grpc.handleServerStreamingCall<unknown, unknown> {
    const { label } = site;
    return (call) => {
      const rec = this.begin(site, call.metadata);
      if (handler === undefined) {
        call.emit("error", this.fail(rec, new UnimplementedError(`${label} is not implemented yet`)));
        return;
      }
      let signal: AbortSignal | undefined;
      const send = (msg: unknown): Promise<void> => {
        const s = signal as AbortSignal;
        if (s.aborted) return Promise.reject(s.reason);
        if (call.write(msg)) return Promise.resolve();
        return new Promise<void>((resolve, reject) => {
          const onDrain = () => {
            s.removeEventListener("abort", onAbort);
            resolve();
          };
          const onAbort = () => {
            call.off("drain", onDrain);
            reject(s.reason);
          };
          call.once("drain", onDrain);
          s.addEventListener("abort", onAbort, { once: true });
        });
      };
      this.handle(rec, call, (request, ctx) => {
        signal = ctx.signal;
        return handler(request, ctx, send);
      }).then(
        () => {
          this.ok(rec);
          call.end();
        },
        (err: unknown) => {
          if (signal?.aborted) {
            this.ok(rec, grpc.status.CANCELLED);
            return;
          }
          call.emit("error", this.fail(rec, err));
        },
      );
    };
  }
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}
