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
import { after, before, describe, it, type TestContext } from "node:test";
import { promisify } from "node:util";
import { systemClock } from "../../../libs/time/period.js";
import { type GnocchiServer, setupCloudKittyTypes, startGnocchi } from "../../../test/support/gnocchi.js";
import { startRelay } from "../../../test/support/relay.js";
import { CollectError } from "../collectors/collector.js";
import type { GnocchiCollector } from "../collectors/gnocchi.js";
import { createCollector } from "../collectors/registry.js";
import { loadCollectorConfig } from "../config.js";
import type { GnocchiFetcher } from "../fetchers/gnocchi.js";
import { createFetcher } from "../fetchers/registry.js";
import { configFile, gnocchiCollectorEnv, gnocchiMetric, seedMeasure } from "../testkit.js";

const run = promisify(execFile);
let g: GnocchiServer;
const HOUR = 3_600_000;
const T0 = Date.parse("2026-05-01T00:00:00Z");
const project = `pool-${randomUUID()}`;

before(async () => {
  g = await startGnocchi({ maxLimit: 4 });
  await setupCloudKittyTypes(g);
  await seedMeasure(g, "instance", { project_id: project, user_id: "u" }, "cpu", { timestamp: new Date(T0).toISOString(), value: 1.5 });
});

after(async () => {
  await g?.stop();
});

const CPU = gnocchiMetric("metrics:\n  cpu:\n    unit: instance\n    groupby: [id]\n    extra_args: {resource_type: instance}\n");

/** A collector service's configuration with its Gnocchi behind `url`; extra options for each section. */
function config(t: TestContext, url: string, extra: { collector?: string; fetcher?: string } = {}) {
  const file = configFile(
    t,
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
      const c = createCollector(config(t, relay.url, { collector: `http_pool_maxsize = ${n}\n` }), {
        clock: systemClock,
      }) as GnocchiCollector;
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
    const c = createCollector(config(t, relay.url), { clock: systemClock }) as GnocchiCollector;
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
    const c = createCollector(config(t, relay.url, { collector: "retries = 2\n" }), { clock: systemClock }) as GnocchiCollector;
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
        env: gnocchiCollectorEnv({
          gnocchi_auth_type: "basic",
          gnocchi_user: "admin",
          gnocchi_endpoint: `http://127.0.0.1:${port}`,
          timeout: "200ms",
          retries: "1",
          retry_backoff: "10ms",
        }),
      }),
      { clock: systemClock },
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
      { clock: systemClock },
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
    const f = createFetcher(config(t, relay.url, { fetcher: "resource_types = network\n" }), { clock: systemClock }) as GnocchiFetcher;
    t.after(() => f.close());
    assert.deepEqual(await f.listScopes(), [project2]);
    // 13 resources in pages of 4 would be 4 pages; after the first page the
    // next one starts past this scope and finds nothing.
    assert.equal(f.client.requests, 2);
  });
});
