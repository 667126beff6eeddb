/**
 * gRPC server plumbing shared by every service: async handlers wrapped once
 * (each call answered exactly once, typed errors mapped to status codes, one
 * log line per call with method, code and duration, counted in the
 * registry, and run in a span continuing the caller's trace), server
 * reflection from the real descriptors, grpc.health.v1 driven by a
 * readiness check, and a two-stage shutdown.
 */
import * as grpc from "@grpc/grpc-js";
import { context } from "@opentelemetry/api";
import { HealthImplementation } from "grpc-health-check";
import { UnimplementedError } from "../errors/errors.js";
import type { Logger } from "../logging/logger.js";
import type { Registry } from "../metrics/metrics.js";
import { createReflection } from "./reflection.js";
import { type MethodMetrics, ServerMetricFamilies } from "./server-metrics.js";
import { codeName, toStatus } from "./status.js";
import { type CallSpan, serverCallSpan } from "./trace-context.js";
import { type RequestOf, type ResponseOf, type ServiceDef, serviceNameOf, shortMethod } from "./types.js";

export interface CallContext {
  /** Short method name, e.g. "StorageService/CommitPeriod". */
  readonly method: string;
  readonly metadata: grpc.Metadata;
  readonly peer: string;
  /** Aborted when the client cancels or its deadline passes. */
  readonly signal: AbortSignal;
  readonly deadline: Date | undefined;
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

  constructor(private readonly opts: ServerOptions) {
    this.families = opts.metrics === undefined ? undefined : new ServerMetricFamilies(opts.metrics);
    this.hot = new Set(opts.hotMethods ?? []);
    this.server = new grpc.Server({
      "grpc.max_receive_message_length": opts.maxMessageBytes,
      "grpc.max_send_message_length": opts.maxMessageBytes,
      // Clients ping every [client] keepalive_time; accept it even when idle.
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.http2.min_ping_interval_without_data_ms": 1000,
    });
  }

  /**
   * Registers a service. A method without a handler answers UNIMPLEMENTED,
   * saying so.
   */
  add<S extends ServiceDef>(def: S, handlers: Partial<Handlers<S>>): this {
    const name = serviceNameOf(def);
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [key, method] of Object.entries(def)) {
      const handler = (handlers as Record<string, unknown>)[key] as ((...args: unknown[]) => Promise<unknown>) | undefined;
      const label = shortMethod(method.path);
      if (method.requestStream) throw new Error(`${label}: client streaming is not supported by this wrapper`);
      const metrics = this.families?.method(method.path, method.responseStream ? "server_stream" : "unary");
      const site = { label, path: method.path, metrics, okLevel: this.hot.has(label) ? ("debug" as const) : ("info" as const) };
      impl[key] = method.responseStream ? this.wrapStream(site, handler) : this.wrapUnary(site, handler);
    }
    this.server.addService(def as unknown as grpc.ServiceDefinition, impl);
    this.serviceNames.push(name);
    this.health.setStatus(name, "NOT_SERVING");
    return this;
  }

  /** Binds, and adds reflection and health. Returns the bound port. */
  async listen(host: string, port: number): Promise<number> {
    createReflection([...this.serviceNames, "grpc.health.v1.Health"]).addToServer(this.server);
    this.health.addToServer(this.server);
    const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    return await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, bound) => {
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

  private context(label: string, call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): CallContext {
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort(new Error("call cancelled by the client")));
    const deadline = call.getDeadline();
    return {
      method: label,
      metadata: call.metadata,
      peer: call.getPeer(),
      signal: ac.signal,
      deadline: deadline instanceof Date ? deadline : Number.isFinite(deadline) ? new Date(deadline) : undefined,
    };
  }

  private begin(site: CallSite, metadata: grpc.Metadata): CallRecord {
    site.metrics?.start();
    return { ...site, started: process.hrtime.bigint(), span: serverCallSpan(site.path, metadata) };
  }

  /** The call ended well: counted, its span ended, and its access line logged (in the call's trace). */
  private ok(rec: CallRecord, code = grpc.status.OK): void {
    const ms = elapsedMs(rec.started);
    rec.metrics?.done(code, ms / 1000);
    context.with(rec.span.context, () =>
      this.opts.logger[rec.okLevel]({ method: rec.label, code: codeName(code), duration_ms: ms }, "rpc"),
    );
    rec.span.end(code);
  }

  private fail(rec: CallRecord, err: unknown): grpc.ServiceError {
    const mapped = toStatus(err);
    const ms = elapsedMs(rec.started);
    rec.metrics?.done(mapped.code, ms / 1000);
    const fields = { method: rec.label, code: codeName(mapped.code), duration_ms: ms };
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
      let ctx: CallContext;
      try {
        ctx = this.context(label, call);
      } catch (err) {
        callback(this.fail(rec, err), null);
        return;
      }
      context
        .with(rec.span.context, () => handler(call.request, ctx))
        .then(
          (res) => {
            this.ok(rec);
            callback(null, res);
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
      const ctx = this.context(label, call);
      const send = (msg: unknown): Promise<void> => {
        if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
        if (call.write(msg)) return Promise.resolve();
        return new Promise<void>((resolve, reject) => {
          const onDrain = () => {
            ctx.signal.removeEventListener("abort", onAbort);
            resolve();
          };
          const onAbort = () => {
            call.off("drain", onDrain);
            reject(ctx.signal.reason);
          };
          call.once("drain", onDrain);
          ctx.signal.addEventListener("abort", onAbort, { once: true });
        });
      };
      context
        .with(rec.span.context, () => handler(call.request, ctx, send))
        .then(
          () => {
            this.ok(rec);
            call.end();
          },
          (err: unknown) => {
            if (ctx.signal.aborted) {
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
