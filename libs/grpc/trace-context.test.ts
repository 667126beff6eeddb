/**
 * Trace context across gRPC: a call made inside a span carries it in its
 * metadata, the server continues the trace, a call the handler makes goes
 * on in the same trace, and the handler's log lines carry the trace id.
 * (Across real processes: test/e2e/tracing.test.ts.)
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { NotFoundError } from "../errors/errors.js";
import { RatingServiceService } from "../gen/ratemesh/v1/rating.js";
import { createLogger } from "../logging/logger.js";
import { withSpan } from "../tracing/tracing.js";
import { type Client, Connection } from "./client.js";
import { GrpcServer } from "./server.js";
import { isCode } from "./status.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register({ propagator: new W3CTraceContextPropagator() });

const lines: Array<Record<string, unknown>> = [];
const logger = createLogger({
  service: "test",
  level: "debug",
  destination: new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n")) if (l !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  }),
});

const OPTS = { deadlineSeconds: 5, retries: 0, retryBackoffSeconds: 0.01, keepaliveSeconds: 30, maxMessageBytes: 1 << 20 };
const servers: GrpcServer[] = [];
const conns: Connection[] = [];
let front: Client<typeof RatingServiceService>;

async function start(handlers: Parameters<GrpcServer["add"]>[1]): Promise<Client<typeof RatingServiceService>> {
  const server = new GrpcServer({ logger, maxMessageBytes: 1 << 20 });
  server.add(RatingServiceService, handlers);
  const port = await server.listen("127.0.0.1", 0);
  servers.push(server);
  const conn = new Connection(`127.0.0.1:${port}`, OPTS);
  conns.push(conn);
  return conn.client(RatingServiceService);
}

before(async () => {
  const back = await start({
    listModules: async () => {
      logger.info("in the back");
      return { modules: [] };
    },
    updateModule: async () => {
      throw new NotFoundError("rating module", "x");
    },
  });
  // The front handler calls the back: a second hop in the same trace.
  front = await start({
    listModules: async () => back.listModules({}, { attributes: { "test.hop": 2 } }),
  });
});

after(async () => {
  for (const c of conns) c.close();
  for (const s of servers) await s.shutdown(1);
  await provider.shutdown();
});

const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe("trace context in gRPC metadata", () => {
  it("makes one trace of a unit of work across two hops, each call a client and a server span", async () => {
    exporter.reset();
    const traceId = await withSpan("unit", { root: true }, async (span) => {
      await front.listModules({}, { attributes: { "test.hop": 1 } });
      return span.spanContext().traceId;
    });
    const spans = exporter.getFinishedSpans();
    assert.ok(
      spans.every((s) => s.spanContext().traceId === traceId),
      "every span in the unit's trace",
    );
    const [unit] = byName(spans, "unit");
    const calls = byName(spans, "ratemesh.v1.RatingService/ListModules");
    assert.equal(calls.length, 4);
    const [client1, client2] = calls
      .filter((s) => s.kind === 2)
      .sort((a, b) => Number(a.attributes["test.hop"]) - Number(b.attributes["test.hop"]));
    const servers = calls.filter((s) => s.kind === 1);
    assert.ok(unit && client1 && client2);
    assert.equal(parentOf(client1), unit.spanContext().spanId);
    const server1 = servers.find((s) => parentOf(s) === client1.spanContext().spanId);
    assert.ok(server1, "the front's server span continues the first call");
    assert.equal(parentOf(client2), server1.spanContext().spanId, "the back call is made inside the front's server span");
    assert.ok(
      servers.some((s) => parentOf(s) === client2.spanContext().spanId),
      "the back's server span continues the second call",
    );
    assert.equal(client1.attributes["rpc.method"], "ListModules");
    assert.equal(client1.attributes["rpc.grpc.status_code"], 0);
    const line = lines.find((l) => l.msg === "in the back");
    assert.equal(line?.trace_id, traceId, "a log line written in a traced call carries the trace id");
  });

  it("marks a failed call's spans as errors with its status code; a call outside a span starts its own trace", async () => {
    exporter.reset();
    const back = conns[0]?.client(RatingServiceService);
    await assert.rejects(back?.updateModule({ name: "x" }) ?? Promise.resolve(), (err) => isCode(err, status.NOT_FOUND));
    const spans = byName(exporter.getFinishedSpans(), "ratemesh.v1.RatingService/UpdateModule");
    assert.equal(spans.length, 2);
    for (const s of spans) {
      assert.equal(s.status.code, 2);
      assert.equal(s.attributes["rpc.grpc.status_code"], status.NOT_FOUND);
    }
    const [a, b] = spans;
    assert.equal(a?.spanContext().traceId, b?.spanContext().traceId);
  });
});
