/**
 * Several collector processes share a cloud's scopes through a real etcd,
 * with real storage and rating processes: every (scope, period) is rated
 * exactly once, including when a member dies or leaves.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import {
  acquisitions,
  type Cluster,
  commits,
  memberId,
  ownersInEtcd,
  periodsDone,
  scopesDone,
  startCluster,
  verifyExactlyOnce,
} from "../support/cluster.js";
import { connect, eventually } from "../support/mesh.js";
import type { ServiceProcess } from "../support/service-process.js";

const BEGIN = new Date("2026-05-01T00:00:00Z");
const scopes = (n: number) => Array.from({ length: n }, (_, i) => `project-${String(i).padStart(3, "0")}`);

async function waitDone(cluster: Cluster, timeoutMs: number): Promise<void> {
  await eventually(async () => (await scopesDone(cluster)) === cluster.workload.scopes.length, timeoutMs, "every scope rated to the end");
}

describe("processor with etcd coordination", () => {
  it("3 collector processes share 60 scopes x 48 periods: each (scope, period) committed exactly once, totals exact", async (t) => {
    const cluster = await startCluster(t, {
      workload: { scopes: scopes(60), begin: BEGIN, periods: 48 },
      collectors: 3,
      ttlSeconds: 2,
      sections: { collect: { batch_periods: 6, batch_scopes: 4 }, orchestrator: { max_workers: 8 } },
    });
    // GetStatus shows the members, the scopes each owns and how far behind they are.
    const status = connect(t, (cluster.collectors[0] as ServiceProcess).address).client(CollectorServiceService);
    const early = await eventually(
      async () => {
        const s = await status.getStatus({});
        return s.members.length === 3 ? s : undefined;
      },
      10_000,
      "three members",
    );
    assert.equal(early.coordination, "etcd");
    assert.equal(early.leaseHeld, true);
    assert.equal(early.scopesDiscovered, "60");
    assert.ok(early.scopes.length > 0 && early.scopes.length < 60, `owns part of the scopes (${early.scopes.length})`);
    await waitDone(cluster, 180_000);
    const late = await status.getStatus({});
    assert.ok(late.scopes.every((s) => s.periodsBehind === "0" && s.state?.toISOString() === "2026-05-03T00:00:00.000Z"));
    assert.deepEqual(await verifyExactlyOnce(cluster), []);
    const byOwner = new Set(commits(cluster).map((c) => c.owner));
    assert.deepEqual(byOwner, new Set(cluster.collectors.map(memberId)), "every member did part of the work");
  });

  it("kill -9 of one collector mid-run: its scopes are taken over within TTL + 1 s, no duplicate, no gap", async (t) => {
    const ttl = 2;
    const cluster = await startCluster(t, {
      workload: { scopes: scopes(30), begin: BEGIN, periods: 96 },
      collectors: 3,
      ttlSeconds: ttl,
      sections: { collect: { batch_periods: 1, batch_scopes: 1 }, orchestrator: { max_workers: 32 } },
    });
    const total = 30 * 96;
    await eventually(async () => (await periodsDone(cluster)) >= total / 4, 120_000, "a quarter of the work done");
    const victim = cluster.collectors[0];
    assert.ok(victim !== undefined);
    const victimId = memberId(victim);
    const owners = await ownersInEtcd(cluster);
    const killedAt = Date.now();
    await victim.stop("SIGKILL");
    const held = new Set([...owners].filter(([, m]) => m === victimId).map(([s]) => s));
    await waitDone(cluster, 240_000);
    assert.deepEqual(await verifyExactlyOnce(cluster), []);

    // Scopes the victim worked on that others finished: each was taken over in time.
    const finishedByOthers = new Set(
      commits(cluster)
        .filter((c) => c.owner !== victimId && c.time >= killedAt)
        .map((c) => c.scopeId),
    );
    const takenOver = [...held].filter((s) => finishedByOthers.has(s));
    assert.ok(takenOver.length > 0, "the victim had scopes left to take over");
    for (const scopeId of takenOver) {
      const first = Math.min(
        ...cluster.collectors
          .slice(1)
          .flatMap((c) => acquisitions(c))
          .filter((a) => a.scopeId === scopeId && a.time >= killedAt)
          .map((a) => a.time),
      );
      assert.ok(first - killedAt <= (ttl + 1) * 1000, `${scopeId} taken over ${first - killedAt} ms after kill -9 (TTL ${ttl} s)`);
    }
  });

  it("SIGTERM: the member releases its scopes and another takes over in under 1 s", async (t) => {
    const cluster = await startCluster(t, {
      workload: { scopes: scopes(20), begin: BEGIN, periods: 96 },
      collectors: 2,
      ttlSeconds: 10,
      sections: { collect: { batch_periods: 1, batch_scopes: 1 }, orchestrator: { max_workers: 32 } },
    });
    await eventually(async () => (await periodsDone(cluster)) >= (20 * 96) / 4, 120_000, "a quarter of the work done");
    const leaving = cluster.collectors[0];
    const staying = cluster.collectors[1];
    assert.ok(leaving !== undefined && staying !== undefined);
    const leavingId = memberId(leaving);
    const owners = await ownersInEtcd(cluster);
    const sentAt = Date.now();
    const exit = await leaving.stop("SIGTERM");
    assert.equal(exit.code, 0);
    const stoppedLog = leaving.logs().find((l) => l.msg === "stopped");
    assert.ok(stoppedLog !== undefined, "clean stop logged");
    const releasedBy = Date.parse(String(stoppedLog.time));
    const held = new Set([...owners].filter(([, m]) => m === leavingId).map(([s]) => s));
    await waitDone(cluster, 240_000);
    assert.deepEqual(await verifyExactlyOnce(cluster), []);
    const after = acquisitions(staying).filter((a) => a.time >= sentAt && held.has(a.scopeId));
    assert.ok(after.length > 0, "the remaining member took the leaving member's scopes");
    const first = Math.min(...after.map((a) => a.time));
    // The lease TTL is 10 s: only an explicit release explains a takeover this fast.
    assert.ok(first - releasedBy < 1000, `took over ${first - releasedBy} ms after the leaving member stopped`);
  });
});
