/**
 * The processor under failures, with real etcd, storage, rating and
 * collector processes: a frozen member coming back late, an etcd outage,
 * and storage's fencing of a stale owner holding a real etcd token.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { sleep } from "../../libs/async/limit.js";
import { EtcdCoordinator } from "../../libs/coordination/etcd.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import { silentLogger } from "../../libs/logging/logger.js";
import { commits, memberId, ownersInEtcd, periodsDone, scopesDone, startCluster, verifyExactlyOnce } from "../support/cluster.js";
import { EtcdServer } from "../support/etcd.js";
import { eventually, startMesh } from "../support/mesh.js";

const BEGIN = new Date("2026-06-01T00:00:00Z");
const scopes = (n: number) => Array.from({ length: n }, (_, i) => `tenant-${String(i).padStart(3, "0")}`);

describe("processor failures", () => {
  it("a collector frozen with SIGSTOP past its TTL, then resumed, commits nothing late and nothing is duplicated", async (t) => {
    const ttl = 2;
    const cluster = await startCluster(t, {
      workload: { scopes: scopes(20), begin: BEGIN, periods: 96 },
      collectors: 2,
      ttlSeconds: ttl,
      sections: { collect: { batch_periods: 1, batch_scopes: 1 }, orchestrator: { max_workers: 32 } },
    });
    await eventually(async () => (await periodsDone(cluster)) >= (20 * 96) / 5, 120_000, "a fifth of the work done");
    const frozen = cluster.collectors[0];
    const other = cluster.collectors[1];
    assert.ok(frozen !== undefined && other !== undefined);
    const frozenId = memberId(frozen);
    const frozenScopes = [...(await ownersInEtcd(cluster))].filter(([, m]) => m === frozenId).map(([s]) => s);
    frozen.child.kill("SIGSTOP");
    const frozenAt = Date.now();
    await sleep(3 * ttl * 1000);
    // Meanwhile the other member took the frozen member's scopes over.
    const owners = await ownersInEtcd(cluster);
    assert.ok(frozenScopes.length > 0);
    assert.ok(
      frozenScopes.every((s) => owners.get(s) !== frozenId),
      "none of the frozen member's ownership keys survived its TTL",
    );
    const tookOver = commits(cluster).filter((c) => c.owner !== frozenId && c.time > frozenAt && frozenScopes.includes(c.scopeId));
    assert.ok(tookOver.length > 0, "the other member rated the frozen member's scopes meanwhile");
    const resumedAt = Date.now();
    frozen.child.kill("SIGCONT");
    await eventually(async () => (await scopesDone(cluster)) === 20, 240_000, "every scope rated to the end");
    assert.deepEqual(await verifyExactlyOnce(cluster), []);

    // Once resumed, the frozen member noticed it had lost its lease before doing anything else...
    await frozen.waitForLog((l) => l.msg === "coordination lease lost: work on every scope stopped", 10_000);
    // ...and storage accepted no late commit from it under the ownership it
    // held when frozen (commits already on the wire at SIGSTOP land at once).
    const stale = commits(cluster).filter((c) => c.owner === frozenId && c.time >= frozenAt + 500 && c.time < resumedAt + 2000);
    const tokensBefore = new Set(
      commits(cluster)
        .filter((c) => c.owner === frozenId && c.time < frozenAt)
        .map((c) => c.token),
    );
    assert.deepEqual(
      stale.filter((c) => tokensBefore.has(c.token)),
      [],
      "no commit accepted under a token from before the freeze",
    );
  });

  it("etcd stopped for 3 x TTL: commits stop, then resume when it is back, with no duplicate", async (t) => {
    const ttl = 2;
    const cluster = await startCluster(t, {
      workload: { scopes: scopes(20), begin: BEGIN, periods: 96 },
      collectors: 2,
      ttlSeconds: ttl,
      sections: { collect: { batch_periods: 1, batch_scopes: 1 }, orchestrator: { max_workers: 32 } },
    });
    await eventually(async () => (await periodsDone(cluster)) >= (20 * 96) / 5, 120_000, "a fifth of the work done");
    const stoppedAt = Date.now();
    await cluster.etcd.stop();
    await sleep(3 * ttl * 1000);
    const restartedAt = Date.now();
    await cluster.etcd.run();
    await eventually(async () => (await scopesDone(cluster)) === 20, 240_000, "every scope rated to the end");
    assert.deepEqual(await verifyExactlyOnce(cluster), []);

    const all = commits(cluster);
    // Every lease is gone TTL after its last keepalive, at the latest: no commit after that until etcd is back.
    const during = all.filter((c) => c.time > stoppedAt + ttl * 1000 + 500 && c.time < restartedAt);
    assert.deepEqual(during, [], "no commit while etcd was down");
    assert.ok(
      all.some((c) => c.time >= restartedAt),
      "commits resumed after etcd came back",
    );
    for (const c of cluster.collectors) {
      await c.waitForLog((l) => l.msg === "coordination lease lost: work on every scope stopped", 1000);
    }
  });

  it("storage refuses a stale owner holding a real etcd token, even when the state it expects is right", async (t) => {
    const etcd = await EtcdServer.start(t);
    const mesh = await startMesh(t, { withCollector: false });
    const coordinator = (prefix: string) => {
      const c = new EtcdCoordinator({ endpoints: [etcd.endpoint], prefix, ttlSeconds: 2, logger: silentLogger() });
      t.after(() => c.stop());
      return c;
    };
    const a = coordinator("/f");
    const b = coordinator("/f");
    await Promise.all([a.start(), b.start()]);
    const old = await a.acquire("s");
    assert.ok(old !== undefined);
    // a's lease expires behind its back (as when it is frozen), b takes the scope.
    const admin = new Etcd3({ hosts: etcd.endpoint });
    t.after(() => admin.close());
    const leases = await admin.leaseClient.leaseLeases({});
    const bLease = (b as unknown as { leaseId: string }).leaseId;
    await Promise.all(leases.leases.filter((l) => String(l.ID) !== bLease).map((l) => admin.leaseClient.leaseRevoke({ ID: l.ID })));
    const current = await eventually(async () => b.acquire("s"), 5000, "b owns the scope");
    assert.ok(current.token > old.token);

    const frame = (h: number) => ({
      scopeId: "s",
      begin: new Date(BEGIN.getTime() + h * 3600_000),
      end: new Date(BEGIN.getTime() + (h + 1) * 3600_000),
      points: [{ type: "instance", unit: "instance", qty: "1", price: "0", groupby: {}, metadata: {} }],
    });
    const commit = (h: number, { epoch, token }: { epoch: bigint; token: bigint }, expected: Date | undefined) =>
      mesh.clients.storage.commitPeriod({
        frame: frame(h),
        expectedState: expected,
        fencingToken: token.toString(),
        fencingEpoch: epoch.toString(),
        owner: "",
        reprocessTaskId: "",
        scopeKey: "",
        fetcher: "",
        collector: "",
        unpricedPoints: "0",
      });
    await commit(0, current, undefined);
    // The stale owner's next period: the state it expects is the real one, its token is not.
    await assert.rejects(commit(1, old, frame(1).begin), (err: unknown) => {
      assert.ok(err instanceof RemoteCallError && err.code === status.FAILED_PRECONDITION, String(err));
      assert.match(err.details, /fencing token \d+ is older than \d+/);
      return true;
    });
    const { scope } = await mesh.clients.scopes.getScope({ scopeId: "s" });
    assert.equal(scope?.state?.toISOString(), frame(0).end.toISOString(), "the refused commit changed nothing");
  });
});
