/**
 * The W3C trace context (`traceparent`, `tracestate`) in gRPC metadata: a
 * client call carries the span in force, and a server call continues it,
 * so that one unit of work is one trace across processes. Each call gets a
 * span on both sides, named "<package.Service>/<Method>" with the rpc.*
 * attributes. With tracing off both ends are no-ops.
 */
import { Metadata } from "@grpc/grpc-js";
import { type Context, context, propagation, ROOT_CONTEXT, type TextMapGetter, type TextMapSetter, trace } from "@opentelemetry/api";
import { type Attributes, failed, type Span, SpanKind, startSpan } from "../tracing/tracing.js";

const setter: TextMapSetter<Metadata> = {
  set: (md, key, value) => md.set(key, value),
};

const getter: TextMapGetter<Metadata> = {
  keys: (md) => Object.keys(md.getMap()),
  get: (md, key) => {
    const values = md.get(key);
    return values.length === 0 ? undefined : values.map(String);
  },
};

/** "/ratemesh.v1.X/Method": the span name and rpc.* attributes of a call. */
function rpcAttributes(path: string): { name: string; attributes: Attributes } {
  const slash = path.lastIndexOf("/");
  return {
    name: path.slice(1),
    attributes: { "rpc.system": "grpc", "rpc.service": path.slice(1, slash), "rpc.method": path.slice(slash + 1) },
  };
}

export interface CallSpan {
  readonly span: Span;
  /** The context the call's work runs in (the span in force). */
  readonly context: Context;
  end(code: number, err?: unknown): void;
}

function callSpan(span: Span, parent: Context): CallSpan {
  return {
    span,
    context: trace.setSpan(parent, span),
    end(code, err) {
      span.setAttribute("rpc.grpc.status_code", code);
      if (code !== 0) failed(span, err ?? new Error(`status ${code}`));
      span.end();
    },
  };
}

/** A server call's span, continuing the trace its metadata carries. */
export function serverCallSpan(path: string, metadata: Metadata): CallSpan {
  const parent = propagation.extract(ROOT_CONTEXT, metadata, getter);
  const { name, attributes } = rpcAttributes(path);
  return callSpan(startSpan(name, SpanKind.SERVER, attributes, parent), parent);
}

/** A client call's span (a child of the span in force), with the metadata that carries it. */
export function clientCallSpan(path: string, extra: Attributes | undefined): CallSpan & { metadata: () => Metadata } {
  const parent = context.active();
  const { name, attributes } = rpcAttributes(path);
  const s = callSpan(startSpan(name, SpanKind.CLIENT, extra === undefined ? attributes : { ...attributes, ...extra }, parent), parent);
  return {
    ...s,
    metadata: () => {
      const md = new Metadata();
      propagation.inject(s.context, md, setter);
      return md;
    },
  };
}
