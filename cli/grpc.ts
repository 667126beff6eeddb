/**
 * The CLI's gRPC connections: libs/grpc/client.ts's Connection (whose
 * typed Client shape it returns), set up for a command line: TLS from the
 * --os-cacert/--os-cert/--os-key files, the caller's token as
 * `x-auth-token` metadata on every call, errors that say which service at
 * which address failed, and fast failure: a person is waiting, so
 * UNAVAILABLE is tried only twice more, briefly.
 */
import * as grpc from "@grpc/grpc-js";
import type { CallOptions, Client } from "../libs/grpc/client.js";
import { Connection } from "../libs/grpc/client.js";
import { RemoteCallError } from "../libs/grpc/status.js";
import { type ServiceDef, shortMethod } from "../libs/grpc/types.js";
import { ServiceCallError } from "./errors.js";
import type { ServiceRole, Settings } from "./settings.js";

const RETRIES = 2;
const RETRY_BACKOFF_SECONDS = 0.15;
/** Streams (an export of a month of data frames) get longer than unary calls. */
const STREAM_DEADLINE_SECONDS = 3600;

export class CliConnection {
  private readonly connection: Connection;

  constructor(
    readonly service: ServiceRole,
    readonly address: string,
    settings: Settings,
  ) {
    const tls = settings.tls;
    this.connection = new Connection(address, {
      deadlineSeconds: settings.deadlineSeconds,
      streamDeadlineSeconds: STREAM_DEADLINE_SECONDS,
      retries: RETRIES,
      retryBackoffSeconds: RETRY_BACKOFF_SECONDS,
      keepaliveSeconds: 30,
      maxMessageBytes: 64 << 20,
      ...(tls === undefined ? {} : { credentials: grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null) }),
      ...(settings.token === undefined ? {} : { metadata: { "x-auth-token": settings.token } }),
    });
  }

  client<S extends ServiceDef>(def: S): Client<S> {
    const typed = this.connection.client(def) as Record<string, (req: unknown, o?: CallOptions) => unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, method] of Object.entries(def)) {
      const call = typed[key] as (req: unknown, o?: CallOptions) => unknown;
      out[key] = method.responseStream
        ? (req: unknown, o?: CallOptions) => this.stream(method.path, call(req, o) as AsyncIterable<unknown>)
        : (req: unknown, o?: CallOptions) =>
            (call(req, o) as Promise<unknown>).catch((err: unknown) => Promise.reject(this.failure(method.path, err)));
    }
    return out as Client<S>;
  }

  close(): void {
    this.connection.close();
  }

  private failure(path: string, err: unknown): unknown {
    if (err instanceof RemoteCallError) return new ServiceCallError(this.service, this.address, shortMethod(path), err.code, err.details);
    return err;
  }

  private async *stream(path: string, source: AsyncIterable<unknown>): AsyncIterable<unknown> {
    try {
      yield* source;
    } catch (err) {
      throw this.failure(path, err);
    }
  }
}
