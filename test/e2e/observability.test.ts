/**
 * The mesh as an operator's Prometheus sees it: a real Prometheus
 * (Debian's) scrapes the three services while they catch up the demo data
 * (deploy/local: 3 projects x 72 hourly periods), and PromQL over what it
 * scraped gives exactly what storage reports. Each service's /metrics is
 * clean for `promtool check metrics`, the metric table of
 * deploy/prometheus/README.md is exactly what the services expose, and the
 * rules use no metric that does not exist.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { DEMO_METRICS, eventually, fileCollectSections, type Mesh, REPO_ROOT, startMesh, waitRatedUpTo } from "../support/mesh.js";
import { type PrometheusServer, promQuery, startScrapingPrometheus } from "../support/prometheus.js";

const BEGIN = new Date("2026-11-01T00:00:00Z");
const END = new Date("2026-11-04T00:00:00Z");
const SCOPES = ["acme-prod", "globex-dev", "initech-qa"];
const PERIODS = 3 * 72;
const JOBS = ["ratemesh-storage", "ratemesh-rating", "ratemesh-collector"] as const;

async function demoMesh(t: TestContext): Promise<{ mesh: Mesh; prom: PrometheusServer; points: number }> {
  const usageFile = join(REPO_ROOT, "deploy/local/usage.jsonl");
  const mesh = await startMesh(t, {
    sections: fileCollectSections({ metricsFile: DEMO_METRICS, usageFile, scopes: SCOPES, begin: BEGIN, end: END }),
  });
  const address = (p: { metricsAddress: string | undefined } | undefined) => {
    assert.ok(p?.metricsAddress, "every service serves its metrics");
    return p.metricsAddress;
  };
  const prom = await startScrapingPrometheus({
    "ratemesh-storage": [address(mesh.storage)],
    "ratemesh-rating": [address(mesh.rating)],
    "ratemesh-collector": [address(mesh.collector)],
  });
  t.after(() => prom.stop());
  await waitRatedUpTo(mesh, SCOPES, END);
  const total = await mesh.clients.storage.total({ begin: BEGIN, end: END, filters: [] });
  return { mesh, prom, points: Number(total.points) };
}

async function scrape(address: string | undefined): Promise<string> {
  const res = await fetch(`http://${address}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** name -> type of every family in a scrape. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1] as string, m[2] as string);
  return out;
}

describe("metrics of the mesh, scraped by a real Prometheus", () => {
  it("gives in PromQL exactly the periods committed and points stored that storage reports after the demo catch-up", async (t) => {
    const { mesh, prom, points } = await demoMesh(t);
    assert.ok(points > 0);
    const one = async (q: string) => (await promQuery(prom, q))[0]?.value;
    // The last scrapes of each service may predate the last commits: wait
    // until Prometheus has scraped every service after the catch-up.
    await eventually(
      async () => (await one("sum(ratemesh_storage_points_stored_total)")) === points,
      20_000,
      "Prometheus sees every point stored",
    );
    await eventually(
      async () => (await one("sum(ratemesh_collector_periods_committed_total)")) === PERIODS,
      20_000,
      "every period committed",
    );
    await eventually(async () => (await one("sum(ratemesh_rating_points_rated_total)")) === points, 20_000, "every point rated");
    await eventually(async () => (await one("sum(ratemesh_collector_periods_behind)")) === 0, 20_000, "nothing left behind");
    assert.equal(await one('sum(ratemesh_storage_commits_total{outcome="ok"})'), PERIODS);
    assert.equal(await one('sum(ratemesh_storage_commits_total{outcome!="ok"})'), 0);
    assert.equal(await one("sum(ratemesh_collector_points_collected_total)"), points);
    assert.equal(await one("sum(ratemesh_rating_points_rated_total)"), points);
    assert.equal(await one('sum(grpc_server_handled_total{job="ratemesh-storage",grpc_method="CommitPeriod",grpc_code="OK"})'), PERIODS);
    assert.equal(await one("sum(ratemesh_collector_periods_behind)"), 0);
    assert.equal((await one('sum(ratemesh_collector_source_requests_total{source="file",status="error"})')) ?? 0, 0);
    assert.equal(await one("sum(ratemesh_collector_periods_failed_total)"), 0);
    assert.ok(((await one('sum(ratemesh_collector_source_requests_total{source="file",status="ok"})')) ?? 0) > 0);
    const up = await promQuery(prom, "up");
    assert.deepEqual(up.map((s) => [s.metric.job, s.value]).sort(), JOBS.map((j) => [j, 1]).sort());
    assert.ok(mesh.storage.metricsAddress !== mesh.storage.address);
  });

  it("serves on each service metrics promtool accepts, all of them in the README's table, and only those the rules use", async (t) => {
    const { mesh } = await demoMesh(t);
    const exposed = new Map<string, string>();
    for (const p of [mesh.storage, mesh.rating, mesh.collector]) {
      const text = await scrape(p?.metricsAddress);
      const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      assert.equal(check.status, 0, `${p?.service}: ${check.stdout}${check.stderr}`);
      assert.equal(`${check.stdout}${check.stderr}`.trim(), "", `${p?.service}: promtool has remarks`);
      for (const [name, type] of families(text)) if (/^(ratemesh_|grpc_server_)/.test(name)) exposed.set(name, type);
    }
    // The README's table: | `name` | type | labels | meaning |
    const readme = readFileSync(join(REPO_ROOT, "deploy/prometheus/README.md"), "utf8");
    const documented = new Map<string, string>();
    for (const m of readme.matchAll(/^\| `((?:ratemesh|grpc_server)_[a-z_]+)` \| (\w+) \|/gm))
      documented.set(m[1] as string, m[2] as string);
    assert.deepEqual([...documented].sort(), [...exposed].sort());
    // Every metric the rules name exists (a typo would make an alert that never fires).
    for (const file of ["alerts.yml", "recording.yml"]) {
      const text = readFileSync(join(REPO_ROOT, "deploy/prometheus", file), "utf8");
      for (const m of text.matchAll(/(?<![:\w])((?:ratemesh|grpc_server)_\w+)/g)) {
        const name = (m[1] as string).replace(/_(bucket|count|sum)$/, "");
        assert.ok(exposed.has(name), `${file}: ${m[1]} is not a metric any service exposes`);
      }
    }
  });
});
