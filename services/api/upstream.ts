/**
 * The gateway's gRPC clients of storage, rating and the collector. They
 * behave as libs/grpc/client.ts does (a deadline on every call, UNAVAILABLE
 * retried with backoff inside it, one channel per address), and add what a
 * gateway needs on top: the caller's Keystone token passed on as
 * `x-auth-token` metadata, so that the services (once they check tokens)
 * see who asked, and a health check of each service for readiness.
 */
import * as grpc from "@grpc/grpc-js";
import { sleep } from "../../libs/async/limit.js";
import { HealthCheckResponse_ServingStatus, HealthService } from "../../libs/gen/health/v1/health.js";
import { type ClientOptions, Connection } from "../../libs/grpc/client.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import { type RequestOf, type ResponseOf, type ServiceDef, shortMethod } from "../../libs/grpc/types.js";

/** Who is calling, as the HTTP request said. */
export interface Caller {
  /** The X-Auth-Token header, passed on with auth_strategy = keystone. */
  token?: string | undefined;
}

export type Upstream<S extends ServiceDef> = {
  [K in keyof S]: (req: RequestOf<S[K]>, caller: Caller) => Promise<ResponseOf<S[K]>>;
};

const MAX_BACKOFF_MS = 5000;

export class UpstreamConnection {
  private readonly connection: Connection;
  private readonly base: grpc.Client;

  constructor(
    readonly address: string,
    private readonly opts: ClientOptions,
  ) {
    // The channel (keepalive, message sizes, reconnect backoff) is the one every ratemesh client uses.
    this.connection = new Connection(address, opts);
    this.base = new grpc.Client(address, grpc.credentials.createInsecure(), { channelOverride: this.connection.channel });
  }

  /** A typed client of one service; only its unary methods may be called. */
  client<S extends ServiceDef>(def: S): Upstream<S> {
    const out: Record<string, unknown> = {};
    for (const [key, method] of Object.entries(def)) {
      out[key] = (req: unknown, caller: Caller) => this.unary(method, req, caller);
    }
    return out as Upstream<S>;
  }

  /** Whether the service reports SERVING through grpc.health.v1 (false when it cannot be reached). */
  async serving(deadlineSeconds: number): Promise<boolean> {
    try {
      const res = await this.once(HealthService.check, { service: "" }, new grpc.Metadata(), Date.now() + deadlineSeconds * 1000);
      return (res as { status: HealthCheckResponse_ServingStatus }).status === HealthCheckResponse_ServingStatus.SERVING;
    } catch {
      return false;
    }
  }

  close(): void {
    this.base.close();
    this.connection.close();
  }

  private async unary(method: ServiceDef[string], req: unknown, caller: Caller): Promise<unknown> {
    const deadline = Date.now() + this.opts.deadlineSeconds * 1000;
    const metadata = new grpc.Metadata();
    if (caller.token !== undefined) metadata.set("x-auth-token", caller.token);
    const label = shortMethod(method.path);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(method, req, metadata, deadline);
      } catch (err) {
        const remote = toRemote(label, err);
        if (remote.code !== grpc.status.UNAVAILABLE || attempt >= this.opts.retries) throw remote;
        const backoff = Math.min(MAX_BACKOFF_MS, this.opts.retryBackoffSeconds * 1000 * 2 ** attempt);
        const wait = backoff / 2 + Math.random() * (backoff / 2);
        if (Date.now() + wait >= deadline) throw remote;
        await sleep(wait);
      }
    }
  }

  private once(method: ServiceDef[string], req: unknown, metadata: grpc.Metadata, deadline: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.base.makeUnaryRequest(
        method.path,
        method.requestSerialize as (v: unknown) => Buffer,
        method.responseDeserialize,
        req,
        metadata,
        { deadline },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
    });
  }
}

function toRemote(label: string, err: unknown): RemoteCallError {
  if (err instanceof RemoteCallError) return err;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code === "number") return new RemoteCallError(label, e.code, e.details ?? e.message ?? "");
  return new RemoteCallError(label, grpc.status.UNKNOWN, err instanceof Error ? err.message : String(err));
}
