/**
 * Re-rating as signed adjustments, on each engine: a period billed at
 * 0.50 x 10 = 5.00 and re-rated at 0.65 x 10 = 6.50 keeps what was billed,
 * records -5.00 and +6.50 tagged with the task (or the reset), its actor
 * and reason; totals answer now and as billed at an earlier time; a replay
 * records nothing more; equal amounts record nothing; the verifier passes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Decimal } from "../../libs/money/decimal.js";
import type { StorageEngine } from "./domain.js";
import { at, commitInput, type EngineCase, instant, point, postgresCase, sqliteCase } from "./testkit.js";

const d = (s: string) => Decimal.parse(s);

async function total(engine: StorageEngine, begin: Date, end: Date, asOf?: Date) {
  const [row] = await engine.summary({ begin, end, groupBy: [], filters: [], asOf });
  return { price: row?.price.toString() ?? "0", qty: row?.qty.toString() ?? "0", count: row?.count ?? 0 };
}

function lines(engine: StorageEngine, o: { taskId?: string; types?: string[] } = {}) {
  return engine.listAdjustments({
    begin: at(0),
    end: at(24),
    scopeIds: [],
    types: o.types ?? [],
    taskId: o.taskId,
    limit: 100,
    after: undefined,
  });
}

function suite(c: EngineCase) {
  describe(`${c.name}: re-rating as signed adjustments`, () => {
    it("a reprocessing task that re-prices a period records -old and +new, tagged; totals now and as billed", async (t) => {
      const { engine, sql } = await c.open(t);
      // Period 0: 10 units at 0.50 = 5.00; period 1: 4 units at 0.50 = 2.00.
      await engine.commitPeriod(commitInput("p1", 0, [point("compute", "10", "5.00", { flavor: "m1" })], { expected: null }));
      await engine.commitPeriod(commitInput("p1", 1, [point("compute", "4", "2.00", { flavor: "m1" })]));
      const beforeTask = await instant();

      const [task] = await engine.createTasks(
        { scopes: { all: false, scopeIds: ["p1"] }, begin: at(0), end: at(2), reason: "price 0.65", actor: "alice (u-1)" },
        new Date(),
      );
      assert.ok(task);
      assert.equal(task.actor, "alice (u-1)");
      // The task re-rates period 0 at 0.65: 10 x 0.65 = 6.50; period 1 at the same amount as billed (no change).
      const rerate = commitInput("p1", 0, [point("compute", "10", "6.50", { flavor: "m1" })], { taskId: task.taskId });
      assert.equal((await engine.commitPeriod(rerate)).replayed, false);
      // The same commit again (a lost reply: same token and digest) is a replay and records nothing more.
      assert.equal((await engine.commitPeriod(rerate)).replayed, true);
      assert.equal((await lines(engine)).length, 2);
      assert.equal(
        (await engine.commitPeriod(commitInput("p1", 1, [point("compute", "4", "2.00", { flavor: "m1" })], { taskId: task.taskId })))
          .replayed,
        false,
      );

      // Now: 6.50 for period 0; as billed before the task: 5.00.
      assert.deepEqual(await total(engine, at(0), at(1)), { price: "6.5", qty: "10", count: 1 });
      assert.deepEqual(await total(engine, at(0), at(1), beforeTask), { price: "5", qty: "10", count: 1 });
      // Over both periods: 6.50 + 2.00 = 8.50 now, 5.00 + 2.00 = 7.00 as billed.
      assert.equal((await total(engine, at(0), at(24))).price, "8.5");
      assert.equal((await total(engine, at(0), at(24), beforeTask)).price, "7");
      // As of now (after every adjustment): the same as now.
      assert.equal((await total(engine, at(0), at(24), new Date())).price, "8.5");
      // Grouped by a groupby key and the period, as billed.
      const byFlavor = await engine.summary({ begin: at(0), end: at(24), groupBy: ["flavor", "time"], filters: [], asOf: beforeTask });
      assert.deepEqual(
        byFlavor.map((r) => [r.begin.toISOString(), r.groups[0], r.price.toString()]),
        [
          [at(0).toISOString(), "m1", "5"],
          [at(1).toISOString(), "m1", "2"],
        ],
      );

      // By day with a groupby filter: 5.00 + 2.00 = 7.00 as billed on 2026-03-01, 8.50 now.
      const byDay = async (asOf?: Date) =>
        (await engine.summary({ begin: at(0), end: at(48), groupBy: ["time-d"], filters: [{ key: "flavor", values: ["m1"] }], asOf })).map(
          (r) => [r.begin.toISOString(), r.price.toString(), r.count],
        );
      assert.deepEqual(await byDay(beforeTask), [[at(0).toISOString(), "7", 2]]);
      assert.deepEqual(await byDay(), [[at(0).toISOString(), "8.5", 2]]);

      const got = await lines(engine);
      assert.deepEqual(
        got.map((l) => [l.kind, l.scopeId, l.begin.toISOString(), l.type, l.groupby, l.qty.toString(), l.price.toString(), l.points]),
        [
          ["reversal", "p1", at(0).toISOString(), "compute", { flavor: "m1" }, "-10", "-5", -1],
          ["rerating", "p1", at(0).toISOString(), "compute", { flavor: "m1" }, "10", "6.5", 1],
        ],
      );
      for (const l of got) {
        assert.equal(l.taskId, task.taskId);
        assert.equal(l.resetId, undefined);
        assert.equal(l.actor, "alice (u-1)");
        assert.equal(l.reason, "price 0.65");
        assert.ok(l.recordedAt.getTime() > beforeTask.getTime());
      }
      // The adjustment's net is the difference: -5.00 + 6.50 = 1.50.
      assert.ok(got.reduce((s, l) => s.add(l.price), Decimal.ZERO).eq(d("1.5")));
      // The billed point is kept as history.
      const billed = await sql("SELECT count(*) AS n FROM billed_points");
      assert.equal(Number(billed[0]?.n), 1);

      assert.equal((await lines(engine, { taskId: task.taskId })).length, 2);
      assert.equal((await lines(engine, { taskId: "another" })).length, 0);
      assert.equal((await lines(engine, { types: ["storage"] })).length, 0);
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("a reset then regular rating records adjustments tagged with the reset; as_of between the two re-ratings", async (t) => {
      const { engine } = await c.open(t);
      // Period 0: 2 points, 3 x 1.25 = 3.75 (flavor m1) and 1 GB x 0.10 = 0.10 (storage).
      await engine.commitPeriod(
        commitInput("p1", 0, [point("compute", "3", "3.75", { flavor: "m1" }), point("storage", "1", "0.10")], { expected: null }),
      );
      const t0 = await instant();
      const [task] = await engine.createTasks(
        { scopes: { all: false, scopeIds: ["p1"] }, begin: at(0), end: at(1), reason: "compute 1.50", actor: "alice" },
        new Date(),
      );
      assert.ok(task);
      // Compute re-priced at 1.50: 3 x 1.50 = 4.50; storage unchanged.
      await engine.commitPeriod(
        commitInput("p1", 0, [point("compute", "3", "4.50", { flavor: "m1" }), point("storage", "1", "0.10")], { taskId: task.taskId }),
      );
      const t1 = await instant();
      await engine.resetScopes(
        { scopes: { all: false, scopeIds: ["p1"] }, state: at(0), actor: "bob (u-2)", reason: "flavor moved" },
        new Date(),
      );
      // Rated again: the compute point now under flavor m2 at 1.60 (4.80), storage gone.
      await engine.commitPeriod(commitInput("p1", 0, [point("compute", "3", "4.80", { flavor: "m2" })]));

      // Now 4.80; at t1 (after the task, before the reset) 4.50 + 0.10 = 4.60; at t0, 3.75 + 0.10 = 3.85.
      assert.equal((await total(engine, at(0), at(1))).price, "4.8");
      assert.deepEqual(await total(engine, at(0), at(1), t1), { price: "4.6", qty: "4", count: 2 });
      assert.deepEqual(await total(engine, at(0), at(1), t0), { price: "3.85", qty: "4", count: 2 });
      const byFlavor = async (asOf?: Date) =>
        (await engine.summary({ begin: at(0), end: at(1), groupBy: ["type", "flavor"], filters: [], asOf })).map((r) => [
          ...r.groups,
          r.price.toString(),
        ]);
      assert.deepEqual(await byFlavor(), [["compute", "m2", "4.8"]]);
      assert.deepEqual(await byFlavor(t1), [
        ["compute", "m1", "4.5"],
        ["storage", "", "0.1"],
      ]);

      const all = await lines(engine);
      // The task's adjustment: compute only (storage equal in both) -3.75 / +4.50 ... and storage's lines, equal, are kept
      // with it: an adjustment lists every line of the period it replaced.
      const byTask = all.filter((l) => l.taskId === task.taskId);
      assert.deepEqual(
        byTask.map((l) => [l.kind, l.type, l.price.toString()]),
        [
          ["reversal", "compute", "-3.75"],
          ["reversal", "storage", "-0.1"],
          ["rerating", "compute", "4.5"],
          ["rerating", "storage", "0.1"],
        ],
      );
      const byReset = all.filter((l) => l.taskId === undefined);
      assert.deepEqual(
        byReset.map((l) => [l.kind, l.type, l.groupby, l.price.toString()]),
        [
          ["reversal", "compute", { flavor: "m1" }, "-4.5"],
          ["reversal", "storage", {}, "-0.1"],
          ["rerating", "compute", { flavor: "m2" }, "4.8"],
        ],
      );
      for (const l of byReset) {
        assert.ok(l.resetId !== undefined && l.resetId.length > 0);
        assert.equal(l.actor, "bob (u-2)");
        assert.equal(l.reason, "flavor moved");
      }
      // Net of every line: 4.80 - 3.85 = 0.95.
      assert.ok(all.reduce((s, l) => s.add(l.price), Decimal.ZERO).eq(d("0.95")));
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("re-rating a period at the same amounts records nothing, and the first rating of a period is no adjustment", async (t) => {
      const { engine, sql } = await c.open(t);
      await engine.commitPeriod(commitInput("p1", 0, [point("compute", "10", "5.00")], { expected: null }));
      await engine.resetScopes({ scopes: { all: false, scopeIds: ["p1"] }, state: at(0), actor: "bob", reason: "" }, new Date());
      // The same amounts, written differently.
      await engine.commitPeriod(commitInput("p1", 0, [point("compute", "10.0", "5")]));
      await engine.commitPeriod(commitInput("p1", 1, [point("compute", "1", "0.50")]));
      assert.equal((await lines(engine)).length, 0);
      assert.equal(Number((await sql("SELECT count(*) AS n FROM billed_points"))[0]?.n), 0);
      assert.equal(Number((await sql("SELECT count(*) AS n FROM adjustments"))[0]?.n), 0);
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("the verifier finds adjustment lines that disagree with the billed history", async (t) => {
      const { engine, sql } = await c.open(t);
      await engine.commitPeriod(commitInput("p1", 0, [point("compute", "10", "5.00")], { expected: null }));
      const [task] = await engine.createTasks(
        { scopes: { all: false, scopeIds: ["p1"] }, begin: at(0), end: at(1), reason: "fix", actor: "alice" },
        new Date(),
      );
      assert.ok(task);
      await engine.commitPeriod(commitInput("p1", 0, [point("compute", "10", "6.50")], { taskId: task.taskId }));
      assert.deepEqual(await engine.verifyRollups(), []);
      await sql("DELETE FROM billed_points RETURNING seq");
      const problems = await engine.verifyRollups();
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0] ?? "", /adjustment_lines \(billed\).*holds 1 points, qty 10, price 5; the points give nothing/);
    });
  });
}

suite(sqliteCase);
suite(postgresCase);
