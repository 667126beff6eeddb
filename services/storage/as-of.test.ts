/**
 * "As billed at T" on each engine: a period first committed after T is
 * absent from Summary and Total as of T (its re-ratings are not unwound
 * either), whatever source the planner reads; a re-commit does not move a
 * period's first commit; migration 6 backfills it for periods stored
 * before it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { StorageEngine, SummaryQuery } from "./domain.js";
import { addInput, at, commitInput, type EngineCase, point, postgresCase, sqliteCase } from "./testkit.js";

/** A moment strictly between two writes (the times compared have millisecond precision). */
async function instant(): Promise<Date> {
  await sleep(5);
  const t = new Date();
  await sleep(5);
  return t;
}

async function total(engine: StorageEngine, asOf?: Date, begin = at(0), end = at(24)) {
  const [row] = await engine.summary({ begin, end, groupBy: [], filters: [], asOf });
  return [row?.qty.toString() ?? "0", row?.price.toString() ?? "0", row?.count ?? 0];
}

async function rows(engine: StorageEngine, q: Partial<SummaryQuery>) {
  const got = await engine.summary({ begin: at(0), end: at(24), groupBy: [], filters: [], ...q });
  return got.map((r) => [
    ...(q.groupBy?.includes("time") ? [r.begin.toISOString()] : []),
    ...r.groups,
    r.qty.toString(),
    r.price.toString(),
  ]);
}

function suite(c: EngineCase) {
  describe(`${c.name}: as billed at a time`, () => {
    it("a period first committed after T is absent as of T, and stays absent after it is re-rated", async (t) => {
      const { engine, sql } = await c.open(t);
      // t1: period 0 of p1, compute 10 x 0.50 = 5.00 (flavor m1); and period 0 of p2, 2 x 0.50 = 1.00.
      await engine.commitPeriod(commitInput("p1", 0, [point("compute", "10", "5.00", { flavor: "m1" })], { expected: null }));
      await engine.commitPeriod(commitInput("p2", 0, [point("compute", "2", "1.00", { flavor: "m2" })], { expected: null }));
      const T = await instant();
      // t2 > T: period 1 of p1, compute 4 x 0.50 = 2.00 and storage 10 x 0.10 = 1.00: 3.00.
      await engine.commitPeriod(commitInput("p1", 1, [point("compute", "4", "2.00", { flavor: "m1" }), point("storage", "10", "1.00")]));
      const between = await instant();

      // p1 alone: as of T only period 0 (5.00); now 5.00 + 3.00 = 8.00.
      const p1 = [{ key: "scope_id", values: ["p1"] }];
      assert.deepEqual(await rows(engine, { filters: p1, asOf: T }), [["10", "5"]]);
      assert.deepEqual(await rows(engine, { filters: p1 }), [["24", "8"]]);
      // Every scope: 5.00 + 1.00 = 6.00 as of T (2 points), 9.00 now (4 points).
      assert.deepEqual(await total(engine, T), ["12", "6", 2]);
      assert.deepEqual(await total(engine), ["26", "9", 4]);
      // Before anything was committed: nothing at all.
      assert.deepEqual(await total(engine, new Date(T.getTime() - 3_600_000)), ["0", "0", 0]);

      // t3 > t2: a task re-rates p1's period 0 at 0.65: 10 x 0.65 = 6.50.
      const [task] = await engine.createTasks(
        { scopes: { all: false, scopeIds: ["p1"] }, begin: at(0), end: at(1), reason: "compute 0.65", actor: "alice" },
        new Date(),
      );
      assert.ok(task);
      await engine.commitPeriod(commitInput("p1", 0, [point("compute", "10", "6.50", { flavor: "m1" })], { taskId: task.taskId }));
      const adjustments = await sql("SELECT begin FROM adjustments");
      assert.deepEqual(
        adjustments.map((r) => Number(r.begin)),
        [at(0).getTime() / 1000],
      );

      // p1: as of T 5.00; as of a time between t2 and t3 5.00 + 3.00 = 8.00; now 6.50 + 3.00 = 9.50.
      assert.deepEqual(await rows(engine, { filters: p1, asOf: T }), [["10", "5"]]);
      assert.deepEqual(await rows(engine, { filters: p1, asOf: between }), [["24", "8"]]);
      assert.deepEqual(await rows(engine, { filters: p1 }), [["24", "9.5"]]);
      assert.deepEqual(await rows(engine, { filters: p1, asOf: new Date() }), [["24", "9.5"]]);
      // Every scope, through the day rollup (the range is a whole day): 6.00, 9.00, 10.50.
      assert.deepEqual(await total(engine, T), ["12", "6", 2]);
      assert.deepEqual(await total(engine, between), ["26", "9", 4]);
      assert.deepEqual(await total(engine), ["26", "10.5", 4]);
      // A range that is a part of a day (sums_period): period 1 alone is nothing as of T, 3.00 after t2.
      assert.deepEqual(await total(engine, T, at(1), at(2)), ["0", "0", 0]);
      assert.deepEqual(await total(engine, between, at(1), at(2)), ["14", "3", 2]);

      // p1 by type (the README's example): compute 10 for 5.00 as of T; compute 14 for
      // 5.00 + 2.00 = 7.00 and storage 10 for 1.00 between; compute 14 for 8.50 now.
      assert.deepEqual(await rows(engine, { groupBy: ["type"], filters: p1, asOf: T }), [["compute", "10", "5"]]);
      assert.deepEqual(await rows(engine, { groupBy: ["type"], filters: p1, asOf: between }), [
        ["compute", "14", "7"],
        ["storage", "10", "1"],
      ]);
      assert.deepEqual(await rows(engine, { groupBy: ["type"], filters: p1 }), [
        ["compute", "14", "8.5"],
        ["storage", "10", "1"],
      ]);
      // Every scope by type as of T: only period 0's rows (p1 5.00 + p2 1.00 of compute; no storage).
      assert.deepEqual(await rows(engine, { groupBy: ["type"], asOf: T }), [["compute", "12", "6"]]);
      assert.deepEqual(await rows(engine, { groupBy: ["type"], asOf: between }), [
        ["compute", "16", "8"],
        ["storage", "10", "1"],
      ]);
      assert.deepEqual(await rows(engine, { groupBy: ["type"] }), [
        ["compute", "16", "9.5"],
        ["storage", "10", "1"],
      ]);
      // By scope, period and groupby key (the points): p1's period 1 absent as of T.
      assert.deepEqual(await rows(engine, { groupBy: ["time", "scope_id", "flavor"], asOf: T }), [
        [at(0).toISOString(), "p1", "m1", "10", "5"],
        [at(0).toISOString(), "p2", "m2", "2", "1"],
      ]);
      assert.deepEqual(await rows(engine, { groupBy: ["time", "scope_id", "flavor"], asOf: between }), [
        [at(0).toISOString(), "p1", "m1", "10", "5"],
        [at(0).toISOString(), "p2", "m2", "2", "1"],
        [at(1).toISOString(), "p1", "", "10", "1"],
        [at(1).toISOString(), "p1", "m1", "4", "2"],
      ]);
      // Filtered on a groupby key, by day: flavor m1 is 5.00 as of T, 5.00 + 2.00 = 7.00 between, 8.50 now.
      const m1 = (asOf?: Date) => rows(engine, { groupBy: ["time-d"], filters: [{ key: "flavor", values: ["m1"] }], asOf });
      assert.deepEqual(await m1(T), [["10", "5"]]);
      assert.deepEqual(await m1(between), [["14", "7"]]);
      assert.deepEqual(await m1(), [["14", "8.5"]]);
      assert.deepEqual(await engine.verifyRollups(), []);

      // The verifier checks that an adjustment comes after its period's first commit.
      await sql(`UPDATE frames SET first_committed_at = first_committed_at + 3600000 WHERE begin = ${at(0).getTime() / 1000}`);
      const problems = await engine.verifyRollups();
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0] ?? "", /^adjustments \d+: recorded at \d+, before its period's first commit/);
    });

    it("whole days first committed after T are left out through the day rollups; points added to a period never committed count", async (t) => {
      const { engine } = await c.open(t);
      // Each period: compute 1 x 0.50 (flavor m1, id vm1) and storage 2 x 0.10 = 0.20 (id vol1): 0.70.
      const points = () => [point("compute", "1", "0.50", { flavor: "m1", id: "vm1" }), point("storage", "2", "0.20", { id: "vol1" })];
      await engine.commitPeriod(commitInput("p1", 0, points(), { expected: null }));
      const T = await instant();
      // Periods 1 to 47 after T: the rest of day 1 and all of day 2, both complete (rolled up).
      for (let n = 1; n < 48; n++) await engine.commitPeriod(commitInput("p1", n, points()));
      const q = (groupBy: string[], asOf?: Date, filters: SummaryQuery["filters"] = []) =>
        rows(engine, { end: at(48), groupBy, filters, asOf });

      // As of T: period 0 only, 0.50 + 0.20 = 0.70; now 48 x 0.70 = 33.60.
      assert.deepEqual(await q([], T), [["3", "0.7"]]);
      assert.deepEqual(await q([]), [["144", "33.6"]]);
      // One groupby key (sums_day_key): "" (storage) 2 for 0.20, m1 1 for 0.50; now 96 for 9.60 and 48 for 24.00.
      assert.deepEqual(await q(["flavor"], T), [
        ["", "2", "0.2"],
        ["m1", "1", "0.5"],
      ]);
      assert.deepEqual(await q(["flavor"]), [
        ["", "96", "9.6"],
        ["m1", "48", "24"],
      ]);
      assert.deepEqual(await q(["time-d"], T, [{ key: "flavor", values: ["m1"] }]), [["1", "0.5"]]);
      // Two groupby keys (sums_day_groupset).
      assert.deepEqual(await q(["flavor", "id"], T), [
        ["", "vol1", "2", "0.2"],
        ["m1", "vm1", "1", "0.5"],
      ]);

      // Points added to period 60, ahead of the state (never committed): 3 x 0.50 = 1.50, counted as of T too.
      await engine.addFrames(addInput([["p1", 60, [point("compute", "3", "1.50", { flavor: "m1", id: "vm1" })]]]), new Date());
      const wide = (groupBy: string[], asOf?: Date) => rows(engine, { end: at(72), groupBy, asOf });
      assert.deepEqual(await wide([], T), [["6", "2.2"]]);
      assert.deepEqual(await wide(["flavor"], T), [
        ["", "2", "0.2"],
        ["m1", "4", "2"],
      ]);
      assert.deepEqual(await wide([]), [["147", "35.1"]]);
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("a re-commit leaves the first commit time; migration 6 backfills it from the earliest adjustment or the commit", async (t) => {
      const { engine, sql, reopen } = await c.open(t);
      await engine.commitPeriod(commitInput("p1", 0, [point("compute", "10", "5.00")], { expected: null }));
      await engine.commitPeriod(commitInput("p1", 1, [point("compute", "1", "0.50")]));
      const [first] = await sql(`SELECT first_committed_at, committed_at FROM frames WHERE begin = ${at(0).getTime() / 1000}`);
      const firstAt = Number(first?.first_committed_at);
      assert.ok(Math.abs(firstAt - Number(first?.committed_at) * 1000) < 1000, "milliseconds of the commit's second");
      await sleep(1100);
      await engine.resetScopes({ scopes: { all: false, scopeIds: ["p1"] }, state: at(0), actor: "bob", reason: "fix" }, new Date());
      await engine.commitPeriod(commitInput("p1", 0, [point("compute", "10", "6.50")]));
      const frames = async () =>
        (await sql("SELECT begin, first_committed_at, committed_at FROM frames ORDER BY begin")).map((r) => ({
          first: Number(r.first_committed_at),
          committed: Number(r.committed_at),
        }));
      const [p0, p1] = await frames();
      assert.ok(p0 && p1);
      assert.equal(p0.first, firstAt, "the re-commit left the first commit");
      assert.ok(p0.committed * 1000 > firstAt, "while committed_at moved");
      const [adjustment] = await sql("SELECT recorded_at FROM adjustments");
      const adjustedAt = Number(adjustment?.recorded_at);

      // The database as migration 5 left it: no first commit times (and none of the later migrations).
      await sql("ALTER TABLE frames DROP COLUMN first_committed_at");
      await sql("ALTER TABLE reprocess_tasks DROP COLUMN requested_end");
      await sql("DELETE FROM storage_migrations WHERE version >= 6");
      await reopen();
      const [b0, b1] = await frames();
      // Period 0: its adjustment (the re-commit) is the earliest time known; period 1: its commit's second.
      assert.equal(b0?.first, Math.min(adjustedAt, (b0?.committed ?? 0) * 1000));
      assert.equal(b1?.first, (b1?.committed ?? 0) * 1000);
      assert.deepEqual(
        (await sql("SELECT version FROM storage_migrations ORDER BY version")).map((v) => Number(v.version)),
        [1, 2, 3, 4, 5, 6, 7],
      );
    });
  });
}

suite(sqliteCase);
suite(postgresCase);
