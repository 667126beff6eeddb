/**
 * The Collect RPC of a real collector process against a real Gnocchi and a
 * real Prometheus, called with buf curl through reflection: the points of
 * one metric, scope and period after the quantity pipeline, the requests
 * really sent to the source (without credentials), and the errors a bad
 * request or a refused query give.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type GnocchiServer, pushMeasures, setupCloudKittyTypes, startGnocchi, waitProcessed } from "../support/gnocchi.js";
import { bufCurl, type IniSections, startMesh, tempDir } from "../support/mesh.js";
import { type PrometheusServer, startPrometheus } from "../support/prometheus.js";

const T0 = Date.parse("2026-07-01T00:00:00Z");
const HOUR = 3_600_000;
const project = `rpc-${randomUUID()}`;
let g: GnocchiServer;
let prom: PrometheusServer;
let instance: string;

before(async () => {
  [g, prom] = await Promise.all([
    startGnocchi(),
    startPrometheus([
      { metric: "volume_bytes", labels: { project_id: project, id: "v1", type: "ssd" }, t: T0 + 600_000, value: "2147483648" },
      { metric: "volume_bytes", labels: { project_id: project, id: "v2" }, t: T0 + 600_000, value: "1073741824" },
    ]),
  ]);
  await setupCloudKittyTypes(g);
  instance = randomUUID();
  await g.api("POST", "/v1/resource/instance", {
    id: instance,
    project_id: project,
    user_id: "u1",
    flavor_name: "m1.small",
    started_at: new Date(T0 - 24 * HOUR).toISOString(),
    metrics: { cpu: { archive_policy_name: "ratemesh" } },
  });
  await pushMeasures(g, { [instance]: { cpu: [{ timestamp: new Date(T0 + 60_000).toISOString(), value: 12.5 }] } });
  await waitProcessed(g);
});

after(async () => {
  await Promise.all([g?.stop(), prom?.stop()]);
});

const GNOCCHI_METRICS = `
metrics:
  cpu:
    - unit: instance
      alt_name: instance
      groupby: [id, user_id]
      metadata: [flavor_name]
      mutate: NUMBOOL
      extra_args: {resource_type: instance, force_granularity: 300}
    - unit: instance
      alt_name: broken
      extra_args: {resource_type: instance, aggregation_method: std}
`;

async function collector(t: Parameters<typeof tempDir>[0], sections: IniSections, metricsYaml: string) {
  const dir = tempDir(t);
  const metricsFile = join(dir, "metrics.yml");
  writeFileSync(metricsFile, metricsYaml);
  const mesh = await startMesh(t, {
    sections: {
      collect: {
        metrics_conf: metricsFile,
        // One period to rate, so the processor's own work stays small.
        start: new Date(T0).toISOString(),
        end: new Date(T0 + HOUR).toISOString(),
        ...sections.collect,
      },
      fetcher: { backend: "source" },
      fetcher_source: { sources: project },
      ...Object.fromEntries(Object.entries(sections).filter(([k]) => k !== "collect")),
    },
  });
  return mesh.collector?.address ?? "";
}

describe("Collect RPC", () => {
  it("collects a Gnocchi metric for one scope and period and shows the requests sent", async (t) => {
    const address = await collector(
      t,
      {
        collect: { collector: "gnocchi" },
        collector_gnocchi: { gnocchi_auth_type: "basic", gnocchi_user: "admin", gnocchi_endpoint: g.url },
      },
      GNOCCHI_METRICS,
    );
    const r = bufCurl(`http://${address}/ratemesh.v1.CollectorService/Collect`, {
      scope_id: project,
      metric: "instance",
      begin: "2026-07-01T00:00:00Z",
    });
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as {
      points: Array<{ type: string; qty: string; groupby: Record<string, string>; metadata: Record<string, string> }>;
      sourceRequests: string[];
      metric: string;
    };
    assert.equal(body.metric, "cpu@#instance");
    assert.deepEqual(
      body.points.map((p) => [p.type, p.qty, p.groupby, p.metadata]),
      [["instance", "1", { id: instance, user_id: "u1", project_id: project }, { flavor_name: "m1.small" }]],
    );
    assert.equal(body.sourceRequests.length, 2);
    assert.ok(
      body.sourceRequests[0]?.startsWith(
        `POST ${g.url}/v1/aggregates?start=2026-07-01T00%3A00%3A00%2B00%3A00&stop=2026-07-01T01%3A00%3A00%2B00%3A00&granularity=300&use_history=true&groupby=id&groupby=user_id&groupby=project_id {"operations":["aggregate","max",["metric","cpu","max"]]`,
      ),
      body.sourceRequests[0],
    );
    assert.ok(
      body.sourceRequests[1]?.startsWith(`POST ${g.url}/v1/search/resource/instance?sort=id%3Aasc&attrs=id`),
      body.sourceRequests[1],
    );
    assert.doesNotMatch(r.stdout, /Basic |authorization/i);

    const bad = bufCurl(`http://${address}/ratemesh.v1.CollectorService/Collect`, {
      scope_id: project,
      metric: "nope",
      begin: "2026-07-01T00:00:00Z",
    });
    assert.equal(bad.code, 8 * 5, bad.stderr);
    const unaligned = bufCurl(`http://${address}/ratemesh.v1.CollectorService/Collect`, {
      scope_id: project,
      metric: "instance",
      begin: "2026-07-01T00:30:00Z",
    });
    assert.equal(unaligned.code, 8 * 3, unaligned.stderr);
    assert.match(unaligned.stderr, /begin: 2026-07-01T00:30:00.000Z is not aligned/);

    const refused = bufCurl(`http://${address}/ratemesh.v1.CollectorService/Collect`, {
      scope_id: project,
      metric: "broken",
      begin: "2026-07-01T00:00:00Z",
    });
    // FAILED_PRECONDITION (9): Gnocchi refuses the query this metrics.yml makes.
    assert.equal(refused.code, 8 * 9, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(
        `gnocchi: metric cpu@#broken, scope ${project}, period \\[2026-07-01T00:00:00Z, 2026-07-01T01:00:00Z\\): Gnocchi POST .* answered 404: .*Metrics with unknown aggregation`,
      ),
    );
  });

  it("collects a Prometheus metric and shows the query sent", async (t) => {
    const address = await collector(
      t,
      {
        collect: { collector: "prometheus" },
        collector_prometheus: { prometheus_url: prom.apiUrl, prometheus_user: "ck", prometheus_password: "pw-not-shown" },
      },
      "metrics:\n  volume_bytes:\n    unit: GiB\n    factor: 1/1073741824\n    groupby: [id]\n    metadata: [type]\n",
    );
    const r = bufCurl(`http://${address}/ratemesh.v1.CollectorService/Collect`, {
      scope_id: project,
      metric: "volume_bytes",
      begin: "2026-07-01T00:00:00Z",
    });
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as {
      points: Array<{ qty: string; groupby: Record<string, string>; metadata: Record<string, string> }>;
      sourceRequests: string[];
    };
    assert.deepEqual(
      body.points.map((p) => [p.qty, p.groupby, p.metadata]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      // CloudKitty's precision 9: 1073741824 is first rounded to 1073741820,
      // so one GiB comes out as 0.999999996 GiB, as it does in CloudKitty.
      [
        ["0.999999996", { id: "v2", project_id: project }, { type: "" }],
        ["2", { id: "v1", project_id: project }, { type: "ssd" }],
      ],
    );
    assert.deepEqual(body.sourceRequests, [
      `GET ${prom.apiUrl}/query?${new URLSearchParams({
        query: `max(max_over_time(volume_bytes{project_id="${project}"}[3600s])) by (id, project_id, type)`,
        time: "2026-07-01T01:00:00+00:00",
      }).toString()}`,
    ]);
    assert.doesNotMatch(r.stdout, /pw-not-shown/);
  });
});
