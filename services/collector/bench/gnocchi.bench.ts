/**
 * Gnocchi collection benchmark, on a real Gnocchi 4.4 started for it:
 * every metric of CloudKitty's default metrics.yml, for 20 scopes of 10
 * resources each, over 24 hourly periods (7 metrics x 20 x 24 = 3,360
 * collections, as a processor catching up a day would make them), with
 * 64 collections in flight (max_workers 4 x max_threads 16).
 *
 * Printed, for http_pool_maxsize 1, 10 and 50: the collector's wall time;
 * the same requests (aggregates and resource searches, as recorded from the
 * collector) replayed by a bare loop of undici requests over a pool of the
 * same size, which is the rate Gnocchi itself allows for that work; and the
 * aggregates requests alone through the bare loop. Then the batch API (one
 * aggregates request per metric for all scopes and periods, plus the
 * resource pages) and its speed-up over per-period collection.
 */
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { mapLimit } from "../../../libs/async/limit.js";
import { type GnocchiServer, startGnocchi } from "../../../test/support/gnocchi.js";
import { populateWorkload } from "../../../test/support/gnocchi-workload.js";
import { REPO_ROOT } from "../../../test/support/mesh.js";
import type { CollectQuery } from "../collectors/collector.js";
import { GnocchiCollector } from "../collectors/gnocchi.js";
import { gnocchiExtraArgs } from "../collectors/gnocchi-query.js";
import { loadMetrics, type MetricConfig } from "../metrics.js";
import { GnocchiClient } from "../sources/gnocchi.js";
import { HttpSource } from "../sources/http.js";

const SCOPES = 20;
const PERIODS = 24;
const IN_FLIGHT = 64;
const HOUR = 3_600_000;
const DAY = Date.parse("2026-08-01T00:00:00Z");

function collector(g: GnocchiServer, connections: number): GnocchiCollector {
  const http = new HttpSource({ name: "Gnocchi", connections, timeoutSeconds: 120, retries: 3, retryBackoffSeconds: 0.2 });
  return new GnocchiCollector(new GnocchiClient(http, { kind: "basic", endpoint: g.url, user: "admin" }), {
    scopeKey: "project_id",
    periodSeconds: 3600,
  });
}

function queries(metrics: MetricConfig[], scopes: string[]): CollectQuery[] {
  const out: CollectQuery[] = [];
  for (const metric of metrics)
    for (const scopeId of scopes)
      for (let p = 0; p < PERIODS; p++) out.push({ metric, scopeId, begin: new Date(DAY + p * HOUR), end: new Date(DAY + (p + 1) * HOUR) });
  return out;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await fn();
  return [(performance.now() - t0) / 1000, v];
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const g = await startGnocchi();
  try {
    const scopes = await populateWorkload(g, { scopes: SCOPES, periods: PERIODS, day: DAY });
    const metrics = loadMetrics(join(REPO_ROOT, "services/collector/bench/cloudkitty-metrics.yml"), {
      scopeKey: "project_id",
      extraArgs: gnocchiExtraArgs,
    });
    const all = queries(metrics, scopes);
    console.log(
      `Gnocchi 4.4 (uWSGI 2 processes x 2 threads, PostgreSQL indexer, file storage) on ${cpus().length} cores shared with other work ` +
        `(load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(" ")}); setup ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    console.log(
      `${metrics.length} metrics x ${SCOPES} scopes (10 resources each) x ${PERIODS} hourly periods = ${all.length} collections, ${IN_FLIGHT} in flight`,
    );
    console.log("");
    console.log(
      "pool  collector (s)  requests  req/s | bare loop, same requests (s)  req/s  collector/bare | bare loop, aggregates only (s)  req/s",
    );

    // A first pass warms Gnocchi's caches so the first measured size is not penalised.
    const warm = collector(g, 10);
    await mapLimit(all.slice(0, 200), IN_FLIGHT, (q) => warm.collect(q));
    await warm.close();

    const auth = `Basic ${Buffer.from("admin:").toString("base64")}`;
    const bareLoop = async (size: number, requests: Array<{ path: string; body: string }>) => {
      const pool = new Pool(g.url, { connections: size, pipelining: 1 });
      const [secs] = await timed(() =>
        mapLimit(requests, IN_FLIGHT, async ({ path, body }) => {
          const res = await pool.request({
            method: "POST",
            path,
            body,
            headers: { authorization: auth, "content-type": "application/json", accept: "application/json" },
          });
          await res.body.text();
          if (res.statusCode !== 200 && res.statusCode !== 400) throw new Error(`bare request answered ${res.statusCode}`);
        }),
      );
      await pool.close();
      return secs;
    };
    let points = 0;
    let pool10 = 0;
    for (const size of [1, 10, 50]) {
      const c = collector(g, size);
      // Record every request the collector sends, to replay them bare.
      const sent: Array<{ path: string; body: string }> = [];
      const send = c.client.send.bind(c.client);
      c.client.send = (method, path, body, signal) => {
        sent.push({ path, body: body ?? "" });
        return send(method, path, body, signal);
      };
      const [secs, results] = await timed(() => mapLimit(all, IN_FLIGHT, (q) => c.collect(q)));
      points = results.reduce((n, r) => n + r.length, 0);
      if (size === 10) pool10 = secs;
      await c.close();
      const same = await bareLoop(size, sent);
      const aggregates = await bareLoop(
        size,
        all.map((q) => {
          const aq = c.aggregatesQuery(q.metric, [q.scopeId], q.begin, q.end);
          return { path: c.client.aggregatesUrlPath(aq), body: c.client.aggregatesBody(aq) };
        }),
      );
      console.log(
        `${String(size).padStart(4)}  ${secs.toFixed(1).padStart(13)}  ${String(sent.length).padStart(8)}  ${(sent.length / secs).toFixed(0).padStart(5)} | ` +
          `${same.toFixed(1).padStart(28)}  ${(sent.length / same).toFixed(0).padStart(5)}  ${(secs / same).toFixed(2).padStart(14)} | ` +
          `${aggregates.toFixed(1).padStart(30)}  ${(all.length / aggregates).toFixed(0).padStart(5)}`,
      );
    }

    const b = collector(g, 10);
    const [batchSecs, batched] = await timed(() =>
      mapLimit(metrics, 4, (metric) =>
        b.collectBatch({ metric, scopeIds: scopes, begin: new Date(DAY), end: new Date(DAY + PERIODS * HOUR), periodSeconds: 3600 }),
      ),
    );
    let batchPoints = 0;
    for (const r of batched) for (const byPeriod of r.measures.values()) for (const list of byPeriod.values()) batchPoints += list.length;
    console.log("");
    console.log(
      `batch API (pool 10): ${batchSecs.toFixed(1)} s (${(pool10 / batchSecs).toFixed(0)}x faster than per period), ${b.client.requests} requests for the same ${all.length} (scope, period, metric) collections; ` +
        `${batchPoints} points (per period: ${points})`,
    );
    if (batchPoints !== points) throw new Error("the batch and per-period collections differ");
    await b.close();
  } finally {
    await g.stop();
  }
}

await main();
