/**
 * Traces across the mesh: with [tracing] endpoint set, the three processes
 * send their spans to an OTLP/HTTP receiver (one this test runs on a free
 * loopback port), and a catch-up unit is one trace: the collector's
 * catch-up and collect spans, rating's Rate and storage's CommitPeriod
 * server spans, each a child of the collector's call. The log lines
 * written in the unit carry its trace id.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { METRICS_YML, PERIOD, workloadEnd, writeWorkload } from "../support/cluster.js";
import { eventually, fileCollectSections, startMesh, tempDir } from "../support/mesh.js";

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  arrayValue?: { values: OtlpValue[] };
}

interface Span {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

const SERVER = 2;
const CLIENT = 3;

/** Ids come as hex in OTLP/JSON; base64 (the protobuf JSON mapping) is accepted too. */
function hexId(id: string | undefined): string {
  if (id === undefined || id === "") return "";
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, "base64").toString("hex");
}

function plain(v: OtlpValue): unknown {
  if (v.arrayValue !== undefined) return v.arrayValue.values.map(plain);
  return v.stringValue ?? (v.intValue === undefined ? v.boolValue : Number(v.intValue));
}

/** An OTLP/HTTP (JSON) trace receiver on a free loopback port, keeping every span. */
async function startReceiver(t: TestContext): Promise<{ endpoint: string; spans: Span[] }> {
  const spans: Span[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url !== "/v1/traces" || !String(req.headers["content-type"]).startsWith("application/json")) {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: OtlpValue }> };
          scopeSpans: Array<{ spans: Array<Record<string, unknown>> }>;
        }>;
      };
      for (const rs of body.resourceSpans) {
        const service = String(plain(rs.resource.attributes.find((a) => a.key === "service.name")?.value ?? {}));
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            const attrs = (s.attributes as Array<{ key: string; value: OtlpValue }>) ?? [];
            spans.push({
              service,
              traceId: hexId(s.traceId as string),
              spanId: hexId(s.spanId as string),
              parentSpanId: hexId(s.parentSpanId as string | undefined),
              name: String(s.name),
              kind: Number(s.kind),
              attributes: Object.fromEntries(attrs.map((a) => [a.key, plain(a.value)])),
            });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return { endpoint: `http://127.0.0.1:${port}`, spans };
}

describe("traces across the mesh", () => {
  it("makes each catch-up unit one trace over the collector, rating and storage, and its log lines carry the trace id", async (t) => {
    const receiver = await startReceiver(t);
    const dir = tempDir(t);
    const workload = { scopes: ["p-a", "p-b"], begin: new Date("2026-04-01T00:00:00Z"), periods: 6 };
    const { file } = writeWorkload(dir, workload);
    writeFileSync(join(dir, "metrics.yml"), METRICS_YML);
    const end = workloadEnd(workload);
    const mesh = await startMesh(t, {
      sections: {
        ...fileCollectSections({
          metricsFile: join(dir, "metrics.yml"),
          usageFile: file,
          scopes: workload.scopes,
          begin: workload.begin,
          end,
          period: PERIOD,
          batchPeriods: 2,
        }),
        tracing: { endpoint: receiver.endpoint },
        log: { level: "debug" },
      },
    });
    const spans = receiver.spans;
    const commits = () => spans.filter((s) => s.service === "ratemesh-storage" && s.name === "ratemesh.v1.StorageService/CommitPeriod");
    // Each process sends its spans about every second, on its own: wait until every period's
    // CommitPeriod is in, and every call the collector made has its server side.
    const calls = () => spans.filter((s) => s.kind === CLIENT && /\/(Rate|CommitPeriod)$/.test(s.name));
    await eventually(
      async () =>
        commits().length >= workload.scopes.length * workload.periods &&
        calls().every((c) => spans.some((s) => s.parentSpanId === c.spanId)),
      30_000,
      "a CommitPeriod span per period, and a server span for every call",
    );

    const units = spans.filter((s) => s.service === "ratemesh-collector" && s.name === "catch-up");
    assert.ok(units.length >= 1);
    for (const unit of units) assert.equal(unit.parentSpanId, "", "a unit starts its own trace");
    const unitOf = new Map(units.map((u) => [u.traceId, u]));
    const byId = new Map(spans.map((s) => [s.spanId, s]));

    const rated = spans.filter((s) => s.service === "ratemesh-rating" && s.name === "ratemesh.v1.RatingService/Rate");
    assert.ok(rated.length >= 1);
    for (const server of [...rated, ...commits()]) {
      assert.equal(server.kind, SERVER);
      assert.ok(unitOf.has(server.traceId), `${server.service} ${server.name}: in a catch-up unit's trace`);
      const caller = byId.get(server.parentSpanId);
      assert.equal(caller?.service, "ratemesh-collector", `${server.name}: its parent is the collector's call`);
      assert.equal(caller?.kind, CLIENT);
      assert.equal(caller?.name, server.name);
    }
    const commit = commits()[0];
    assert.ok(commit !== undefined);
    assert.ok(workload.scopes.includes(String(commit.attributes["ratemesh.scope_id"])));
    assert.match(String(commit.attributes["ratemesh.period.begin"]), /^2026-04-01T/);
    assert.ok(Number(commit.attributes["ratemesh.points"]) > 0);
    assert.ok(Number(rated[0]?.attributes["ratemesh.points"]) > 0);
    const collects = spans.filter((s) => s.name === "collect" && unitOf.has(s.traceId));
    assert.deepEqual([...new Set(collects.map((s) => s.attributes["ratemesh.metric"]))].sort(), ["cpu", "volume.size"]);
    // One trace holds spans of the three processes.
    const services = (traceId: string) => new Set(spans.filter((s) => s.traceId === traceId).map((s) => s.service));
    assert.ok(units.some((u) => services(u.traceId).size === 3));

    // The unit's log lines in the collector and storage carry its trace id.
    const progress = mesh.collector?.logs().filter((l) => l.msg === "catch-up progress") ?? [];
    assert.ok(progress.length >= 1);
    for (const l of progress) assert.ok(unitOf.has(String(l.trace_id)), "a progress line carries its unit's trace id");
    const accepted = mesh.storage.logs().filter((l) => l.msg === "commit accepted");
    assert.equal(accepted.length, workload.scopes.length * workload.periods);
    for (const l of accepted) assert.ok(unitOf.has(String(l.trace_id)), "storage's commit line carries the unit's trace id");
    // Outside any trace (start-up), lines carry none.
    assert.equal(mesh.storage.logs().find((l) => l.msg === "listening")?.trace_id, undefined);
  });
});
