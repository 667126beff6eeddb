/**
 * The Gnocchi collector against a real Gnocchi 4.4: known measures pushed,
 * then the exact quantities (after factor, offset and mutate), groupby and
 * metadata collected, CloudKitty's query rules (first aggregate of the
 * window, rate: re-aggregation, granularities), paging of the resource
 * search, "metric not found" as no data, and errors that name what failed.
 * One Gnocchi for the file; each test has its own project ids.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type GnocchiServer, pushMeasures, setupCloudKittyTypes, startGnocchi, waitProcessed } from "../../../test/support/gnocchi.js";
import { type MetricConfig, parseMetrics } from "../metrics.js";
import { GnocchiClient } from "../sources/gnocchi.js";
import { HttpSource } from "../sources/http.js";
import { CollectError, type RawMeasure, toDataPoint } from "./collector.js";
import { GnocchiCollector } from "./gnocchi.js";
import { gnocchiExtraArgs } from "./gnocchi-query.js";

let g: GnocchiServer;

before(async () => {
  // A page of 3 resources at most, so a handful of resources needs paging.
  g = await startGnocchi({ maxLimit: 3 });
  await setupCloudKittyTypes(g);
});

after(async () => {
  await g?.stop();
});

function metrics(yaml: string): MetricConfig[] {
  return parseMetrics(yaml, "metrics.yml", { scopeKey: "project_id", extraArgs: gnocchiExtraArgs });
}

function collector(opts: { url?: string; retries?: number; connections?: number } = {}): GnocchiCollector {
  const http = new HttpSource({
    name: "Gnocchi",
    connections: opts.connections ?? 4,
    timeoutSeconds: 10,
    retries: opts.retries ?? 2,
    retryBackoffSeconds: 0.01,
  });
  return new GnocchiCollector(new GnocchiClient(http, { kind: "basic", endpoint: opts.url ?? g.url, user: "admin" }), {
    scopeKey: "project_id",
    periodSeconds: 3600,
  });
}

const T0 = Date.parse("2026-03-10T00:00:00Z");
const at = (hours: number, minutes = 0) => new Date(T0 + hours * 3_600_000 + minutes * 60_000);
const iso = (d: Date) => d.toISOString();

async function resource(type: string, project: string, attrs: Record<string, unknown>, metricNames: string[]): Promise<string> {
  const id = randomUUID();
  await g.api("POST", `/v1/resource/${type}`, {
    id,
    project_id: project,
    user_id: "u1",
    started_at: iso(at(-48)),
    ...attrs,
    metrics: Object.fromEntries(metricNames.map((m) => [m, { archive_policy_name: "ratemesh" }])),
  });
  return id;
}

function points(metric: MetricConfig, raw: RawMeasure[]) {
  return raw
    .map((m) => toDataPoint(metric, m))
    .map((p) => ({ qty: p.qty, groupby: p.groupby, metadata: p.metadata }))
    .sort((a, b) => JSON.stringify(a.groupby).localeCompare(JSON.stringify(b.groupby)));
}

describe("Gnocchi collector", () => {
  // Gnocchi stores numeric attributes as floats: vcpus comes back as 2.0, and stays that text.
  it("gives the first aggregate of each group, converted and mutated in exact decimals, with groupby and metadata", async () => {
    const project = `p-${randomUUID()}`;
    const i1 = await resource("instance", project, { flavor_name: "m1.small", vcpus: 2 }, ["cpu"]);
    const i2 = await resource("instance", project, { flavor_name: "m1.big", vcpus: 8 }, ["cpu"]);
    const img = await resource("image", project, { disk_format: "qcow2" }, ["image.size"]);
    await pushMeasures(g, {
      [i1]: {
        cpu: [
          { timestamp: iso(at(1)), value: 9.9 },
          { timestamp: iso(at(1, 5)), value: 0.1 },
          { timestamp: iso(at(1, 40)), value: 7 },
        ],
      },
      [i2]: { cpu: [{ timestamp: iso(at(1, 10)), value: 0.25 }] },
      [img]: { "image.size": [{ timestamp: iso(at(1, 30)), value: 2147483648 }] },
    });
    await waitProcessed(g);
    const [cpuCeil, cpuNumbool, image] = metrics(`
metrics:
  cpu:
    - unit: instance
      alt_name: cpu_ceil
      factor: 10
      mutate: CEIL
      groupby: [id, user_id]
      metadata: [flavor_name, vcpus, missing_attr]
      extra_args: {resource_type: instance, force_granularity: 300}
    - unit: instance
      alt_name: instance
      mutate: NUMBOOL
      groupby: [id]
      extra_args: {resource_type: instance, force_granularity: 300, aggregation_method: max}
  image.size:
    unit: MiB
    factor: 1/1048576
    offset: 0.5
    groupby: [id]
    metadata: [disk_format]
    extra_args: {resource_type: image, aggregation_method: mean}
`) as [MetricConfig, MetricConfig, MetricConfig];
    const c = collector();
    try {
      const q = { scopeId: project, begin: at(1), end: at(2) };
      // 9.9 x 10 is exactly 99 in decimals (CloudKitty's float path makes it 100).
      assert.deepEqual(
        points(cpuCeil, await c.collect({ ...q, metric: cpuCeil })),
        [
          {
            qty: "99",
            groupby: { id: i1, user_id: "u1", project_id: project },
            metadata: { flavor_name: "m1.small", vcpus: "2.0", missing_attr: "" },
          },
          {
            qty: "3",
            groupby: { id: i2, user_id: "u1", project_id: project },
            metadata: { flavor_name: "m1.big", vcpus: "8.0", missing_attr: "" },
          },
        ].sort((a, b) => JSON.stringify(a.groupby).localeCompare(JSON.stringify(b.groupby))),
      );
      assert.deepEqual(
        points(cpuNumbool, await c.collect({ ...q, metric: cpuNumbool })).map((p) => p.qty),
        ["1", "1"],
      );
      // Hourly granularity (the default force_granularity 3600): 2 GiB in MiB, plus the offset.
      assert.deepEqual(points(image, await c.collect({ ...q, metric: image })), [
        { qty: "2048.5", groupby: { id: img, project_id: project }, metadata: { disk_format: "qcow2" } },
      ]);
      // The next hour has no measures: no points.
      assert.deepEqual(await c.collect({ scopeId: project, begin: at(2), end: at(3), metric: cpuCeil }), []);
    } finally {
      await c.close();
    }
  });

  it("sends CloudKitty's aggregates query and pages the resource search by marker", async () => {
    const project = `p-${randomUUID()}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await resource("volume", project, { volume_type: `type-${i}` }, ["volume.size"]));
    await pushMeasures(g, Object.fromEntries(ids.map((id, i) => [id, { "volume.size": [{ timestamp: iso(at(5, 7)), value: i + 1 }] }])));
    await waitProcessed(g);
    const [volume] = metrics(`
metrics:
  volume.size:
    unit: GiB
    groupby: [id]
    metadata: [volume_type]
    extra_args: {resource_type: volume}
`) as [MetricConfig];
    const c = collector();
    try {
      const q = { metric: volume, scopeId: project, begin: at(5), end: at(6) };
      const [aggregates, search] = await c.describe(q);
      assert.equal(
        aggregates,
        `POST ${g.url}/v1/aggregates?start=2026-03-10T05%3A00%3A00%2B00%3A00&stop=2026-03-10T06%3A00%3A00%2B00%3A00&granularity=3600&use_history=true&groupby=id&groupby=project_id ` +
          `{"operations":["aggregate","max",["metric","volume.size","max"]],"search":{"and":[{"=":{"type":"volume"}},{"=":{"project_id":"${project}"}}]},"resource_type":"volume"}`,
      );
      assert.match(
        search ?? "",
        new RegExp(
          `^POST ${g.url}/v1/search/resource/volume\\?sort=id%3Aasc&attrs=id&attrs=project_id&attrs=started_at&attrs=ended_at&attrs=volume_type ` +
            `\\{"and":\\[\\{"or":\\[\\{"=":\\{"ended_at":null\\}\\},\\{">=":\\{"ended_at":"2026-03-10T04:00:00\\+00:00"\\}\\}\\]\\},\\{"<=":\\{"started_at":"2026-03-10T07:00:00\\+00:00"\\}\\},\\{"=":\\{"project_id":"${project}"\\}\\}\\]\\}`,
        ),
      );
      const before = c.client.requests;
      const got = points(volume, await c.collect(q));
      // One aggregates request, then 7 resources in pages of 3: 3 pages.
      assert.equal(c.client.requests - before, 4);
      assert.deepEqual(
        got.map((p) => [p.groupby.id, p.qty, p.metadata.volume_type]).sort(),
        ids.map((id, i) => [id, String(i + 1), `type-${i}`]).sort(),
      );
    } finally {
      await c.close();
    }
  });

  it("skips measures whose resource is not alive around the period, as CloudKitty does", async () => {
    const project = `p-${randomUUID()}`;
    const alive = await resource("volume", project, { volume_type: "a" }, ["volume.size"]);
    const ended = await resource("volume", project, { volume_type: "b", ended_at: iso(at(2)) }, ["volume.size"]);
    await pushMeasures(g, {
      [alive]: { "volume.size": [{ timestamp: iso(at(8)), value: 10 }] },
      [ended]: { "volume.size": [{ timestamp: iso(at(8)), value: 20 }] },
    });
    await waitProcessed(g);
    const [volume, noMeta] = metrics(`
metrics:
  volume.size:
    - unit: GiB
      groupby: [id]
      metadata: [volume_type]
      extra_args: {resource_type: volume}
    - unit: GiB
      alt_name: volume_nometa
      groupby: [id]
      extra_args: {resource_type: volume}
`) as [MetricConfig, MetricConfig];
    const c = collector();
    try {
      const q = { scopeId: project, begin: at(8), end: at(9) };
      // The resource search looks one period around [8h, 9h): an ended_at of 2h is out.
      assert.deepEqual(
        points(volume, await c.collect({ ...q, metric: volume })).map((p) => p.groupby.id),
        [alive],
      );
      // Without metadata there is no resource search, so no point is skipped.
      assert.deepEqual(
        points(noMeta, await c.collect({ ...q, metric: noMeta }))
          .map((p) => p.qty)
          .sort(),
        ["10", "20"],
      );
    } finally {
      await c.close();
    }
  });

  it("treats a metric no resource of the scope has as no data (CloudKitty 9.0.0)", async () => {
    const [m] = metrics(`
metrics:
  no.such.metric:
    unit: u
    extra_args: {resource_type: instance}
`) as [MetricConfig];
    const c = collector();
    try {
      assert.deepEqual(await c.collect({ metric: m, scopeId: `nobody-${randomUUID()}`, begin: at(1), end: at(2) }), []);
    } finally {
      await c.close();
    }
  });

  it("moves the start back by force_granularity for a rate: re-aggregation, and takes the largest granularity first without one", async () => {
    const project = `p-${randomUUID()}`;
    const net = await resource("instance_network_interface", project, { instance_id: "vm" }, ["network.outgoing.bytes"]);
    await pushMeasures(g, {
      [net]: {
        "network.outgoing.bytes": [
          { timestamp: iso(at(2, 55)), value: 1000 },
          { timestamp: iso(at(3, 0)), value: 1600 },
          { timestamp: iso(at(3, 5)), value: 2000 },
        ],
      },
    });
    await waitProcessed(g);
    const [rate, allGranularities] = metrics(`
metrics:
  network.outgoing.bytes:
    - unit: B
      groupby: [id]
      extra_args:
        resource_type: instance_network_interface
        re_aggregation_method: rate:max
        force_granularity: 300
    - unit: B
      alt_name: net_all
      groupby: [id]
      extra_args:
        resource_type: instance_network_interface
        aggregation_method: max
        force_granularity: 0
`) as [MetricConfig, MetricConfig];
    const c = collector();
    try {
      const q = { scopeId: project, begin: at(3), end: at(4) };
      const [req] = await c.describe({ ...q, metric: rate });
      assert.match(req ?? "", /start=2026-03-10T02%3A55%3A00%2B00%3A00&stop=2026-03-10T04%3A00%3A00%2B00%3A00&granularity=300&/);
      assert.match(req ?? "", /"operations":\["aggregate","rate:max",\["metric","network.outgoing.bytes","max"\]\]/);
      // The first rate of the window: 1600 - 1000 at 3h00.
      assert.deepEqual(
        points(rate, await c.collect({ ...q, metric: rate })).map((p) => p.qty),
        ["600"],
      );
      // No granularity: Gnocchi answers the hourly series first; its 3h bucket holds max 2000.
      assert.deepEqual(
        points(allGranularities, await c.collect({ ...q, metric: allGranularities })).map((p) => p.qty),
        ["2000"],
      );
    } finally {
      await c.close();
    }
  });

  it("fails with an error that names the metric, scope, period and Gnocchi's answer", async () => {
    const project = `p-${randomUUID()}`;
    await resource("instance", project, {}, ["cpu"]);
    const [badAggregation, badGranularity] = metrics(`
metrics:
  cpu:
    - unit: instance
      extra_args: {resource_type: instance, aggregation_method: std}
    - unit: instance
      alt_name: cpu_60
      extra_args: {resource_type: instance, force_granularity: 60}
`) as [MetricConfig, MetricConfig];
    const c = collector();
    try {
      const q = { scopeId: project, begin: at(1), end: at(2) };
      await assert.rejects(c.collect({ ...q, metric: badAggregation }), (err: unknown) => {
        assert.ok(err instanceof CollectError);
        assert.equal(err.kind, "failed_precondition");
        assert.match(
          err.message,
          new RegExp(
            `^gnocchi: metric cpu, scope ${project}, period \\[2026-03-10T01:00:00Z, 2026-03-10T02:00:00Z\\): Gnocchi POST http://127\\.0\\.0\\.1:\\d+/v1/aggregates\\?.* answered 404: .*Metrics with unknown aggregation`,
          ),
        );
        return true;
      });
      await assert.rejects(c.collect({ ...q, metric: badGranularity }), /metric cpu@#cpu_60, .* answered 400: .*Granularities are missing/);
    } finally {
      await c.close();
    }
  });

  it("names the connection failure after its retries when Gnocchi is unreachable", async () => {
    const [m] = metrics("metrics:\n  cpu:\n    unit: i\n    extra_args: {resource_type: instance}\n") as [MetricConfig];
    // A port nothing listens on.
    const { freePort } = await import("../../../test/support/ports.js");
    const c = collector({ url: `http://127.0.0.1:${await freePort()}`, retries: 2 });
    try {
      await assert.rejects(c.collect({ metric: m, scopeId: "p", begin: at(1), end: at(2) }), (err: unknown) => {
        assert.ok(err instanceof CollectError);
        assert.equal(err.kind, "unavailable");
        assert.match(err.message, /^gnocchi: metric cpu, scope p, period .* failed: .*ECONNREFUSED.* \(after 3 attempts\)$/);
        return true;
      });
    } finally {
      await c.close();
    }
  });
});
