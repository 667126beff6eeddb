/**
 * The metrics plumbing: the endpoint serves the registry in a form
 * `promtool check metrics` accepts, the gRPC server counts each call by
 * method and status code with its latency, and the access lines of hot
 * methods go to debug.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { FailedPreconditionError } from "../errors/errors.js";
import { RatingServiceService } from "../gen/ratemesh/v1/rating.js";
import { Connection } from "../grpc/client.js";
import { GrpcServer } from "../grpc/server.js";
import { isCode } from "../grpc/status.js";
import { createLogger } from "../logging/logger.js";
import { type MetricsEndpoint, serveMetrics } from "./endpoint.js";
import { createRegistry } from "./metrics.js";

const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const l of chunk.toString().split("\n")) if (l !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
    done();
  },
});

const registry = createRegistry();
const logger = createLogger({ service: "test", level: "debug", destination: sink });
let server: GrpcServer;
let conn: Connection;
let endpoint: MetricsEndpoint;

before(async () => {
  server = new GrpcServer({ logger, maxMessageBytes: 1 << 20, metrics: registry, hotMethods: ["RatingService/ListModules"] });
  server.add(RatingServiceService, {
    listModules: async () => ({ modules: [] }),
    updateModule: async () => {
      throw new FailedPreconditionError("not now");
    },
  });
  const port = await server.listen("127.0.0.1", 0);
  conn = new Connection(`127.0.0.1:${port}`, {
    deadlineSeconds: 5,
    retries: 0,
    retryBackoffSeconds: 0.01,
    keepaliveSeconds: 30,
    maxMessageBytes: 1 << 20,
  });
  endpoint = await serveMetrics(registry, { host: "127.0.0.1", port: 0 }, logger);
});

after(async () => {
  conn.close();
  await server.shutdown(1);
  await endpoint.close();
});

async function scrape(): Promise<{ text: string; type: string | null }> {
  const res = await fetch(`http://${endpoint.address}/metrics`);
  assert.equal(res.status, 200);
  return { text: await res.text(), type: res.headers.get("content-type") };
}

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("metrics endpoint and gRPC server metrics", () => {
  it("counts every call by method and status code, with its latency", async () => {
    const rating = conn.client(RatingServiceService);
    await rating.listModules({});
    await rating.listModules({});
    await assert.rejects(rating.updateModule({ name: "x" }), (err) => isCode(err, status.FAILED_PRECONDITION));
    await assert.rejects(rating.quote({ scopeId: "s", points: [] }), (err) => isCode(err, status.UNIMPLEMENTED));
    const { text } = await scrape();
    const m = (method: string) => `grpc_service="ratemesh.v1.RatingService",grpc_method="${method}"`;
    assert.equal(value(text, `grpc_server_handled_total{grpc_type="unary",${m("ListModules")},grpc_code="OK"}`), 2);
    assert.equal(value(text, `grpc_server_handled_total{grpc_type="unary",${m("UpdateModule")},grpc_code="FailedPrecondition"}`), 1);
    assert.equal(value(text, `grpc_server_handled_total{grpc_type="unary",${m("Quote")},grpc_code="Unimplemented"}`), 1);
    assert.equal(value(text, `grpc_server_started_total{grpc_type="unary",${m("ListModules")}}`), 2);
    assert.equal(value(text, `grpc_server_handling_seconds_count{grpc_type="unary",${m("ListModules")}}`), 2);
    assert.equal(value(text, `grpc_server_handling_seconds_bucket{le="+Inf",grpc_type="unary",${m("UpdateModule")}}`), 1);
    // A method never called has its OK series at 0 from the start, and no other code.
    assert.equal(value(text, `grpc_server_handled_total{grpc_type="unary",${m("Explain")},grpc_code="OK"}`), 0);
    assert.ok(!text.includes(`${m("Explain")},grpc_code="Unimplemented"`));
  });

  it("serves the process and runtime metrics in a form promtool accepts, and nothing but /metrics", async () => {
    const { text, type } = await scrape();
    assert.match(type ?? "", /^text\/plain; version=0\.0\.4/);
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
    }
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), "");
    assert.equal((await fetch(`http://${endpoint.address}/`)).status, 404);
    assert.equal((await fetch(`http://${endpoint.address}/metrics`, { method: "POST" })).status, 405);
  });

  it("logs the access lines of hot methods at debug, the others at info", () => {
    const rpc = (method: string) => lines.filter((l) => l.msg === "rpc" && l.method === method);
    assert.deepEqual(
      rpc("RatingService/ListModules").map((l) => l.level),
      ["debug", "debug"],
    );
    assert.deepEqual(
      rpc("RatingService/UpdateModule").map((l) => [l.level, l.code]),
      [["info", "FAILED_PRECONDITION"]],
    );
  });
});
