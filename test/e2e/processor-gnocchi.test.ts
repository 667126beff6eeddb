/**
 * The whole mesh against a real Gnocchi 4.4 with CloudKitty's default
 * metrics.yml: a catch-up rated in batches (several periods and scopes per
 * request to Gnocchi) stores exactly the points that period-by-period
 * collection stores, and needs far fewer requests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import type { DataFrame } from "../../libs/gen/ratemesh/v1/common.js";
import { type Cluster, scopesDone, startCluster } from "../support/cluster.js";
import { startFaultRelay } from "../support/faults.js";
import { type GnocchiServer, startGnocchi } from "../support/gnocchi.js";
import { populateWorkload } from "../support/gnocchi-workload.js";
import { eventually, REPO_ROOT } from "../support/mesh.js";

const DAY = Date.parse("2026-09-01T00:00:00Z");
const PERIODS = 6;
let g: GnocchiServer;
let scopes: string[];

before(async () => {
  g = await startGnocchi();
  scopes = await populateWorkload(g, { scopes: 3, periods: PERIODS, day: DAY, prefix: "e2e-project" });
});

after(async () => {
  await g?.stop();
});

async function rate(t: TestContext, batch: { periods: number; scopes: number }): Promise<{ cluster: Cluster; requests: number }> {
  // A relay that only counts the requests to Gnocchi.
  const relay = await startFaultRelay(t, g.port, { kind: "delay", ms: 0 });
  const cluster = await startCluster(t, {
    workload: { scopes, begin: new Date(DAY), periods: PERIODS },
    collectors: 1,
    ttlSeconds: 5,
    sections: {
      collect: {
        collector: "gnocchi",
        metrics_conf: join(REPO_ROOT, "services/collector/bench/cloudkitty-metrics.yml"),
        batch_periods: batch.periods,
        batch_scopes: batch.scopes,
      },
      collector_gnocchi: { gnocchi_auth_type: "basic", gnocchi_user: "admin", gnocchi_endpoint: relay.url, http_pool_maxsize: 1 },
      orchestrator: { max_workers: 4, collector_request_timeout: "120s" },
    },
  });
  await eventually(async () => (await scopesDone(cluster)) === scopes.length, 240_000, "every scope rated");
  return { cluster, requests: relay.requests() };
}

async function stored(cluster: Cluster): Promise<string[]> {
  const frames: DataFrame[] = [];
  let pageToken = "";
  do {
    const page = await cluster.storageClient.listDataFrames({
      begin: new Date(DAY),
      end: new Date(DAY + PERIODS * 3_600_000),
      filters: [],
      pageSize: 10000,
      pageToken,
    });
    frames.push(...page.frames);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return frames
    .flatMap((f) =>
      f.points.map((p) =>
        JSON.stringify([
          f.scopeId,
          f.begin?.toISOString(),
          p.type,
          p.unit,
          p.qty,
          p.price,
          Object.entries(p.groupby).sort(),
          Object.entries(p.metadata).sort(),
        ]),
      ),
    )
    .sort();
}

describe("processor against a real Gnocchi", () => {
  it("stores the same points whether the catch-up is batched or period by period", async (t) => {
    const byPeriod = await rate(t, { periods: 1, scopes: 1 });
    const batched = await rate(t, { periods: PERIODS, scopes: 3 });
    const a = await stored(byPeriod.cluster);
    const b = await stored(batched.cluster);
    assert.ok(a.length > scopes.length * PERIODS * 5, `a real workload (${a.length} points)`);
    assert.deepEqual(b, a);
    // Period by period: an aggregates request per metric, scope and period (and resource searches).
    assert.ok(byPeriod.requests >= 7 * scopes.length * PERIODS, `${byPeriod.requests} requests period by period`);
    assert.ok(batched.requests * 10 <= byPeriod.requests, `${batched.requests} requests batched, ${byPeriod.requests} period by period`);
    t.diagnostic(`requests to Gnocchi: ${byPeriod.requests} period by period, ${batched.requests} batched`);
  });
});
