/**
 * The gateway's gRPC clients of storage, rating and the collector: the
 * connection every ratemesh client uses (libs/grpc/client.ts: deadline,
 * UNAVAILABLE retried with backoff, TLS with the gateway's certificate),
 * with the caller's token passed on as `x-auth-token` metadata on each
 * call (the services authenticate and authorize it: the gateway decides
 * nothing), and a health check of each service for readiness.
 */
import { HealthCheckResponse_ServingStatus, HealthService } from "../../libs/gen/health/v1/health.js";
import { type ClientOptions, Connection } from "../../libs/grpc/client.js";
import type { RequestOf, ResponseOf, ServiceDef } from "../../libs/grpc/types.js";

/** Who is calling, as the HTTP request said. */
export interface Caller {
  /** The token of the request (X-Auth-Token, or Authorization: Bearer), passed on under a token strategy. */
  token?: string | undefined;
}

export type Upstream<S extends ServiceDef> = {
  [K in keyof S]: (req: RequestOf<S[K]>, caller: Caller) => Promise<ResponseOf<S[K]>>;
};

export class UpstreamConnection {
  private readonly connection: Connection;

  constructor(
    readonly address: string,
    opts: ClientOptions,
  ) {
    this.connection = new Connection(address, opts);
  }

  /** A typed client of one service; only its unary methods may be called. */
  client<S extends ServiceDef>(def: S): Upstream<S> {
    const typed = this.connection.client(def) as Record<string, (req: unknown, o: object) => Promise<unknown>>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(def)) {
      const call = typed[key] as (req: unknown, o: object) => Promise<unknown>;
      out[key] = (req: unknown, caller: Caller) =>
        call(req, caller.token === undefined ? {} : { metadata: { "x-auth-token": caller.token } });
    }
    return out as Upstream<S>;
  }

  /** Whether the service reports SERVING through grpc.health.v1 (false when it cannot be reached). */
  async serving(deadlineSeconds: number): Promise<boolean> {
    try {
      const res = await this.connection.client(HealthService).check({ service: "" }, { deadlineSeconds, retry: false });
      return res.status === HealthCheckResponse_ServingStatus.SERVING;
    } catch {
      return false;
    }
  }

  close(): void {
    this.connection.close();
  }
}
