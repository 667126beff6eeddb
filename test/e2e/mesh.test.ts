/**
 * The walking skeleton over real gRPC between three processes: health,
 * reflection through buf curl, a usage file rated end to end, and shutdown.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import type { DataFrame } from "../../libs/gen/ratemesh/v1/common.js";
import { Decimal } from "../../libs/money/decimal.js";
import { bufCurl, eventually, type Mesh, startMesh, tempDir, waitServing } from "../support/mesh.js";

const BEGIN = new Date("2026-03-01T00:00:00Z");
const PERIOD = 3600;
const PERIODS = 6;
const SCOPES = ["p-alpha", "p-beta"];

const METRICS = `
metrics:
  cpu:
    unit: instance
    alt_name: instance
    groupby: [id]
    metadata: [flavor]
    mutate: NUMBOOL
  volume.size:
    unit: GiB
    groupby: [id]
    metadata: []
  image.size:
    unit: MiB
    factor: 1/1048576
    groupby: [id]
`;

interface Expected {
  scope: string;
  begin: number;
  type: string;
  id: string;
  qty: string;
}

/** A usage file, and the points it must give (computed here, not by the collector). */
function writeUsage(dir: string): { file: string; expected: Expected[] } {
  const lines: string[] = [];
  const expected: Expected[] = [];
  for (let h = 0; h < PERIODS + 2; h++) {
    const begin = new Date(BEGIN.getTime() + h * PERIOD * 1000);
    const iso = begin.toISOString();
    for (const [si, scope] of SCOPES.entries()) {
      // Two records in the same period, a few seconds apart, both belong to it.
      const cpu = h % 3 === 0 ? 0 : 1000 + h;
      lines.push(
        JSON.stringify({ metric: "cpu", scope_id: scope, begin: iso, qty: cpu, groupby: { id: `vm-${si}` }, metadata: { flavor: "m1" } }),
      );
      lines.push(
        JSON.stringify({
          metric: "volume.size",
          scope_id: scope,
          begin: new Date(begin.getTime() + 5000).toISOString(),
          qty: `${10 + h}.5`,
          groupby: { id: `vol-${si}` },
        }),
      );
      if (scope === "p-beta") {
        lines.push(JSON.stringify({ metric: "image.size", scope_id: scope, begin: iso, qty: 1048576 * (h + 1), groupby: { id: "img" } }));
      }
      if (h >= PERIODS) continue; // beyond [collect] end: must not be rated
      const b = begin.getTime();
      expected.push({ scope, begin: b, type: "instance", id: `vm-${si}`, qty: cpu === 0 ? "0" : "1" });
      expected.push({ scope, begin: b, type: "volume.size", id: `vol-${si}`, qty: `${10 + h}.5` });
      if (scope === "p-beta") expected.push({ scope, begin: b, type: "image.size", id: "img", qty: String(h + 1) });
    }
  }
  const file = join(dir, "usage.jsonl");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { file, expected };
}

async function ratedMesh(t: TestContext): Promise<{ mesh: Mesh; expected: Expected[] }> {
  const dataDir = tempDir(t);
  const metricsFile = join(dataDir, "metrics.yml");
  writeFileSync(metricsFile, METRICS);
  const { file, expected } = writeUsage(dataDir);
  const end = new Date(BEGIN.getTime() + PERIODS * PERIOD * 1000);
  const mesh = await startMesh(t, {
    sections: {
      collect: {
        collector: "file",
        metrics_conf: metricsFile,
        period: PERIOD,
        wait_periods: 0,
        start: BEGIN.toISOString(),
        end: end.toISOString(),
      },
      collector_file: { path: file },
      fetcher: { backend: "source" },
      fetcher_source: { sources: SCOPES.join(", ") },
    },
  });
  await eventually(
    async () => {
      const { scopes } = await mesh.clients.scopes.listScopes({
        scopeIds: [],
        scopeKey: "",
        fetcher: "",
        collector: "",
        pageSize: 0,
        pageToken: "",
      });
      return scopes.length === SCOPES.length && scopes.every((s) => s.state?.getTime() === end.getTime());
    },
    30_000,
    "every scope rated up to [collect] end",
  );
  return { mesh, expected };
}

describe("mesh skeleton", () => {
  it("starts the three services, which report SERVING through grpc.health.v1", async (t) => {
    const d = tempDir(t);
    writeFileSync(join(d, "metrics.yml"), METRICS);
    writeFileSync(join(d, "usage.jsonl"), "");
    const mesh = await startMesh(t, {
      sections: {
        collect: { collector: "file", metrics_conf: join(d, "metrics.yml") },
        collector_file: { path: join(d, "usage.jsonl") },
        fetcher: { backend: "source" },
        fetcher_source: { sources: "p1" },
      },
    });
    for (const p of [mesh.storage, mesh.rating, mesh.collector]) {
      assert.ok(p !== undefined);
      assert.equal(await waitServing(t, p.address), "SERVING");
    }
  });

  it("rates a usage file end to end: storage holds exactly the expected points, once each", async (t) => {
    const { mesh, expected } = await ratedMesh(t);
    // Read everything back through paged ListDataFrames (small pages exercise the tokens).
    const frames: DataFrame[] = [];
    let pageToken = "";
    do {
      const page = await mesh.clients.storage.listDataFrames({
        begin: new Date("2026-01-01T00:00:00Z"),
        end: new Date("2027-01-01T00:00:00Z"),
        filters: [],
        pageSize: 5,
        pageToken,
      });
      frames.push(...page.frames);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");

    const got = frames
      .flatMap((f) =>
        f.points.map((p) => ({
          scope: f.scopeId,
          begin: f.begin?.getTime() ?? -1,
          type: p.type,
          id: p.groupby.id ?? "",
          qty: Decimal.parse(p.qty).normalize().toString(),
        })),
      )
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const want = [...expected].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    assert.deepEqual(got, want);

    // The scope key was added to each point's groupby, metadata kept.
    const cpu = frames[0]?.points.find((p) => p.type === "instance");
    assert.equal(cpu?.groupby.project_id, frames[0]?.scopeId);
    assert.equal(cpu?.metadata.flavor, "m1");

    const total = await mesh.clients.storage.total({ begin: BEGIN, end: new Date(BEGIN.getTime() + 86400_000), filters: [] });
    assert.equal(Number(total.points), expected.length);
    const qtySum = expected.reduce((s, e) => s.add(Decimal.parse(e.qty)), Decimal.ZERO);
    assert.ok(Decimal.parse(total.qty).eq(qtySum), `total qty ${total.qty} = ${qtySum}`);

    // Every period of every scope was committed once: one frame per (scope, period).
    const periods = frames.map((f) => `${f.scopeId}@${f.begin?.toISOString()}`);
    assert.equal(new Set(periods).size, SCOPES.length * PERIODS);
  });

  it("lists every ratemesh service through reflection and calls one RPC of each with buf curl, no proto file", async (t) => {
    const { mesh } = await ratedMesh(t);
    const collector = mesh.collector;
    assert.ok(collector !== undefined);
    const listed = (address: string) =>
      bufCurl(`http://${address}`, undefined, ["--list-services"])
        .stdout.split("\n")
        .filter((s) => s !== "");
    // AuditService: who changed what (the trust boundary), on each service that keeps changes.
    assert.deepEqual(listed(mesh.storage.address), [
      "grpc.health.v1.Health",
      "ratemesh.v1.AuditService",
      "ratemesh.v1.ReprocessService",
      "ratemesh.v1.ScopeService",
      "ratemesh.v1.StorageService",
    ]);
    assert.deepEqual(listed(mesh.rating.address), [
      "grpc.health.v1.Health",
      "ratemesh.v1.AuditService",
      "ratemesh.v1.HashmapService",
      "ratemesh.v1.PriceListService",
      "ratemesh.v1.RatingService",
      "ratemesh.v1.RulesService",
      "ratemesh.v1.SimulationService",
    ]);
    assert.deepEqual(listed(collector.address), ["grpc.health.v1.Health", "ratemesh.v1.CollectorService"]);

    const s = mesh.storage.address;
    const summary = bufCurl(`http://${s}/ratemesh.v1.StorageService/Summary`, {
      begin: BEGIN.toISOString(),
      end: "2026-03-02T00:00:00Z",
      group_by: ["scope_id"],
    });
    assert.equal(summary.code, 0, summary.stderr);
    const table = JSON.parse(summary.stdout) as { columns: string[]; rows: Array<{ values: string[] }> };
    assert.deepEqual(table.columns, ["begin", "end", "qty", "price", "scope_id"]);
    assert.deepEqual(
      table.rows.map((r) => r.values[4]),
      SCOPES,
    );

    const scope = bufCurl(`http://${s}/ratemesh.v1.ScopeService/GetScope`, { scope_id: "p-alpha" });
    assert.equal(scope.code, 0, scope.stderr);
    assert.equal((JSON.parse(scope.stdout) as { scope: { state: string } }).scope.state, "2026-03-01T06:00:00Z");

    const modules = bufCurl(`http://${mesh.rating.address}/ratemesh.v1.RatingService/ListModules`, {});
    assert.equal(modules.code, 0, modules.stderr);
    assert.ok((JSON.parse(modules.stdout) as { modules: Array<{ name: string }> }).modules.some((m) => m.name === "noop"));

    const metrics = bufCurl(`http://${collector.address}/ratemesh.v1.CollectorService/ListMetrics`, {});
    assert.equal(metrics.code, 0, metrics.stderr);
    const keys = (JSON.parse(metrics.stdout) as { metrics: Array<{ key: string }> }).metrics.map((m) => m.key);
    assert.deepEqual(keys, ["cpu@#instance", "image.size", "volume.size"]);

    const collected = bufCurl(`http://${collector.address}/ratemesh.v1.CollectorService/Collect`, {
      scope_id: "p-beta",
      metric: "image.size",
      begin: "2026-03-01T02:00:00Z",
    });
    assert.equal(collected.code, 0, collected.stderr);
    assert.equal((JSON.parse(collected.stdout) as { points: Array<{ qty: string }> }).points[0]?.qty, "3");

    // Services whose bodies come with later work resolve through reflection
    // and answer honestly (UNIMPLEMENTED is gRPC code 12; buf exits 8 x code).
    for (const [address, method] of [
      [s, "ratemesh.v1.ReprocessService/ListTasks"],
      [mesh.rating.address, "ratemesh.v1.HashmapService/ListServices"],
      [mesh.rating.address, "ratemesh.v1.RulesService/ListRules"],
    ] as const) {
      const r = bufCurl(`http://${address}/${method}`, {});
      assert.ok(r.code === 0 || r.code === 8 * 12, `${method}: exit ${r.code} ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /failed to find/);
    }
  });

  it("stops each service cleanly within its grace time on SIGTERM", async (t) => {
    const { mesh } = await ratedMesh(t);
    for (const p of [mesh.collector, mesh.rating, mesh.storage]) {
      assert.ok(p !== undefined);
      const exit = await p.stop("SIGTERM", 20_000);
      assert.equal(exit.code, 0, `${p.service} exit code (${p.stderr.join("\n")})`);
      assert.ok(exit.elapsedMs < 5000, `${p.service} stopped in ${exit.elapsedMs} ms, grace is 5 s`);
      assert.ok(
        p.logs().some((l) => l.msg === "stopped"),
        `${p.service} logged its clean stop`,
      );
    }
  });
});
