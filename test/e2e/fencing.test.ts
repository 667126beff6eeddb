/**
 * The life of fencing tokens, with real etcd, storage, rating and collector
 * processes: tokens that go backwards in ordinary operations (a move from
 * the embedded coordinator to etcd, an etcd cluster wiped and started
 * again) never stop billing, a member of an old epoch is still refused, a
 * refused commit shows on the scope and in the collector's status, and a
 * scope locked by a forged token is freed by the operator's re-seed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { EtcdCoordinator } from "../../libs/coordination/etcd.js";
import { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import type { CommitPeriodRequest } from "../../libs/gen/ratemesh/v1/storage.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import { silentLogger } from "../../libs/logging/logger.js";
import { type Cluster, PERIOD, periodsDone, scopesDone, startCluster, verifyExactlyOnce, workloadEnd } from "../support/cluster.js";
import { connect, eventually } from "../support/mesh.js";

const BEGIN = new Date("2026-07-01T00:00:00Z");
const HALF = new Date(BEGIN.getTime() + 24 * PERIOD * 1000);
const MAX_INT64 = "9223372036854775807";
const scopes = (n: number) => Array.from({ length: n }, (_, i) => `fence-${i}`);

async function statesAt(cluster: Cluster, at: Date): Promise<number> {
  const { scopes: list } = await cluster.scopesClient.listScopes({
    scopeIds: cluster.workload.scopes,
    scopeKey: "",
    fetcher: "",
    collector: "",
    pageSize: 1000,
    pageToken: "",
  });
  return list.filter((s) => s.state?.getTime() === at.getTime()).length;
}

async function scope(cluster: Cluster, scopeId: string) {
  const { scope: s } = await cluster.scopesClient.getScope({ scopeId });
  assert.ok(s !== undefined);
  return s;
}

function commitRequest(scopeId: string, begin: Date, expected: Date | undefined, epoch: string, token: string): CommitPeriodRequest {
  return {
    frame: { scopeId, begin, end: new Date(begin.getTime() + PERIOD * 1000), points: [] },
    expectedState: expected,
    fencingToken: token,
    fencingEpoch: epoch,
    owner: "outsider",
    reprocessTaskId: "",
    scopeKey: "",
    fetcher: "",
    collector: "",
    unpricedPoints: "0",
  };
}

describe("fencing tokens over time", () => {
  it("a move from the embedded coordinator to etcd keeps rating: etcd's epoch is newer than the embedded one", async (t) => {
    const cluster = await startCluster(t, {
      workload: { scopes: scopes(6), begin: BEGIN, periods: 48 },
      collectors: 0,
      ttlSeconds: 2,
      sections: { orchestrator: { coordination_url: undefined } },
    });
    // The embedded collector rates the first day, then goes.
    const embedded = await cluster.addCollector({ RATEMESH_COLLECT__END: HALF.toISOString() });
    await eventually(async () => (await statesAt(cluster, HALF)) === 6, 60_000, "the first day rated by the embedded collector");
    const { fencingEpoch } = await scope(cluster, "fence-0");
    assert.equal((await embedded.stop("SIGTERM")).code, 0);

    // The same deployment moves to etcd: its tokens (revisions) are small, its epoch newer.
    await cluster.addCollector({ RATEMESH_ORCHESTRATOR__COORDINATION_URL: cluster.etcd.url });
    await eventually(async () => (await scopesDone(cluster)) === 6, 60_000, "the second day rated by the etcd collector");
    assert.deepEqual(await verifyExactlyOnce(cluster), []);
    const embeddedEpoch = BigInt(fencingEpoch);
    assert.ok(embeddedEpoch > 0n, "the embedded coordinator's commits carry its epoch");
    const after = await scope(cluster, "fence-0");
    assert.ok(BigInt(after.fencingEpoch) > embeddedEpoch, `etcd epoch ${after.fencingEpoch} > embedded ${embeddedEpoch}`);
    assert.ok(BigInt(after.fencingToken) < 1_000_000n, `an etcd revision (${after.fencingToken})`);
    assert.equal(after.lastError, "");
  });

  it("etcd wiped and started again keeps rating, and a member of the old epoch is still refused", async (t) => {
    const cluster = await startCluster(t, {
      workload: { scopes: scopes(8), begin: BEGIN, periods: 96 },
      collectors: 0,
      ttlSeconds: 2,
      sections: { collect: { batch_periods: 1, batch_scopes: 1 } },
    });
    // A cluster that has been running for a while: its revisions (the
    // tokens) are far above where a new cluster's start.
    const admin = new Etcd3({ hosts: cluster.etcd.endpoint });
    t.after(() => admin.close());
    for (let i = 0; i < 40; i++) await Promise.all(Array.from({ length: 50 }, (_, j) => admin.put(`/other/${j}`).value(String(i))));
    // A member's ownership of fence-0 under the first epoch: what a member
    // frozen since then would still hold. (The member itself leaves, so that
    // rendezvous hashing gives its share of the scopes to the collectors.)
    const stale = new EtcdCoordinator({ endpoints: [cluster.etcd.endpoint], prefix: "/ratemesh", ttlSeconds: 2, logger: silentLogger() });
    t.after(() => stale.stop());
    await stale.start();
    const old = await stale.acquire("fence-0");
    assert.ok(old !== undefined && old.token > 2000n);
    await stale.stop();

    await Promise.all([cluster.addCollector(), cluster.addCollector()]);
    await eventually(async () => (await periodsDone(cluster)) >= (8 * 96) / 8, 120_000, "an eighth of the work done");
    // Every key, the epoch included, is gone: revisions start again from 1,
    // below the tokens storage has seen for the scopes rated so far.
    await cluster.etcd.wipe();
    const midway = (await periodsDone(cluster)) < 8 * 96 - 8;
    assert.ok(midway, "the wipe came while scopes already rated had periods left");
    await eventually(async () => (await scopesDone(cluster)) === 8, 90_000, "every scope rated to the end after the wipe");
    assert.deepEqual(await verifyExactlyOnce(cluster), []);

    const s = await scope(cluster, "fence-0");
    assert.ok(old.epoch > 0n);
    assert.ok(BigInt(s.fencingEpoch) > old.epoch, `new epoch ${s.fencingEpoch} > old ${old.epoch}`);
    // The old member's next period: the state it expects is right, its epoch is not.
    const end = workloadEnd(cluster.workload);
    await assert.rejects(
      cluster.storageClient.commitPeriod(commitRequest("fence-0", end, end, old.epoch.toString(), old.token.toString())),
      (err: unknown) => {
        assert.ok(err instanceof RemoteCallError && err.code === status.FAILED_PRECONDITION, String(err));
        assert.match(err.details, /of epoch \d+ is older than token \d+ of epoch \d+/);
        return true;
      },
    );
    const refused = await scope(cluster, "fence-0");
    assert.equal(refused.state?.toISOString(), end.toISOString(), "nothing written");
    assert.match(refused.lastError, /^commit refused: fencing token \d+ of epoch/, "the refusal is recorded on the scope");
  });

  it("a forged token locks nothing for good: the refusals show, and the operator's re-seed frees the scope", async (t) => {
    const cluster = await startCluster(t, {
      workload: { scopes: scopes(3), begin: BEGIN, periods: 12 },
      collectors: 0,
      ttlSeconds: 2,
      sections: { orchestrator: { coordination_url: undefined } },
    });
    // A commit with the largest token there is, just before the workload.
    const before = new Date(BEGIN.getTime() - PERIOD * 1000);
    await cluster.storageClient.commitPeriod(commitRequest("fence-1", before, undefined, MAX_INT64, MAX_INT64));

    const collector = await cluster.addCollector();
    const statusClient = connect(t, collector.address).client(CollectorServiceService);
    await eventually(async () => (await statesAt(cluster, workloadEnd(cluster.workload))) === 2, 60_000, "the other scopes rated");
    const locked = await eventually(
      async () => {
        const s = await scope(cluster, "fence-1");
        return s.lastError !== "" ? s : undefined;
      },
      20_000,
      "the refusal recorded on the scope",
    );
    assert.match(locked.lastError, /^commit refused: fencing token \d+ of epoch \d+ is older than token 9223372036854775807/);
    assert.ok(locked.lastErrorAt !== undefined);
    assert.equal(locked.state?.toISOString(), BEGIN.toISOString(), "nothing rated past the forged commit");
    const shown = (await statusClient.getStatus({})).scopes.find((s) => s.scopeId === "fence-1");
    assert.match(shown?.lastError ?? "", /^commit refused: fencing token/, "GetStatus shows the refusal");
    // The collector's log claims no rating of the refused scope.
    const claimed = collector.logs().filter((l) => l.msg === "periods rated" && (l.scopes as string[]).includes("fence-1"));
    assert.deepEqual(claimed, []);

    // The operator's way out: the record re-seeded, with a reason kept on the scope.
    const { scopes: reseeded } = await cluster.scopesClient.reseedFencing({
      scopeIds: ["fence-1"],
      allScopes: false,
      reason: "forged commit from a test client",
      fencingEpoch: "0",
    });
    assert.equal(reseeded[0]?.fencingToken, "0");
    await eventually(async () => (await scopesDone(cluster)) === 3, 60_000, "the freed scope rated to the end");
    assert.deepEqual(await verifyExactlyOnce(cluster), []);
    const freed = await scope(cluster, "fence-1");
    assert.equal(freed.lastError, "", "the next commit cleared the error");
    assert.equal(freed.lastFencingReseed?.reason, "forged commit from a test client");
    assert.equal(freed.lastFencingReseed?.previousEpoch, MAX_INT64);
    assert.equal(freed.lastFencingReseed?.previousToken, MAX_INT64);
    assert.ok(freed.lastFencingReseed?.at !== undefined);
    await cluster.storage.waitForLog((l) => l.msg === "fencing record re-seeded" && l.scope_id === "fence-1", 5000);

    // A re-seed needs a reason.
    await assert.rejects(
      cluster.scopesClient.reseedFencing({ scopeIds: ["fence-1"], allScopes: false, reason: "", fencingEpoch: "0" }),
      (err: unknown) => err instanceof RemoteCallError && err.code === status.INVALID_ARGUMENT && /^reason/.test(err.details),
    );
  });
});
