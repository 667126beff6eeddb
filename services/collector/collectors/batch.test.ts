/**
 * The batch API's shape and the file collector's batch: every scope and
 * period present, equal to per-period collection on the demo's usage file,
 * and the fallback for a collector without a batch method.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../../../test/support/mesh.js";
import { loadMetrics } from "../metrics.js";
import { type BatchResult, batchPeriods, type Collector, collectBatch, collectBatchByPeriod, toDataPoint } from "./collector.js";
import { FileCollector } from "./file.js";
import { extraArgsValidator } from "./registry.js";

const metrics = loadMetrics(join(REPO_ROOT, "deploy/local/metrics.yml"), { scopeKey: "project_id", extraArgs: extraArgsValidator("file") });
const usage = () => new FileCollector(join(REPO_ROOT, "deploy/local/usage.jsonl"), "project_id");
const begin = new Date("2026-11-01T00:00:00Z");
const end = new Date("2026-11-04T00:00:00Z");

function text(r: BatchResult, metric: (typeof metrics)[number]): string {
  const out: string[] = [];
  for (const [scope, byPeriod] of [...r.measures].sort(([a], [b]) => a.localeCompare(b))) {
    for (const [p, list] of byPeriod) {
      out.push(`${scope} ${new Date(p).toISOString()} ${list.map((m) => JSON.stringify(toDataPoint(metric, m))).join(" ")}`);
    }
  }
  return out.join("\n");
}

describe("batch collection", () => {
  it("checks the window is whole periods", () => {
    assert.deepEqual(batchPeriods({ begin: new Date(0), end: new Date(3 * 3600_000), periodSeconds: 3600 }), [0, 3600_000, 7200_000]);
    assert.throws(
      () => batchPeriods({ begin: new Date(1000), end: new Date(3600_000), periodSeconds: 3600 }),
      /not whole periods of 3600 s/,
    );
    assert.throws(() => batchPeriods({ begin: new Date(3600_000), end: new Date(3600_000), periodSeconds: 3600 }), /not whole periods/);
  });

  it("file: one pass per scope gives what collect gives for each period", async () => {
    const c = usage();
    const scopes = [...c.scopes(), "nobody"];
    let points = 0;
    for (const metric of metrics) {
      const q = { metric, scopeIds: scopes, begin, end, periodSeconds: 3600 };
      const batch = await c.collectBatch(q);
      assert.equal(text(batch, metric), text(await collectBatchByPeriod(c, q), metric));
      assert.equal(batch.measures.size, scopes.length);
      for (const byPeriod of batch.measures.values()) assert.equal(byPeriod.size, 72);
      for (const byPeriod of batch.measures.values()) for (const list of byPeriod.values()) points += list.length;
    }
    assert.equal(points, 1224);
  });

  it("falls back to one collect per scope and period for a collector without a batch method, with errors per scope", async () => {
    const file = usage();
    const calls: string[] = [];
    const plain: Collector = {
      name: "plain",
      collect: async (q) => {
        calls.push(`${q.scopeId}@${q.begin.toISOString()}`);
        if (q.scopeId === "broken") throw new Error("source refused");
        return file.collect(q);
      },
      describe: () => [],
      close: async () => {},
    };
    const metric = metrics[0] as (typeof metrics)[number];
    const q = { metric, scopeIds: ["acme-prod", "broken"], begin, end: new Date(begin.getTime() + 4 * 3600_000), periodSeconds: 3600 };
    const r = await collectBatch(plain, q);
    assert.deepEqual([...r.measures.keys()], ["acme-prod"]);
    assert.equal(r.errors.get("broken")?.message, "source refused");
    assert.equal(text(r, metric), text(await file.collectBatch({ ...q, scopeIds: ["acme-prod"] }), metric));
    assert.equal(calls.filter((c) => c.startsWith("acme-prod")).length, 4);
  });
});
