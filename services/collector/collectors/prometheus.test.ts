/**
 * The Prometheus collector and fetcher against a real Prometheus loaded
 * with historic samples: CloudKitty's query shape, quantities under
 * precision 9 half up, groupby overwritten by labels, errors, and batch
 * collection (range queries) equal to per-period instant queries, point for
 * point.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type PrometheusServer, type Sample, startPrometheus } from "../../../test/support/prometheus.js";
import { seededRandom } from "../../../test/support/random.js";
import { PrometheusFetcher, scopesQuery } from "../fetchers/prometheus.js";
import { type MetricConfig, parseMetrics } from "../metrics.js";
import { HttpSource } from "../sources/http.js";
import { PrometheusClient } from "../sources/prometheus.js";
import { type BatchResult, CollectError, collectBatchByPeriod, type RawMeasure, toDataPoint } from "./collector.js";
import { buildQuery, PrometheusCollector, prometheusExtraArgs } from "./prometheus.js";

const DAY = Date.parse("2026-03-12T00:00:00Z");
const HOUR = 3_600_000;
const SCOPES = ["alpha", "beta", 'gam"ma', "nobody"];

function samples(): Sample[] {
  const rnd = seededRandom(7);
  const out: Sample[] = [];
  for (const [n, project] of SCOPES.slice(0, 3).entries()) {
    for (let k = 0; k < 3; k++) {
      let counter = Math.floor(rnd() * 1e6);
      const flavor = k === 2 ? undefined : `m1.${["small", "big"][k]}`;
      for (let t = DAY - HOUR; t < DAY + 24 * HOUR; t += 60_000) {
        const hour = Math.floor((t - DAY) / HOUR);
        if (hour === 3 + n || hour === 4 + k || rnd() < 0.1) continue;
        const labels: Record<string, string> = { project_id: project, id: `vm-${n}-${k}`, ...(flavor ? { flavor } : {}) };
        out.push({ metric: "vm_up", labels, t, value: rnd() < 0.05 ? 0 : 1 });
        counter += Math.floor(rnd() * 100000) / 64;
        out.push({ metric: "net_bytes_total", labels: { project_id: project, id: `nic-${n}-${k}` }, t, value: counter });
        out.push({
          metric: "volume_size",
          labels: { project_id: project, id: `vol-${n}-${k}`, type: "ssd" },
          t,
          value: Math.round(rnd() * 1e7) / 1e3,
        });
      }
    }
  }
  out.push({ metric: "exact", labels: { project_id: "exact", id: "e1", type: "x" }, t: DAY + 10 * 60_000, value: "1234567890123" });
  out.push({ metric: "exact", labels: { project_id: "exact", id: "e2" }, t: DAY + 10 * 60_000, value: "9.9" });
  out.push({ metric: "exact", labels: { project_id: "exact", id: "e3", type: "y" }, t: DAY + 10 * 60_000, value: "10" });
  // Live samples for the fetcher, whose instant query has no time (now).
  const now = Math.floor(Date.now() / 1000) * 1000 - 30_000;
  for (const project of SCOPES.slice(0, 3)) out.push({ metric: "vm_up", labels: { project_id: project, id: "live" }, t: now, value: 1 });
  out.push({ metric: "vm_up", labels: { id: "no-project" }, t: now, value: 1 });
  return out;
}

let prom: PrometheusServer;

before(async () => {
  prom = await startPrometheus(samples());
});

after(async () => {
  await prom?.stop();
});

const parse = (yaml: string) => parseMetrics(yaml, "metrics.yml", { scopeKey: "project_id", extraArgs: prometheusExtraArgs });

function collector(precision?: number): PrometheusCollector {
  const http = new HttpSource({ name: "Prometheus", connections: 4, timeoutSeconds: 30, retries: 2, retryBackoffSeconds: 0.05 });
  return new PrometheusCollector(new PrometheusClient(http, { url: prom.apiUrl }), {
    scopeKey: "project_id",
    ...(precision === undefined ? {} : { precision }),
  });
}

type Point = { qty: string; groupby: Record<string, string>; metadata: Record<string, string> };
const sorted = (list: Point[]) => [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
const points = (metric: MetricConfig, raw: RawMeasure[]) =>
  sorted(raw.map((m) => toDataPoint(metric, m)).map((p) => ({ qty: p.qty, groupby: p.groupby, metadata: p.metadata })));

describe("Prometheus collector", () => {
  it("builds CloudKitty's query", () => {
    const [m] = parse(`
metrics:
  http_requests_total:
    unit: request
    groupby: [foo, bar]
    metadata: [code, instance]
    extra_args: {aggregation_method: avg, range_function: delta, query_function: abs, query_prefix: "(", query_suffix: ") > 0"}
`) as [MetricConfig];
    assert.equal(
      buildQuery(m, 'project_id="p1"', 3600),
      '( avg(abs(delta(http_requests_total{project_id="p1"}[3600s]))) by (foo, bar, project_id, code, instance) ) > 0',
    );
    const [plain] = parse("metrics:\n  up:\n    unit: u\n") as [MetricConfig];
    assert.equal(buildQuery(plain, 'project_id="p1"', 300), 'max(max_over_time(up{project_id="p1"}[300s])) by (project_id)');
  });

  it("computes quantities under precision 9 half up, with groupby overwritten by labels and metadata from labels", async () => {
    const [m, ceil, third] = parse(`
metrics:
  exact:
    - unit: B
      groupby: [id, type]
      metadata: [missing]
    - unit: B
      alt_name: ceiled
      factor: 10
      mutate: CEIL
      groupby: [id]
    - unit: B
      alt_name: third
      factor: 1/3
      offset: 1
      groupby: [id]
`) as [MetricConfig, MetricConfig, MetricConfig];
    const c = collector();
    try {
      const q = { scopeId: "exact", begin: new Date(DAY), end: new Date(DAY + HOUR) };
      assert.equal(
        c.describe({ ...q, metric: m })[0],
        `GET ${prom.apiUrl}/query?query=max%28max_over_time%28exact%7Bproject_id%3D%22exact%22%7D%5B3600s%5D%29%29+by+%28id%2C+type%2C+project_id%2C+missing%29&time=2026-03-12T01%3A00%3A00%2B00%3A00`,
      );
      assert.deepEqual(
        points(m, await c.collect({ ...q, metric: m })),
        sorted([
          // 1234567890123 rounded to 9 digits, as CloudKitty's +Decimal(value).
          { qty: "1234567890000", groupby: { project_id: "exact", id: "e1", type: "x" }, metadata: { missing: "" } },
          // A missing label gives "" (CloudKitty overwrites groupby with the labels).
          { qty: "9.9", groupby: { project_id: "exact", id: "e2", type: "" }, metadata: { missing: "" } },
          { qty: "10", groupby: { project_id: "exact", id: "e3", type: "y" }, metadata: { missing: "" } },
        ]),
      );
      assert.deepEqual(
        points(ceil, await c.collect({ ...q, metric: ceil })).map((p) => p.qty),
        ["12345678900000", "99", "100"].sort(),
      );
      // 10 x 1/3 rounds to 3.33333333 (9 digits), then + 1; 1.23456789E+12 / 3 + 1 stays at 9 digits.
      assert.deepEqual(
        points(third, await c.collect({ ...q, metric: third })).map((p) => p.qty),
        ["4.3", "4.33333333", "411522630000"],
      );
    } finally {
      await c.close();
    }
    // quantity_precision = 0: exact arithmetic instead.
    const exact = collector(0);
    try {
      const q = { scopeId: "exact", begin: new Date(DAY), end: new Date(DAY + HOUR) };
      assert.deepEqual(
        points(m, await exact.collect({ ...q, metric: m })).map((p) => p.qty),
        ["10", "1234567890123", "9.9"],
      );
      assert.deepEqual(
        points(third, await exact.collect({ ...q, metric: third })).map((p) => p.qty),
        // 1/3 is exact to 28 digits (metrics.yml fractions are).
        ["4.29999999999999999999999999967", "4.333333333333333333333333333", "411522630041.9999999999999999588477369959"],
      );
    } finally {
      await exact.close();
    }
  });

  it("fails with Prometheus's error type and message, and on a value that is not finite", async () => {
    const [bad, inf] = parse(`
metrics:
  exact:
    - unit: B
      extra_args: {query_prefix: "sum by (("}
    - unit: B
      alt_name: infinite
      extra_args: {query_suffix: "/ 0"}
`) as [MetricConfig, MetricConfig];
    const c = collector();
    try {
      const q = { scopeId: "exact", begin: new Date(DAY), end: new Date(DAY + HOUR) };
      await assert.rejects(c.collect({ ...q, metric: bad }), (err: unknown) => {
        assert.ok(err instanceof CollectError);
        assert.equal(err.kind, "failed_precondition");
        assert.match(
          err.message,
          /^prometheus: metric exact, scope exact, period \[2026-03-12T00:00:00Z, 2026-03-12T01:00:00Z\): Prometheus GET .* answered 400: bad_data: .*parse error/,
        );
        return true;
      });
      await assert.rejects(
        c.collect({ ...q, metric: inf }),
        /metric exact@#infinite, scope exact, .*the value "\+Inf" .* not a finite number/,
      );
    } finally {
      await c.close();
    }
  });

  const BATCH_METRICS = parse(`
metrics:
  vm_up:
    - unit: instance
      groupby: [id]
      metadata: [flavor]
      mutate: NUMBOOL
    - unit: instance
      alt_name: count_by_flavor
      groupby: [flavor]
      extra_args: {aggregation_method: count}
  net_bytes_total:
    - unit: MB
      factor: 1/1000000
      groupby: [id]
      extra_args: {range_function: rate, aggregation_method: sum}
    - unit: B
      alt_name: net_delta_floor
      groupby: [id]
      extra_args: {range_function: delta, query_function: floor, aggregation_method: max}
  volume_size:
    - unit: GiB
      groupby: [id]
      metadata: [type]
      extra_args: {aggregation_method: avg}
    - unit: GiB
      alt_name: with_suffix
      groupby: [id]
      extra_args: {aggregation_method: min, query_suffix: "> 100"}
`);

  function canonical(metric: MetricConfig, r: BatchResult) {
    const out: Record<string, Record<string, string[]>> = {};
    for (const [scope, byPeriod] of r.measures) {
      out[scope] = {};
      for (const [p, list] of byPeriod) {
        (out[scope] as Record<string, string[]>)[new Date(p).toISOString()] = list
          .map((m) => toDataPoint(metric, m))
          .map((d) => JSON.stringify([d.qty, d.groupby, d.metadata]))
          .sort();
      }
    }
    for (const [scope, err] of r.errors) out[scope] = { error: [err.message] };
    return out;
  }

  for (const metric of BATCH_METRICS) {
    it(`${metric.key}: range-query batches equal per-period instant queries, point for point`, async () => {
      const c = collector();
      try {
        const q = { metric, scopeIds: SCOPES, begin: new Date(DAY), end: new Date(DAY + 24 * HOUR), periodSeconds: 3600 };
        const batch = await c.collectBatch(q);
        const batchRequests = c.client.requests;
        const reference = await collectBatchByPeriod(c, q, 8);
        assert.deepEqual(canonical(metric, batch), canonical(metric, reference));
        assert.equal(batch.errors.size, 0);
        let n = 0;
        for (const byPeriod of batch.measures.values()) {
          assert.equal(byPeriod.size, 24);
          for (const list of byPeriod.values()) n += list.length;
        }
        assert.ok(n >= 40, `${n} points`);
        // One range query for all scopes; one per scope with a suffix; 96 instant queries otherwise.
        assert.equal(batchRequests, metric.altName === "with_suffix" ? SCOPES.length : 1);
        assert.equal(c.client.requests - batchRequests, 96);
      } finally {
        await c.close();
      }
    });
  }
});

describe("Prometheus fetcher", () => {
  it("lists the scope label's values of a metric, with CloudKitty's query", async () => {
    const http = new HttpSource({ name: "Prometheus", connections: 1, timeoutSeconds: 10, retries: 0, retryBackoffSeconds: 0 });
    const f = new PrometheusFetcher(new PrometheusClient(http, { url: prom.url }), {
      metric: "vm_up",
      scopeAttribute: "project_id",
      filters: {},
    });
    try {
      assert.deepEqual(await f.listScopes(), ["alpha", "beta", 'gam"ma']);
      assert.equal(
        scopesQuery({ metric: "vm_up", scopeAttribute: "project_id", filters: { flavor: "m1.big", id: "vm-1-1" } }),
        'max(vm_up{flavor="m1.big", id="vm-1-1"}) by (project_id)',
      );
    } finally {
      await f.close();
    }
  });
});
