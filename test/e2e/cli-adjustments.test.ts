/**
 * `ratemesh adjustments`, `total --as-of` and `summary --as-of` against real
 * storage and rating processes: a period billed 0.50 x 10 = 5.00, a
 * reprocessing task created with the CLI re-rates it at 0.65 (6.50); the
 * CLI lists -5.00 and +6.50 with the task and its reason, the net change
 * 1.50, and the totals now and as billed before the task.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { meshEnv, runCli } from "../support/cli.js";
import { startMesh } from "../support/mesh.js";

const BEGIN = new Date("2026-11-01T00:00:00Z");
const END = new Date("2026-11-01T01:00:00Z");

function compute(price: string): DataPoint[] {
  return [{ type: "instance", unit: "instance", qty: "10", price, groupby: { flavor: "m1.small" }, metadata: {} }];
}

describe("ratemesh CLI: adjustments and as-of", () => {
  it("lists the adjustment lines of a re-rated period and answers totals as billed", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    const env = meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address });
    const cli = (...args: string[]) => runCli(args, { env });
    const commit = (price: string, taskId: string) =>
      mesh.clients.storage.commitPeriod({
        frame: { scopeId: "acme", begin: BEGIN, end: END, points: compute(price) },
        expectedState: taskId === "" ? undefined : BEGIN,
        fencingToken: "1",
        fencingEpoch: "0",
        owner: "cli-test",
        reprocessTaskId: taskId,
        scopeKey: "project_id",
        fetcher: "source",
        collector: "file",
        unpricedPoints: "0",
      });
    await commit("5.00", "");
    await sleep(10);
    const billedAt = new Date().toISOString();
    await sleep(10);

    const created = await cli(
      "reprocess",
      "create",
      "acme",
      "--begin",
      BEGIN.toISOString(),
      "--end",
      END.toISOString(),
      "--reason",
      "instance 0.65",
    );
    assert.equal(created.code, 0, created.stderr);
    const { tasks } = await mesh.clients.reprocess.listTasks({
      scopeIds: ["acme"],
      unfinishedOnly: true,
      ascending: false,
      pageSize: 0,
      pageToken: "",
    });
    const taskId = tasks[0]?.taskId ?? "";
    assert.notEqual(taskId, "");
    await commit("6.50", taskId);

    const range = ["--begin", "2026-11-01", "--end", "2026-11-02"];
    const csv = await cli("adjustments", ...range, "--format", "csv");
    assert.equal(csv.code, 0, csv.stderr);
    const [header, ...rows] = csv.stdout.trim().split("\n");
    assert.equal(header, "adjustment,recorded,scope_id,period,type,groupby,kind,qty,price,by,actor,reason");
    assert.equal(rows.length, 2);
    const fields = rows.map((r) => r.split(","));
    assert.deepEqual(
      fields.map((f) => [f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]]),
      [
        [
          "acme",
          "2026-11-01T00:00:00Z",
          "instance",
          "flavor=m1.small",
          "reversal",
          "-10",
          "-5",
          `task ${taskId}`,
          "anonymous (noauth)",
          "instance 0.65",
        ],
        [
          "acme",
          "2026-11-01T00:00:00Z",
          "instance",
          "flavor=m1.small",
          "rerating",
          "10",
          "6.5",
          `task ${taskId}`,
          "anonymous (noauth)",
          "instance 0.65",
        ],
      ],
    );

    const table = await cli("adjustments", ...range, "--task", taskId);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /1 adjustment\(s\), net price change: 1\.50 \(exactly 1\.5\)/);
    const none = await cli("adjustments", ...range, "--scope", "globex", "--format", "json");
    assert.equal(none.code, 0, none.stderr);
    assert.deepEqual(JSON.parse(none.stdout), []);

    const now = await cli("total", ...range, "--format", "csv");
    assert.match(now.stdout, /,10,6\.5,1\n$/);
    const before = await cli("total", ...range, "--format", "csv", "--as-of", billedAt);
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /,10,5,1\n$/);
    const summary = await cli("summary", ...range, "-g", "flavor", "--as-of", billedAt);
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stdout, new RegExp(`as billed at ${billedAt.replace(/\.\d+Z$/, "")}`));
    assert.match(summary.stdout, /m1\.small\s+10\.0+\s+5\.00/);
  });
});
