/**
 * What every gRPC server counts, under the names the gRPC ecosystem's
 * server middlewares use (grpc-ecosystem, Go), so that existing dashboards
 * and alerts work: calls started, calls handled by status code, and the
 * handling time. Labels: grpc_type, grpc_service, grpc_method, grpc_code
 * (the Go spelling of the code: OK, InvalidArgument, FailedPrecondition...).
 *
 * Each method's children are bound when the service is registered; a
 * call then costs two counter increments and one histogram observation,
 * with no label lookup.
 */
import { status } from "@grpc/grpc-js";
import { Counter, Histogram, LATENCY_BUCKETS, type Registry } from "../metrics/metrics.js";

const CODE_NAMES: Record<number, string> = {
  [status.OK]: "OK",
  [status.CANCELLED]: "Canceled",
  [status.UNKNOWN]: "Unknown",
  [status.INVALID_ARGUMENT]: "InvalidArgument",
  [status.DEADLINE_EXCEEDED]: "DeadlineExceeded",
  [status.NOT_FOUND]: "NotFound",
  [status.ALREADY_EXISTS]: "AlreadyExists",
  [status.PERMISSION_DENIED]: "PermissionDenied",
  [status.RESOURCE_EXHAUSTED]: "ResourceExhausted",
  [status.FAILED_PRECONDITION]: "FailedPrecondition",
  [status.ABORTED]: "Aborted",
  [status.OUT_OF_RANGE]: "OutOfRange",
  [status.UNIMPLEMENTED]: "Unimplemented",
  [status.INTERNAL]: "Internal",
  [status.UNAVAILABLE]: "Unavailable",
  [status.DATA_LOSS]: "DataLoss",
  [status.UNAUTHENTICATED]: "Unauthenticated",
};

type CallType = "unary" | "server_stream";

/** The bound series of one method. */
export class MethodMetrics {
  private readonly handled: Array<Counter.Internal | undefined> = [];

  constructor(
    private readonly families: ServerMetricFamilies,
    private readonly labels: { grpc_type: CallType; grpc_service: string; grpc_method: string },
    private readonly started: Counter.Internal,
    private readonly seconds: Histogram.Internal<string>,
  ) {
    // OK exists from the start, so that a rate over it has a baseline.
    const ok = families.handled.labels({ ...labels, grpc_code: "OK" });
    ok.inc(0);
    this.handled[status.OK] = ok;
  }

  start(): void {
    this.started.inc();
  }

  /** The call ended with `code` after `seconds`. */
  done(code: number, seconds: number): void {
    let child = this.handled[code];
    if (child === undefined) {
      child = this.families.handled.labels({ ...this.labels, grpc_code: CODE_NAMES[code] ?? String(code) });
      this.handled[code] = child;
    }
    child.inc();
    this.seconds.observe(seconds);
  }
}

export class ServerMetricFamilies {
  readonly started: Counter<string>;
  readonly handled: Counter<string>;
  readonly seconds: Histogram<string>;

  constructor(registry: Registry) {
    const labelNames = ["grpc_type", "grpc_service", "grpc_method"];
    this.started = new Counter({
      name: "grpc_server_started_total",
      help: "RPCs started on the server.",
      labelNames,
      registers: [registry],
    });
    this.handled = new Counter({
      name: "grpc_server_handled_total",
      help: "RPCs completed on the server, whatever their status code.",
      labelNames: [...labelNames, "grpc_code"],
      registers: [registry],
    });
    this.seconds = new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Time from receiving an RPC to sending its answer (the last message of a stream), in seconds.",
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  /** The series of one method, bound now. `path` is "/package.Service/Method". */
  method(path: string, type: CallType): MethodMetrics {
    const slash = path.lastIndexOf("/");
    const labels = { grpc_type: type, grpc_service: path.slice(1, slash), grpc_method: path.slice(slash + 1) };
    return new MethodMetrics(this, labels, this.started.labels(labels), this.seconds.labels(labels));
  }
}
