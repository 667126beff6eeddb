/**
 * gRPC clients for calls between ratemesh services: promise-based, typed
 * from the generated definitions, a deadline on every call, UNAVAILABLE
 * retried with exponential backoff and jitter inside that deadline, HTTP/2
 * keepalive, and one channel per address shared by every service client.
 *
 * Only UNAVAILABLE is retried: it means the call did not reach a handler
 * (or the connection broke), and every ratemesh RPC that changes state is
 * safe to replay (CommitPeriod is idempotent by design).
 *
 * Each call (all its attempts) is a client span, a child of the span in
 * force, whose W3C trace context goes in the call's metadata.
 *
 * TLS (with a client certificate, reloaded: see tls.ts) and metadata sent
 * on every call (a token) are options of the connection; a call may add
 * its own metadata (the gateway passes each caller's token on).
 */
import * as grpc from "@grpc/grpc-js";
import { sleep } from "../async/limit.js";
import type { Attributes } from "../tracing/tracing.js";
import { RemoteCallError } from "./status.js";
import { type CertificateFiles, channelCredentials } from "./tls.js";
import { clientCallSpan } from "./trace-context.js";
import { type RequestOf, type ResponseOf, type ServiceDef, shortMethod } from "./types.js";

export interface ClientOptions {
  /** Default deadline of a call, retries included. */
  deadlineSeconds: number;
  /** Attempts after the first one, for UNAVAILABLE. */
  retries: number;
  retryBackoffSeconds: number;
  keepaliveSeconds: number;
  maxMessageBytes: number;
  /** TLS: the servers verified, a client certificate presented. Default: plaintext. */
  credentials?: grpc.ChannelCredentials;
  /** Sent with every call (e.g. x-auth-token). */
  metadata?: Readonly<Record<string, string>>;
  /** Default deadline of a server stream. Default: deadlineSeconds. */
  streamDeadlineSeconds?: number;
}

export interface CallOptions {
  deadlineSeconds?: number;
  signal?: AbortSignal;
  /** Default true. */
  retry?: boolean;
  /** Added to the call's span (counts, ids: never payloads). */
  attributes?: Attributes;
  /** Sent with this call, after the connection's own. */
  metadata?: Readonly<Record<string, string>>;
}

export type Client<S extends ServiceDef> = {
  [K in keyof S]: S[K] extends { responseStream: true }
    ? (req: RequestOf<S[K]>, opts?: CallOptions) => AsyncIterable<ResponseOf<S[K]>>
    : (req: RequestOf<S[K]>, opts?: CallOptions) => Promise<ResponseOf<S[K]>>;
};

const MAX_BACKOFF_MS = 5000;

/** A connection to one address, shared by the clients of its services. */
export class Connection {
  readonly channel: grpc.Channel;
  private readonly base: grpc.Client;

  constructor(
    readonly address: string,
    readonly opts: ClientOptions,
  ) {
    const channelOptions: grpc.ChannelOptions = {
      "grpc.max_receive_message_length": opts.maxMessageBytes,
      "grpc.max_send_message_length": opts.maxMessageBytes,
      "grpc.keepalive_time_ms": Math.round(opts.keepaliveSeconds * 1000),
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      // Reconnect quickly after a peer restarts: the retry loop owns backoff.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 2000,
      "grpc.enable_retries": 0,
    };
    const credentials = opts.credentials ?? grpc.credentials.createInsecure();
    this.channel = new grpc.Channel(address, credentials, channelOptions);
    this.base = new grpc.Client(address, credentials, { channelOverride: this.channel });
  }

  /** A typed client of one service over this connection. */
  client<S extends ServiceDef>(def: S): Client<S> {
    const out: Record<string, unknown> = {};
    for (const [key, method] of Object.entries(def)) {
      out[key] = method.responseStream
        ? (req: unknown, o?: CallOptions) => this.stream(method.path, method, req, o)
        : (req: unknown, o?: CallOptions) => this.unary(method.path, method, req, o);
    }
    return out as Client<S>;
  }

  close(): void {
    this.base.close();
  }

  private deadlineOf(o: CallOptions | undefined, stream = false): number {
    const def = stream ? (this.opts.streamDeadlineSeconds ?? this.opts.deadlineSeconds) : this.opts.deadlineSeconds;
    return Date.now() + (o?.deadlineSeconds ?? def) * 1000;
  }

  /** The call's metadata: its trace context, the connection's metadata, then the call's own. */
  private metadataOf(traced: grpc.Metadata, o: CallOptions | undefined): grpc.Metadata {
    for (const extra of [this.opts.metadata, o?.metadata]) {
      if (extra === undefined) continue;
      for (const [k, v] of Object.entries(extra)) traced.set(k, v);
    }
    return traced;
  }

  private async unary(path: string, method: ServiceDef[string], req: unknown, o: CallOptions | undefined): Promise<unknown> {
    const deadline = this.deadlineOf(o);
    const label = shortMethod(path);
    const retries = o?.retry === false ? 0 : this.opts.retries;
    const span = clientCallSpan(path, o?.attributes);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.unaryOnce(path, method, req, this.metadataOf(span.metadata(), o), deadline, o?.signal);
        span.end(grpc.status.OK);
        return res;
      } catch (err) {
        const remote = toRemote(label, err);
        const again = remote.code === grpc.status.UNAVAILABLE && attempt < retries && !o?.signal?.aborted;
        const backoff = Math.min(MAX_BACKOFF_MS, this.opts.retryBackoffSeconds * 1000 * 2 ** attempt);
        const wait = backoff / 2 + Math.random() * (backoff / 2);
        if (!again || Date.now() + wait >= deadline) {
          span.end(remote.code, remote);
          throw remote;
        }
        span.span.addEvent("retry", { "rpc.grpc.status_code": remote.code, attempt: attempt + 1 });
        await sleep(wait, o?.signal).catch((abort: unknown) => {
          span.end(grpc.status.CANCELLED, abort);
          throw abort;
        });
      }
    }
  }

  private unaryOnce(
    path: string,
    method: ServiceDef[string],
    req: unknown,
    metadata: grpc.Metadata,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new RemoteCallError(shortMethod(path), grpc.status.CANCELLED, "cancelled before it started"));
        return;
      }
      const call = this.base.makeUnaryRequest(
        path,
        method.requestSerialize as (v: unknown) => Buffer,
        method.responseDeserialize,
        req,
        metadata,
        { deadline },
        (err, res) => {
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(err);
          else resolve(res);
        },
      );
      const onAbort = () => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private async *stream(path: string, method: ServiceDef[string], req: unknown, o: CallOptions | undefined): AsyncIterable<unknown> {
    const label = shortMethod(path);
    const span = clientCallSpan(path, o?.attributes);
    const call = this.base.makeServerStreamRequest(
      path,
      method.requestSerialize as (v: unknown) => Buffer,
      method.responseDeserialize,
      req,
      this.metadataOf(span.metadata(), o),
      { deadline: this.deadlineOf(o, true) },
    );
    const onAbort = () => call.cancel();
    o?.signal?.addEventListener("abort", onAbort, { once: true });
    let code: number = grpc.status.CANCELLED;
    try {
      for await (const msg of call) yield msg;
      code = grpc.status.OK;
    } catch (err) {
      const remote = toRemote(label, err);
      code = remote.code;
      throw remote;
    } finally {
      span.end(code);
      o?.signal?.removeEventListener("abort", onAbort);
      call.cancel();
    }
  }
}

function toRemote(label: string, err: unknown): RemoteCallError {
  if (err instanceof RemoteCallError) return err;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code === "number") return new RemoteCallError(label, e.code, e.details ?? e.message ?? "");
  return new RemoteCallError(label, grpc.status.UNKNOWN, err instanceof Error ? err.message : String(err));
}

/** The options of a service's connections to the others; `certificates` (clientCertificatesFrom in from-config.ts) make them TLS. */
export function clientOptionsFrom(
  config: {
    client: { deadline: number; retries: number; retry_backoff: number; keepalive_time: number };
    server: { max_message_size: number };
  },
  certificates?: CertificateFiles,
): ClientOptions {
  return {
    deadlineSeconds: config.client.deadline,
    retries: config.client.retries,
    retryBackoffSeconds: config.client.retry_backoff,
    keepaliveSeconds: config.client.keepalive_time,
    maxMessageBytes: config.server.max_message_size,
    ...(certificates === undefined ? {} : { credentials: channelCredentials(certificates) }),
  };
}
