/**
 * Batch collection on a real Gnocchi is exactly per-period collection:
 * for every metric shape (first aggregate with force_granularity, every
 * granularity, rate: re-aggregations with and without the start moved
 * back, custom queries, use_all_resource_revisions = false, metadata with
 * resources that start and end inside the window, a resource_key shared by
 * several resources, a metric nobody has), collectBatch over 24 hourly
 * periods and 4 scopes gives, point for point, what collect gives for each
 * scope and period, with a fraction of the requests.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  type GnocchiServer,
  type Measure,
  pushMeasures,
  setupCloudKittyTypes,
  startGnocchi,
  waitProcessed,
} from "../../../test/support/gnocchi.js";
import { seededRandom } from "../../../test/support/random.js";
import { type MetricConfig, parseMetrics } from "../metrics.js";
import { GnocchiClient } from "../sources/gnocchi.js";
import { HttpSource } from "../sources/http.js";
import { type BatchResult, collectBatchByPeriod, type RawMeasure, toDataPoint } from "./collector.js";
import { GnocchiCollector } from "./gnocchi.js";
import { gnocchiExtraArgs } from "./gnocchi-query.js";

const DAY = Date.parse("2026-04-02T00:00:00Z");
const HOUR = 3_600_000;
const iso = (t: number) => new Date(t).toISOString();

let g: GnocchiServer;
const scopes = [`a-${randomUUID()}`, `b-${randomUUID()}`, `c-${randomUUID()}`, `nobody-${randomUUID()}`];

/** A small deterministic generator, so a failure can be replayed. */
before(async () => {
  g = await startGnocchi({ maxLimit: 3 });
  await setupCloudKittyTypes(g);
  const rnd = seededRandom(20260402);
  const batch: Record<string, Record<string, Measure[]>> = {};
  const create = async (type: string, project: string, attrs: Record<string, unknown>, metricsOf: string[]) => {
    const id = randomUUID();
    await g.api("POST", `/v1/resource/${type}`, {
      id,
      project_id: project,
      user_id: "u-default",
      started_at: iso(DAY - 48 * HOUR),
      ...attrs,
      metrics: Object.fromEntries(metricsOf.map((m) => [m, { archive_policy_name: "ratemesh" }])),
    });
    return id;
  };
  // Measures every 5 minutes (some at odd seconds), from an hour before the
  // window to its end, with gaps: whole hours missing and random holes.
  const series = (counter: boolean, gapHours: number[]): Measure[] => {
    const out: Measure[] = [];
    let total = Math.floor(rnd() * 1000);
    for (let t = DAY - HOUR; t < DAY + 24 * HOUR; t += 5 * 60_000) {
      if (gapHours.includes(Math.floor((t - DAY) / HOUR)) || rnd() < 0.15) continue;
      const offset = rnd() < 0.2 ? Math.floor(rnd() * 290) * 1000 : 0;
      if (counter) total += Math.floor(rnd() * 5000) / 8;
      out.push({ timestamp: iso(t + offset), value: counter ? total : Math.round(rnd() * 100_000) / 1000 });
    }
    return out;
  };
  for (const [n, project] of scopes.slice(0, 3).entries()) {
    const i1 = await create("instance", project, { flavor_name: "m1.small", user_id: "u1" }, ["cpu"]);
    const i2 = await create("instance", project, { flavor_name: "m1.big", user_id: "u1", ended_at: iso(DAY + 10.5 * HOUR) }, ["cpu"]);
    const i3 = await create("instance", project, { flavor_name: "m1.tiny", user_id: "u2", started_at: iso(DAY + 6 * HOUR) }, ["cpu"]);
    batch[i1] = { cpu: series(false, [3]) };
    batch[i2] = { cpu: series(false, [n + 1]) };
    batch[i3] = { cpu: series(false, []) };
    for (let k = 0; k < 2; k++) {
      const nic = await create("instance_network_interface", project, { instance_id: i1 }, ["network.outgoing.bytes"]);
      batch[nic] = { "network.outgoing.bytes": series(true, [5 + k, 17]) };
    }
    const vol = await create("volume", project, { volume_type: "ssd" }, ["volume.size"]);
    batch[vol] = { "volume.size": series(false, [20, 21]) };
  }
  await pushMeasures(g, batch);
  await waitProcessed(g);
});

after(async () => {
  await g?.stop();
});

const METRICS = parseMetrics(
  `
metrics:
  cpu:
    - unit: instance
      alt_name: first_of_window
      factor: 1/3
      mutate: CEIL
      groupby: [id, user_id]
      metadata: [flavor_name]
      extra_args: {resource_type: instance, force_granularity: 300, aggregation_method: max}
    - unit: instance
      alt_name: hourly_mean_by_user
      groupby: [user_id]
      metadata: [flavor_name]
      extra_args: {resource_type: instance, aggregation_method: mean, re_aggregation_method: sum, resource_key: user_id}
    - unit: instance
      alt_name: custom_pointwise
      groupby: [id]
      extra_args:
        resource_type: instance
        force_granularity: 300
        custom_query: "(* (aggregate RE_AGGREGATION_METHOD (metric METRIC_NAME AGGREGATION_METHOD)) -2)"
    - unit: instance
      alt_name: custom_not_pointwise
      groupby: [id]
      extra_args:
        resource_type: instance
        force_granularity: 300
        custom_query: "(rateofchange (aggregate RE_AGGREGATION_METHOD (metric METRIC_NAME AGGREGATION_METHOD)))"
    - unit: instance
      alt_name: latest_revision
      groupby: [id, revision_start]
      extra_args: {resource_type: instance, force_granularity: 300, use_all_resource_revisions: false}
  network.outgoing.bytes:
    - unit: B
      alt_name: rate_shifted
      groupby: [id]
      metadata: [instance_id]
      extra_args: {resource_type: instance_network_interface, re_aggregation_method: "rate:max", force_granularity: 300}
    - unit: B
      alt_name: rate_all_granularities
      groupby: [instance_id]
      extra_args: {resource_type: instance_network_interface, re_aggregation_method: "rate:sum", force_granularity: 0}
  volume.size:
    unit: GiB
    groupby: [id]
    metadata: [volume_type]
    extra_args: {resource_type: volume, aggregation_method: mean, force_granularity: 0}
  nobody.has.this:
    unit: u
    extra_args: {resource_type: instance}
`,
  "metrics.yml",
  { scopeKey: "project_id", extraArgs: gnocchiExtraArgs },
);

function collector(): GnocchiCollector {
  const http = new HttpSource({ name: "Gnocchi", connections: 8, timeoutSeconds: 30, retries: 2, retryBackoffSeconds: 0.05 });
  return new GnocchiCollector(new GnocchiClient(http, { kind: "basic", endpoint: g.url, user: "admin" }), {
    scopeKey: "project_id",
    periodSeconds: 3600,
  });
}

/** A batch result as comparable text: scope -> period -> sorted points with quantities after the pipeline. */
function canonical(metric: MetricConfig, r: BatchResult): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const [scope, byPeriod] of r.measures) {
    out[scope] = {};
    for (const [p, list] of byPeriod) {
      (out[scope] as Record<string, string[]>)[iso(p)] = list
        .map((m: RawMeasure) => toDataPoint(metric, m))
        .map((d) => JSON.stringify([d.qty, d.groupby, d.metadata]))
        .sort();
    }
  }
  for (const [scope, err] of r.errors) out[scope] = { error: [err.message] };
  return out;
}

function count(r: BatchResult): number {
  let n = 0;
  for (const byPeriod of r.measures.values()) for (const list of byPeriod.values()) n += list.length;
  return n;
}

describe("Gnocchi batch collection", () => {
  const query = (metric: MetricConfig) => ({
    metric,
    scopeIds: scopes,
    begin: new Date(DAY),
    end: new Date(DAY + 24 * HOUR),
    periodSeconds: 3600,
  });

  for (const metric of METRICS) {
    it(`${metric.key}: the batch equals per-period collection, point for point`, async () => {
      const c = collector();
      try {
        const r0 = c.client.requests;
        const batch = await c.collectBatch(query(metric));
        const batchRequests = c.client.requests - r0;
        const reference = await collectBatchByPeriod(c, query(metric), 8);
        const periodRequests = c.client.requests - r0 - batchRequests;
        assert.deepEqual(canonical(metric, batch), canonical(metric, reference));
        assert.equal(batch.errors.size, 0);
        assert.equal(batch.measures.size, scopes.length);
        for (const byPeriod of batch.measures.values()) assert.equal(byPeriod.size, 24);
        if (metric.name === "nobody.has.this") {
          assert.equal(count(batch), 0);
        } else {
          // Enough data that an empty batch could not pass for a right one.
          assert.ok(count(batch) >= 3 * 20, `${count(batch)} points`);
        }
        if (metric.altName !== "custom_not_pointwise") {
          // One aggregates request for every scope and period, plus the
          // resource pages when there is metadata; per period it is 96+.
          assert.ok(batchRequests <= 1 + (metric.metadata.length > 0 ? 7 : 0), `batch used ${batchRequests} requests`);
          assert.ok(periodRequests >= 96, `per period used ${periodRequests} requests`);
        }
      } finally {
        await c.close();
      }
    });
  }

  it("keeps one scope's failure from failing the others", async () => {
    // A scope whose instance metric lives under Gnocchi's "low" policy,
    // which has std; the other scopes' "ratemesh" policy has not.
    const other = `std-${randomUUID()}`;
    const id = randomUUID();
    await g.api("POST", "/v1/resource/instance", { id, project_id: other, user_id: "u", metrics: { cpu: { archive_policy_name: "low" } } });
    await pushMeasures(g, { [id]: { cpu: [{ timestamp: iso(DAY + 5 * 60_000), value: 4 }] } });
    await waitProcessed(g);
    const [std] = parseMetrics(
      "metrics:\n  cpu:\n    unit: i\n    groupby: [id]\n    extra_args: {resource_type: instance, aggregation_method: std, force_granularity: 300}\n",
      "m.yml",
      { scopeKey: "project_id", extraArgs: gnocchiExtraArgs },
    ) as [MetricConfig];
    const c = collector();
    try {
      const r = await c.collectBatch({ ...query(std), scopeIds: [scopes[0] as string, other, scopes[3] as string] });
      assert.deepEqual([...r.errors.keys()], [scopes[0]]);
      assert.match(r.errors.get(scopes[0] as string)?.message ?? "", /answered 404: .*Metrics with unknown aggregation/);
      assert.deepEqual([...r.measures.keys()].sort(), [other, scopes[3]].sort());
      // std of a single measure is NaN-free only with several; what matters is it answered.
      assert.equal(r.measures.get(scopes[3] as string)?.size, 24);
    } finally {
      await c.close();
    }
  });
});
