/**
 * Distributed traces with OpenTelemetry: off unless an OTLP/HTTP endpoint
 * is configured. On, each process registers a tracer provider that sends
 * its spans in batches to `<endpoint>/v1/traces`, keeps the active span
 * across awaits (AsyncLocalStorage), and carries the W3C trace context
 * (`traceparent`) in gRPC metadata (see propagation.ts), so that the spans
 * of one unit of work in several processes make one trace.
 *
 * The OpenTelemetry API is a process-wide registry by design: the span in
 * force must follow every async call without being passed by hand, and
 * code that starts spans must not care whether tracing is on. So spans are
 * started through the helpers below, which use that registry; off, they
 * cost a no-op object and nothing is recorded or sent.
 */
import { type Attributes, context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

export type { Attributes, Span };
export { SpanKind };

export interface TracingOptions {
  /** The base URL of an OTLP/HTTP receiver (http://collector:4318); empty: tracing off. */
  endpoint: string;
  serviceName: string;
  /** Share of the traces started in this process that are recorded; calls arriving in a trace follow its decision. */
  sampleRatio: number;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Sends the spans not sent yet and stops. */
  shutdown(): Promise<void>;
}

const TRACER = "ratemesh";

export function startTracing(opts: TracingOptions): Tracing {
  if (opts.endpoint === "") return { enabled: false, shutdown: async () => {} };
  const exporter = new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, "")}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(opts.sampleRatio) }),
    // A second between exports: a trace shows up soon after its work, in few requests.
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return { enabled: true, shutdown: () => provider.shutdown() };
}

export interface SpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
  /** Start a new trace even if a span is in force. */
  root?: boolean;
}

/**
 * Runs fn in a new span (a child of the span in force, unless root), ended
 * when fn settles; a throw marks the span as failed, with the error's
 * message.
 */
export function withSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const options = {
    kind: opts.kind ?? SpanKind.INTERNAL,
    ...(opts.attributes && { attributes: opts.attributes }),
    ...(opts.root && { root: true }),
  };
  return trace.getTracer(TRACER).startActiveSpan(name, options, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Starts a span that the caller ends (for work whose end is a callback); not made the active one. */
export function startSpan(name: string, kind: SpanKind, attributes: Attributes, parent = context.active()): Span {
  return trace.getTracer(TRACER).startSpan(name, { kind, attributes }, parent);
}

/** Marks the span as failed with the error's message. */
export function failed(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** Adds attributes to the span in force (none: nothing happens). */
export function annotate(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** The ids of the span in force, for log lines; undefined outside a recorded span. */
export function traceIds(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const c = span.spanContext();
  if (!span.isRecording() && (c.traceFlags & 1) === 0) return undefined;
  return { trace_id: c.traceId, span_id: c.spanId };
}
