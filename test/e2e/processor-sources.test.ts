/**
 * The processor against a real network source (Prometheus) made slow or
 * hung by a relay in front of it: ownership survives a collection that
 * lasts several lease TTLs, and a hung collection fails at its deadline, is
 * retried, and does not keep its scopes from the other members forever.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Decimal } from "../../libs/money/decimal.js";
import { commits, memberId, ownersInEtcd, scopesDone, startCluster } from "../support/cluster.js";
import { startFaultRelay } from "../support/faults.js";
import { eventually, tempDir } from "../support/mesh.js";
import { type Sample, startPrometheus } from "../support/prometheus.js";

const BEGIN = Date.parse("2026-08-01T00:00:00Z");
const HOUR = 3_600_000;

const METRICS = `
metrics:
  rm_vcpus:
    unit: vcpu
    groupby: [id]
    extra_args:
      aggregation_method: max
`;

/** One VM per scope, sampled every 5 minutes, with a vCPU count that changes from period to period; and each scope's expected total. */
function samples(scopes: string[], periods: number): { samples: Sample[]; expected: Map<string, Decimal> } {
  const out: Sample[] = [];
  const expected = new Map<string, Decimal>();
  for (const [i, scope] of scopes.entries()) {
    let total = Decimal.ZERO;
    for (let p = 0; p < periods; p++) {
      const vcpus = 1 + ((i + p) % 4);
      // Samples strictly inside the period, so that the instant query at its end sees only this period.
      for (let m = 5; m < 60; m += 5)
        out.push({ metric: "rm_vcpus", labels: { project_id: scope, id: `vm-${i}` }, t: BEGIN + p * HOUR + m * 60_000, value: vcpus });
      total = total.add(Decimal.of(vcpus));
    }
    expected.set(scope, total);
  }
  return { samples: out, expected };
}

describe("processor with a slow or hung source", () => {
  it("keeps ownership through a period whose collection takes 3 x the lease TTL, then releases without error", async (t) => {
    const ttl = 2;
    const scopes = ["slow-1"];
    const { samples: data, expected } = samples(scopes, 2);
    const prom = await startPrometheus(data);
    t.after(() => prom.stop());
    const relay = await startFaultRelay(t, prom.port, { kind: "delay", ms: 3 * ttl * 1000 + 500 });
    const dir = tempDir(t);
    writeFileSync(join(dir, "prom-metrics.yml"), METRICS);
    const cluster = await startCluster(t, {
      workload: { scopes, begin: new Date(BEGIN), periods: 2 },
      collectors: 1,
      ttlSeconds: ttl,
      sections: {
        collect: { collector: "prometheus", metrics_conf: join(dir, "prom-metrics.yml"), batch_periods: 1 },
        collector_prometheus: { prometheus_url: `${relay.url}/api/v1`, timeout: "30s", retries: 0 },
        orchestrator: { collector_request_timeout: "30s" },
      },
    });
    await eventually(async () => (await scopesDone(cluster)) === 1, 60_000, "both periods rated");
    const collector = cluster.collectors[0];
    assert.ok(collector !== undefined);
    // The collector logs a batch just after storage has it: wait for the lines.
    const rated = await collector.waitForLogs((l) => l.msg === "periods rated", 2);
    assert.equal(rated.length, 2);
    for (const r of rated) assert.ok(Number(r.duration_ms) >= 3 * ttl * 1000, `a period took ${r.duration_ms} ms`);
    // Both periods committed under the one ownership taken at the start: it was never lost.
    await eventually(async () => commits(cluster).length === 2, 5000, "audit lines");
    const tokens = new Set(commits(cluster).map((c) => c.token));
    assert.equal(tokens.size, 1, "one fencing token for both periods");
    assert.equal(collector.logs().filter((l) => l.msg === "scopes acquired").length, 1);
    assert.ok(!collector.logs().some((l) => String(l.msg).includes("lease lost")), "the lease was never lost");
    // The cluster has no price list: its points are unpriced, which is warned about by design.
    const unpriced = (l: Record<string, unknown>) => l.msg === "points rated with no price rule in force: stored with price 0";
    assert.ok(
      !collector.logs().some((l) => (l.level === "error" || l.level === "warn") && !unpriced(l)),
      "no other error or warning, release included",
    );
    assert.equal(collector.logs().filter(unpriced).length, 1, "one unpriced warning for the scope, at its first period");
    assert.deepEqual([...(await ownersInEtcd(cluster))], [], "ownership released");
    const total = await cluster.storageClient.total({ begin: new Date(BEGIN), end: new Date(BEGIN + 2 * HOUR), filters: [] });
    assert.ok(Decimal.parse(total.qty).eq(expected.get("slow-1") as Decimal), `qty ${total.qty}`);
  });

  it("a hung source: the period fails at its deadline and is retried, then the member steps back and another rates the scope", async (t) => {
    const scopes = Array.from({ length: 6 }, (_, i) => `hang-${i}`);
    const { samples: data, expected } = samples(scopes, 2);
    const prom = await startPrometheus(data);
    t.after(() => prom.stop());
    const hole = await startFaultRelay(t, prom.port, { kind: "blackhole" });
    const dir = tempDir(t);
    writeFileSync(join(dir, "prom-metrics.yml"), METRICS);
    const cluster = await startCluster(t, {
      workload: { scopes, begin: new Date(BEGIN), periods: 2 },
      collectors: 0,
      ttlSeconds: 2,
      sections: {
        collect: { collector: "prometheus", metrics_conf: join(dir, "prom-metrics.yml"), batch_periods: 2, batch_scopes: 1 },
        // A long HTTP timeout: the period's deadline is what must stop the wait.
        collector_prometheus: { prometheus_url: `${prom.url}/api/v1`, timeout: "300s", retries: 0 },
        orchestrator: { collector_request_timeout: "1.5s" },
      },
    });
    const stuck = await cluster.addCollector({ RATEMESH_COLLECTOR_PROMETHEUS__PROMETHEUS_URL: `${hole.url}/api/v1` });
    const healthy = await cluster.addCollector();
    await eventually(async () => (await scopesDone(cluster)) === scopes.length, 90_000, "every scope rated");

    const stuckId = memberId(stuck);
    const failures = stuck.logs().filter((l) => l.msg === "processing failed; will retry");
    assert.ok(failures.length > 0, "the member behind the hung source failed");
    for (const f of failures) assert.match(String(f.err), /no answer within 1\.5 s/);
    const perScope = new Map<string, number>();
    for (const f of failures) perScope.set(String(f.scope_id), (perScope.get(String(f.scope_id)) ?? 0) + 1);
    assert.ok(
      [...perScope.values()].some((n) => n >= 2),
      "a failed period was retried",
    );
    assert.ok(hole.connections() > 0);

    // The scopes it could not rate were rated by the other member: none stayed stuck with it.
    await eventually(async () => commits(cluster).length === scopes.length * 2, 5000, "audit lines");
    const all = commits(cluster);
    assert.deepEqual(
      all.filter((c) => c.owner === stuckId),
      [],
      "nothing committed through the hung source",
    );
    assert.ok(all.every((c) => c.owner === memberId(healthy)));
    for (const s of perScope.keys()) assert.equal(all.filter((c) => c.scopeId === s).length, 2, `${s}: both periods, once`);
    const { rows, columns } = await cluster.storageClient.summary({
      begin: new Date(BEGIN),
      end: new Date(BEGIN + 2 * HOUR),
      groupBy: ["scope_id"],
      filters: [],
      orderBy: [],
      pageSize: 100,
      pageToken: "",
    });
    for (const r of rows) {
      const scope = r.values[columns.indexOf("scope_id")] ?? "";
      assert.ok(Decimal.parse(r.values[columns.indexOf("qty")] ?? "").eq(expected.get(scope) as Decimal), scope);
    }
  });
});
