/**
 * PostgreSQL stopped and started again under a running mesh (real etcd,
 * storage, rating and collector processes; storage on a PostgreSQL cluster
 * of the test's own): storage answers UNAVAILABLE meanwhile, never
 * INTERNAL, the collectors retry, and every period is stored exactly once.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sleep } from "../../libs/async/limit.js";
import { periodsDone, scopesDone, startCluster, verifyExactlyOnce } from "../support/cluster.js";
import { eventually } from "../support/mesh.js";
import { startPgCluster } from "../support/pg-cluster.js";

const BEGIN = new Date("2026-10-01T00:00:00Z");
const SCOPES = Array.from({ length: 10 }, (_, i) => `db-${i}`);

describe("database outage", () => {
  it("PostgreSQL stopped and started again: UNAVAILABLE meanwhile, no INTERNAL, no period lost or stored twice", async (t) => {
    const pg = await startPgCluster(t);
    const cluster = await startCluster(t, {
      workload: { scopes: SCOPES, begin: BEGIN, periods: 96 },
      collectors: 2,
      ttlSeconds: 2,
      sections: {
        storage: { backend: "postgresql", url: pg.url, pool_size: 4 },
        collect: { batch_periods: 1, batch_scopes: 1 },
        orchestrator: { max_workers: 32 },
      },
    });
    await eventually(async () => (await periodsDone(cluster)) >= (SCOPES.length * 96) / 5, 120_000, "a fifth of the work done");
    pg.stop();
    await sleep(4000);
    pg.start();
    await eventually(async () => (await scopesDone(cluster)) === SCOPES.length, 180_000, "every scope rated to the end");
    assert.deepEqual(await verifyExactlyOnce(cluster), []);

    const answers = cluster.storage.logs().filter((l) => l.msg === "rpc");
    const codes = new Set(answers.map((l) => String(l.code)));
    assert.ok(codes.has("UNAVAILABLE"), `storage answered UNAVAILABLE during the outage (codes: ${[...codes].join(", ")})`);
    const internal = answers.filter((l) => l.code === "INTERNAL");
    assert.deepEqual(
      internal.map((l) => `${l.method}: ${JSON.stringify(l.err)}`),
      [],
      "no INTERNAL answer",
    );
  });
});
