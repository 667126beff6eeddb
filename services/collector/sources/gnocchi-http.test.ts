/**
 * HTTP to a real Gnocchi, observed from the server's side: a counting TCP
 * relay in front of it sees every connection the collector opens (and `ss`
 * on the relay's port counts them again, from the kernel), so the pool
 * bound and connection reuse are measured, not assumed. The same relay
 * injects the failures Gnocchi cannot be made to produce on demand (503,
 * connections cut) to show the retries. Also: the Gnocchi fetcher's paging
 * and its own pool, all built from configuration files as a service would.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type GnocchiServer, pushMeasures, setupCloudKittyTypes, startGnocchi, waitProcessed } from "../../../test/support/gnocchi.js";
import { tempDir } from "../../../test/support/mesh.js";
import { startRelay } from "../../../test/support/relay.js";
import { CollectError } from "../collectors/collector.js";
import type { GnocchiCollector } from "../collectors/gnocchi.js";
import { gnocchiExtraArgs } from "../collectors/gnocchi-query.js";
import { createCollector } from "../collectors/registry.js";
import { loadCollectorConfig } from "../config.js";
import type { GnocchiFetcher } from "../fetchers/gnocchi.js";
import { createFetcher } from "../fetchers/registry.js";
import { type MetricConfig, parseMetrics } from "../metrics.js";

const run = promisify(execFile);
let g: GnocchiServer;
const HOUR = 3_600_000;
const T0 = Date.parse("2026-05-01T00:00:00Z");
const project = `pool-${randomUUID()}`;

before(async () => {
  g = await startGnocchi({ maxLimit: 4 });
  await setupCloudKittyTypes(g);
  const id = randomUUID();
  await g.api("POST", "/v1/resource/instance", {
    id,
    project_id: project,
    user_id: "u",
    metrics: { cpu: { archive_policy_name: "ratemesh" } },
  });
  await pushMeasures(g, { [id]: { cpu: [{ timestamp: new Date(T0).toISOString(), value: 1.5 }] } });
  await waitProcessed(g);
});

after(async () => {
  await g?.stop();
});

const [CPU] = parseMetrics(
  "metrics:\n  cpu:\n    unit: instance\n    groupby: [id]\n    extra_args: {resource_type: instance}\n",
  "metrics.yml",
  {
    scopeKey: "project_id",
    extraArgs: gnocchiExtraArgs,
  },
) as [MetricConfig];

/** A collector service's configuration with its Gnocchi behind `url`; extra options for each section. */
function config(t: Parameters<typeof tempDir>[0], url: string, extra: { collector?: string; fetcher?: string } = {}) {
  const dir = tempDir(t);
  const file = join(dir, "ratemesh.conf");
  writeFileSync(
    file,
    `[collect]\ncollector = gnocchi\n[fetcher]\nbackend = gnocchi\n` +
      `[collector_gnocchi]\ngnocchi_auth_type = basic\ngnocchi_user = admin\ngnocchi_endpoint = ${url}\nretry_backoff = 10ms\n${extra.collector ?? ""}` +
      `[fetcher_gnocchi]\ngnocchi_auth_type = basic\ngnocchi_user = admin\ngnocchi_endpoint = ${url}\n${extra.fetcher ?? ""}`,
  );
  return loadCollectorConfig({ file });
}

/** Established connections on the relay's listening port, as the kernel counts them. */
async function ssCount(port: number): Promise<number> {
  const { stdout } = await run("ss", ["-Htn", "state", "established", `( sport = :${port} )`]);
  return stdout.split("\n").filter((l) => l.trim() !== "").length;
}

describe("Gnocchi HTTP pool", () => {
  for (const n of [1, 3]) {
    it(`keeps at most http_pool_maxsize = ${n} connections open under ${5 * n} concurrent collections, and reuses them`, async (t) => {
      const relay = await startRelay(g.port);
      t.after(() => relay.close());
      const c = createCollector(config(t, relay.url, { collector: `http_pool_maxsize = ${n}\n` })) as GnocchiCollector;
      t.after(() => c.close());
      let ssPeak = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          ssPeak = Math.max(ssPeak, await ssCount(relay.port));
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      const wave = () =>
        Promise.all(
          Array.from({ length: 5 * n }, () => c.collect({ metric: CPU, scopeId: project, begin: new Date(T0), end: new Date(T0 + HOUR) })),
        );
      const first = await wave();
      const second = await wave();
      sampling = false;
      await sampler;
      for (const r of [...first, ...second])
        assert.deepEqual(
          r.map((m) => m.value.toString()),
          ["1.5"],
        );
      assert.equal(c.client.requests, 10 * n);
      // Never more than n at once, and exactly n: the pool did run them in parallel.
      assert.equal(relay.stats.peak, n);
      // The kernel agrees: n established connections on the relay's port at most (and at all).
      assert.equal(ssPeak, n);
      // Two waves of 5n requests went over the same n kept-alive connections.
      assert.equal(relay.stats.total, n);
    });
  }

  it("retries 503 answers and cut connections, then succeeds on the same request", async (t) => {
    const relay = await startRelay(g.port, { fail503: 2, reset: 1 });
    t.after(() => relay.close());
    const c = createCollector(config(t, relay.url)) as GnocchiCollector;
    t.after(() => c.close());
    const got = await c.collect({ metric: CPU, scopeId: project, begin: new Date(T0), end: new Date(T0 + HOUR) });
    assert.deepEqual(
      got.map((m) => m.value.toString()),
      ["1.5"],
    );
    // One request for the caller; the relay saw the failed attempts plus the good one.
    assert.equal(c.client.requests, 1);
    assert.equal(relay.stats.total, 4);
  });

  it("gives up after [collector_gnocchi] retries with Gnocchi's status and body in the error", async (t) => {
    const relay = await startRelay(g.port, { fail503: 100 });
    t.after(() => relay.close());
    const c = createCollector(config(t, relay.url, { collector: "retries = 2\n" })) as GnocchiCollector;
    t.after(() => c.close());
    await assert.rejects(c.collect({ metric: CPU, scopeId: project, begin: new Date(T0), end: new Date(T0 + HOUR) }), (err: unknown) => {
      assert.ok(err instanceof CollectError);
      assert.equal(err.kind, "unavailable");
      assert.match(
        err.message,
        new RegExp(
          `^gnocchi: metric cpu, scope ${project}, period \\[2026-05-01T00:00:00Z, 2026-05-01T01:00:00Z\\): Gnocchi POST ${relay.url}/v1/aggregates\\?.* answered 503: Gnocchi is overloaded, try later \\(after 3 attempts\\)$`,
        ),
      );
      return true;
    });
    assert.equal(relay.stats.total, 3);
  });

  it("times out a request that gets no answer, and says so", async (t) => {
    // A listener that accepts and never answers.
    const { createServer } = await import("node:net");
    const held = new Set<import("node:net").Socket>();
    const silent = createServer((s) => held.add(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    t.after(
      () =>
        new Promise<void>((r) => {
          for (const s of held) s.destroy();
          silent.close(() => r());
        }),
    );
    const port = (silent.address() as { port: number }).port;
    assert.equal(config(t, `http://127.0.0.1:${port}`).collector_gnocchi.timeout, 60);
    const fast = createCollector(
      loadCollectorConfig({
        env: {
          RATEMESH_COLLECT__COLLECTOR: "gnocchi",
          RATEMESH_COLLECTOR_GNOCCHI__GNOCCHI_AUTH_TYPE: "basic",
          RATEMESH_COLLECTOR_GNOCCHI__GNOCCHI_USER: "admin",
          RATEMESH_COLLECTOR_GNOCCHI__GNOCCHI_ENDPOINT: `http://127.0.0.1:${port}`,
          RATEMESH_COLLECTOR_GNOCCHI__TIMEOUT: "200ms",
          RATEMESH_COLLECTOR_GNOCCHI__RETRIES: "1",
          RATEMESH_COLLECTOR_GNOCCHI__RETRY_BACKOFF: "10ms",
          RATEMESH_FETCHER_SOURCE__SOURCES: "x",
        },
      }),
    ) as GnocchiCollector;
    t.after(() => fast.close());
    const t0 = Date.now();
    await assert.rejects(
      fast.collect({ metric: CPU, scopeId: project, begin: new Date(T0), end: new Date(T0 + HOUR) }),
      /failed: timed out after 0\.2 s \(after 2 attempts\)$/,
    );
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe("Gnocchi fetcher", () => {
  it("lists the distinct scopes of every resource type, page by page, skipping resources without one", async (t) => {
    const prefix = `f-${randomUUID().slice(0, 8)}`;
    const projects = Array.from({ length: 7 }, (_, i) => `${prefix}-${i}`);
    // 2 to 5 resources per project over two types, and resources without a project.
    for (const [i, p] of projects.entries()) {
      for (let k = 0; k < 2 + (i % 4); k++) {
        await g.api("POST", `/v1/resource/${k % 2 === 0 ? "volume" : "image"}`, { id: randomUUID(), project_id: p, user_id: "u" });
      }
    }
    for (let k = 0; k < 3; k++) await g.api("POST", "/v1/resource/volume", { id: randomUUID(), user_id: "u" });
    const relay = await startRelay(g.port);
    t.after(() => relay.close());
    const f = createFetcher(
      config(t, relay.url, {
        collector: "http_pool_maxsize = 5\n",
        fetcher: "scope_attribute = project_id\nresource_types = volume, image\nhttp_pool_maxsize = 1\n",
      }),
    ) as GnocchiFetcher;
    t.after(() => f.close());
    const got = (await f.listScopes()).filter((s) => s.startsWith(prefix));
    assert.deepEqual(got, projects);
    // Its own pool of 1: both types were listed over one connection.
    assert.equal(relay.stats.peak, 1);
    assert.deepEqual(f.pageQuery("volume", undefined), {
      resourceType: "volume",
      filter: { "!=": { project_id: null } },
      sort: ["project_id:asc"],
      attrs: ["project_id"],
      marker: undefined,
    });
    assert.deepEqual(f.pageQuery("volume", "p9").filter, { ">": { project_id: "p9" } });
  });

  it("asks fewer pages than the resources need when scopes have many resources", async (t) => {
    const project2 = `many-${randomUUID()}`;
    for (let k = 0; k < 13; k++) await g.api("POST", "/v1/resource/network", { id: randomUUID(), project_id: project2, user_id: "u" });
    const relay = await startRelay(g.port);
    t.after(() => relay.close());
    const f = createFetcher(config(t, relay.url, { fetcher: "resource_types = network\n" })) as GnocchiFetcher;
    t.after(() => f.close());
    assert.deepEqual(await f.listScopes(), [project2]);
    // 13 resources in pages of 4 would be 4 pages; after the first page the
    // next one starts past this scope and finds nothing.
    assert.equal(f.client.requests, 2);
  });
});
