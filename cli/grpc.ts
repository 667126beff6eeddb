/**
 * The CLI's gRPC connections. Like libs/grpc/client.ts (whose typed Client
 * shape it returns), with what a command line client needs on top: TLS from
 * the --os-cacert/--os-cert/--os-key files, the caller's token as
 * `x-auth-token` metadata on every call, and errors that say which service
 * at which address failed. An unreachable service fails fast: a person is
 * waiting, so UNAVAILABLE is tried only twice more, briefly.
 */
import * as grpc from "@grpc/grpc-js";
import { sleep } from "../libs/async/limit.js";
import type { CallOptions, Client } from "../libs/grpc/client.js";
import { type ServiceDef, shortMethod } from "../libs/grpc/types.js";
import { ServiceCallError } from "./errors.js";
import type { ServiceRole, Settings } from "./settings.js";

const RETRIES = 2;
const RETRY_BACKOFF_MS = 150;
/** Streams (an export of a month of data frames) get longer than unary calls. */
const STREAM_DEADLINE_SECONDS = 3600;

export class CliConnection {
  private readonly base: grpc.Client;

  constructor(
    readonly service: ServiceRole,
    readonly address: string,
    private readonly settings: Settings,
  ) {
    const tls = settings.tls;
    const credentials =
      tls === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
    this.base = new grpc.Client(address, credentials, {
      "grpc.max_receive_message_length": 64 << 20,
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.enable_retries": 0,
    });
  }

  client<S extends ServiceDef>(def: S): Client<S> {
    const out: Record<string, unknown> = {};
    for (const [key, method] of Object.entries(def)) {
      out[key] = method.responseStream
        ? (req: unknown, o?: CallOptions) => this.stream(method, req, o)
        : (req: unknown, o?: CallOptions) => this.unary(method, req, o);
    }
    return out as Client<S>;
  }

  close(): void {
    this.base.close();
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.settings.token !== undefined) md.set("x-auth-token", this.settings.token);
    return md;
  }

  private failure(path: string, err: unknown): ServiceCallError {
    if (err instanceof ServiceCallError) return err;
    const e = err as Partial<grpc.ServiceError>;
    const code = typeof e.code === "number" ? e.code : grpc.status.UNKNOWN;
    const details = typeof e.code === "number" ? (e.details ?? e.message ?? "") : err instanceof Error ? err.message : String(err);
    return new ServiceCallError(this.service, this.address, shortMethod(path), code, details);
  }

  private async unary(method: ServiceDef[string], req: unknown, o: CallOptions | undefined): Promise<unknown> {
    const deadline = Date.now() + (o?.deadlineSeconds ?? this.settings.deadlineSeconds) * 1000;
    const retries = o?.retry === false ? 0 : RETRIES;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.unaryOnce(method, req, deadline);
      } catch (err) {
        const failure = this.failure(method.path, err);
        const wait = RETRY_BACKOFF_MS * 2 ** attempt;
        if (failure.code !== grpc.status.UNAVAILABLE || attempt >= retries || Date.now() + wait >= deadline) throw failure;
        await sleep(wait);
      }
    }
  }

  private unaryOnce(method: ServiceDef[string], req: unknown, deadline: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.base.makeUnaryRequest(
        method.path,
        method.requestSerialize as (v: unknown) => Buffer,
        method.responseDeserialize,
        req,
        this.metadata(),
        { deadline },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
    });
  }

  private async *stream(method: ServiceDef[string], req: unknown, o: CallOptions | undefined): AsyncIterable<unknown> {
    const call = this.base.makeServerStreamRequest(
      method.path,
      method.requestSerialize as (v: unknown) => Buffer,
      method.responseDeserialize,
      req,
      this.metadata(),
      { deadline: Date.now() + (o?.deadlineSeconds ?? STREAM_DEADLINE_SECONDS) * 1000 },
    );
    try {
      for await (const msg of call) yield msg;
    } catch (err) {
      throw this.failure(method.path, err);
    } finally {
      call.cancel();
    }
  }
}
