/**
 * Reprocessing end to end, with real etcd, storage, rating and collector
 * processes: a price added after a window was rated, a task over the
 * window, and the stored prices replaced period by period, exactly once.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CreateMappingRequest, HashmapServiceService, MappingType, RatingServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { ReprocessServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import { Decimal } from "../../libs/money/decimal.js";
import { commits, scopesDone, startCluster, workloadEnd } from "../support/cluster.js";
import { connect, eventually } from "../support/mesh.js";

const BEGIN = new Date("2026-07-01T00:00:00Z");
const SCOPES = ["r-a", "r-b", "r-c"];
const PERIODS = 24;

describe("reprocessing", () => {
  it("rates a window again with the price list fixed afterwards, replacing what was stored, once per period", async (t) => {
    const workload = { scopes: SCOPES, begin: BEGIN, periods: PERIODS };
    const cluster = await startCluster(t, {
      workload,
      collectors: 0,
      ttlSeconds: 2,
      sections: { rating: { refresh_interval: "0.25s" }, collect: { batch_periods: 4 } },
    });
    const ratingConn = connect(t, cluster.rating.address);
    const hashmap = ratingConn.client(HashmapServiceService);
    await ratingConn.client(RatingServiceService).updateModule({ name: "hashmap", enabled: true });
    const mapping = async (name: string, cost: string) => {
      const { service } = await hashmap.createService({ name });
      await hashmap.createMapping(
        CreateMappingRequest.fromPartial({
          serviceId: service?.serviceId ?? "",
          type: MappingType.MAPPING_TYPE_FLAT,
          cost,
          start: new Date("2026-01-01T00:00:00Z"),
          force: true,
        }),
      );
    };
    await mapping("instance", "1.25");
    await cluster.addCollector();
    await eventually(async () => (await scopesDone(cluster)) === SCOPES.length, 120_000, "window rated");
    const end = workloadEnd(workload);
    const total = () => cluster.storageClient.total({ begin: BEGIN, end, filters: [] });
    const before = await total();

    // Expected prices, from the workload: 1.25 per running instance, then 0.01 per GiB of volume.
    const usage = await cluster.storageClient.summary({
      begin: BEGIN,
      end,
      groupBy: ["type"],
      filters: [],
      orderBy: [],
      pageSize: 100,
      pageToken: "",
    });
    const qty = (type: string) => {
      const row = usage.rows.find((r) => r.values[usage.columns.indexOf("type")] === type);
      return Decimal.parse(row?.values[usage.columns.indexOf("qty")] ?? "0");
    };
    const instancePrice = qty("instance").mul(Decimal.parse("1.25"));
    assert.ok(Decimal.parse(before.price).eq(instancePrice), `price before: ${before.price}, expected ${instancePrice}`);

    // The volume price was forgotten: add it retroactively, then reprocess the window.
    await mapping("volume.size", "0.01");
    await new Promise((r) => setTimeout(r, 1000));
    const beforeTasks = new Date();
    await new Promise((r) => setTimeout(r, 10));
    const reprocess = connect(t, cluster.storage.address).client(ReprocessServiceService);
    const { tasks } = await reprocess.createTask({ scopeIds: [], allScopes: true, begin: BEGIN, end, reason: "volume price was missing" });
    assert.equal(tasks.length, SCOPES.length);
    await eventually(
      async () => {
        const open = await reprocess.listTasks({ scopeIds: [], unfinishedOnly: true, ascending: true, pageSize: 100, pageToken: "" });
        return open.tasks.length === 0;
      },
      120_000,
      "every task finished",
    );
    const after = await total();
    const expected = instancePrice.add(qty("volume.size").mul(Decimal.parse("0.01")));
    assert.ok(Decimal.parse(after.price).eq(expected), `price after: ${after.price}, expected ${expected}`);
    assert.equal(after.points, before.points, "periods replaced, not added to");
    assert.ok(Decimal.parse(after.qty).eq(Decimal.parse(before.qty)));

    // Each period of each scope was replaced by exactly one reprocessing commit, and the states did not move.
    await eventually(async () => commits(cluster).filter((c) => !c.replayed).length >= SCOPES.length * PERIODS * 2, 10_000, "audit lines");
    const taskIds = new Set(tasks.map((x) => x.taskId));
    const replaced = cluster.storage
      .logs()
      .filter((l) => l.msg === "commit accepted" && taskIds.has(String(l.task_id)) && l.replayed === false)
      .map((l) => `${l.scope_id}@${l.begin}`);
    assert.equal(replaced.length, SCOPES.length * PERIODS);
    assert.equal(new Set(replaced).size, SCOPES.length * PERIODS);
    const { tasks: done } = await reprocess.listTasks({
      scopeIds: [],
      unfinishedOnly: false,
      ascending: true,
      pageSize: 100,
      pageToken: "",
    });
    for (const task of done) {
      assert.equal(task.progress?.toISOString(), end.toISOString());
      assert.equal(task.periodsDone, String(PERIODS));
    }
    assert.equal(await scopesDone(cluster), SCOPES.length, "scope states unchanged");

    // What was billed is kept: as of before the tasks the totals are the instance prices alone, and the
    // adjustments (the billed amounts negated, the new ones) add up to the volume price, tagged with the tasks.
    assert.deepEqual(await cluster.storageClient.total({ begin: BEGIN, end, filters: [], asOf: beforeTasks }), before);
    const lines = [];
    let pageToken = "";
    do {
      const page = await cluster.storageClient.listAdjustments({
        begin: BEGIN,
        end,
        scopeIds: [],
        types: [],
        taskId: "",
        pageSize: 1000,
        pageToken,
      });
      lines.push(...page.lines);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    const net = lines.reduce((sum, l) => sum.add(Decimal.parse(l.price)), Decimal.ZERO);
    assert.ok(net.eq(qty("volume.size").mul(Decimal.parse("0.01"))), `net of the adjustments: ${net}`);
    assert.ok(lines.length > 0);
    for (const l of lines) {
      assert.ok(taskIds.has(l.taskId), `line of task ${l.taskId}`);
      assert.equal(l.reason, "volume price was missing");
    }
    const adjusted = new Set(lines.map((l) => `${l.scopeId}@${l.begin?.toISOString()}`));
    assert.equal(new Set(lines.map((l) => l.adjustmentId)).size, adjusted.size, "one adjustment per re-rated period");
  });
});
