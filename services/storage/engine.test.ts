/**
 * The behaviour of a storage engine, one suite run against each engine:
 * fenced commits and replays, resets and reprocessing that replace and
 * never duplicate, exact sums, and rollups that always equal the points.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../libs/errors/errors.js";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { Decimal } from "../../libs/money/decimal.js";
import type { PeriodPoint, PointFilter, StorageEngine, SummaryQuery } from "./domain.js";
import { addInput, at, commitInput, type EngineCase, PERIOD, point, postgresCase, sqliteCase, T0 } from "./testkit.js";

const DAY_MS = 86_400_000;

async function allPoints(engine: StorageEngine, begin = new Date("2000-01-01T00:00:00Z"), end = new Date("2100-01-01T00:00:00Z")) {
  const out: PeriodPoint[] = [];
  let after: Awaited<ReturnType<StorageEngine["listPoints"]>>["next"];
  do {
    const page = await engine.listPoints({ begin, end, filters: [], limit: 7, after });
    out.push(...page.points);
    after = page.next;
  } while (after !== undefined);
  return out;
}

interface Expected {
  begin: number;
  end: number;
  groups: string[];
  qty: Decimal;
  price: Decimal;
  count: number;
}

/** A summary computed the slow, obvious way from every stored point: the oracle the engines must match. */
function oracle(points: PeriodPoint[], q: SummaryQuery, period: number): Expected[] {
  const b = q.begin.getTime();
  const e = q.end.getTime();
  const bucket = q.groupBy.find((k) => k.startsWith("time"));
  const columns = q.groupBy.filter((k) => !k.startsWith("time"));
  const attr = (p: PeriodPoint, k: string) => (k === "type" ? p.type : k === "scope_id" ? p.scopeId : (p.groupby[k] ?? ""));
  const groups = new Map<string, Expected>();
  for (const p of points) {
    const t = p.begin.getTime();
    if (t < b || t >= e) continue;
    if (!q.filters.every((f) => f.values.includes(attr(p, f.key)))) continue;
    let [bb, be] = [b, e];
    const d = new Date(t);
    const dayStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    switch (bucket) {
      case "time":
        [bb, be] = [t, t + period * 1000];
        break;
      case "time-d":
        [bb, be] = [Math.max(b, dayStart), Math.min(e, dayStart + DAY_MS)];
        break;
      case "time-w": {
        const monday = dayStart - ((d.getUTCDay() + 6) % 7) * DAY_MS;
        [bb, be] = [Math.max(b, monday), Math.min(e, monday + 7 * DAY_MS)];
        break;
      }
      case "time-m":
        [bb, be] = [
          Math.max(b, Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)),
          Math.min(e, Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)),
        ];
        break;
      case "time-y":
        [bb, be] = [Math.max(b, Date.UTC(d.getUTCFullYear(), 0, 1)), Math.min(e, Date.UTC(d.getUTCFullYear() + 1, 0, 1))];
        break;
    }
    const values = columns.map((c) => attr(p, c));
    const key = JSON.stringify([bb, be, values]);
    const g = groups.get(key) ?? { begin: bb, end: be, groups: values, qty: Decimal.ZERO, price: Decimal.ZERO, count: 0 };
    g.qty = g.qty.add(Decimal.parse(p.qty));
    g.price = g.price.add(Decimal.parse(p.price));
    g.count++;
    groups.set(key, g);
  }
  return [...groups.values()].sort((x, y) => x.begin - y.begin || JSON.stringify(x.groups).localeCompare(JSON.stringify(y.groups)));
}

async function assertSummaryMatches(engine: StorageEngine, q: SummaryQuery, what: string, points?: PeriodPoint[]) {
  const rows = await engine.summary(q);
  const want = oracle(points ?? (await allPoints(engine)), q, PERIOD);
  const show = (r: { begin: number; end: number; groups: string[]; qty: Decimal; price: Decimal; count: number }) =>
    `${new Date(r.begin).toISOString()}..${new Date(r.end).toISOString()} [${r.groups.join(",")}] n=${r.count} qty=${r.qty.normalize()} price=${r.price.normalize()}`;
  const got = rows
    .map((r) => ({ ...r, begin: r.begin.getTime(), end: r.end.getTime() }))
    .sort((x, y) => x.begin - y.begin || JSON.stringify(x.groups).localeCompare(JSON.stringify(y.groups)));
  assert.deepEqual(got.map(show), want.map(show), `${what}: ${JSON.stringify(q.groupBy)} ${JSON.stringify(q.filters)}`);
}

async function refused(p: Promise<unknown>, kind: new (...args: never[]) => Error, pattern: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof kind, `${String(err)} is a ${kind.name}`);
    assert.match((err as Error).message, pattern);
    return true;
  });
}

function engineSuite(c: EngineCase) {
  describe(`${c.name} engine`, () => {
    it("migrates an empty database, and opens it again without migrating twice", async (t) => {
      const { engine, reopen, sql } = await c.open(t);
      await engine.commitPeriod(commitInput("p1", 0, [point("cpu", "1", "0.5")], { expected: null }));
      const again = await reopen();
      assert.equal((await again.getScope("p1"))?.state?.toISOString(), at(1).toISOString());
      const versions = await sql("SELECT version FROM storage_migrations ORDER BY version");
      assert.deepEqual(
        versions.map((v) => Number(v.version)),
        [1, 2, 3, 4, 5, 6, 7],
      );
    });

    it("stores a first period, creates its scope and advances the state to the period's end", async (t) => {
      const { engine } = await c.open(t);
      const res = await engine.commitPeriod(
        commitInput("p1", 0, [point("cpu", "1.50", "0.10", { project_id: "p1", id: "vm1" }, { flavor: "m1" }), point("ram", "2048", "0")], {
          expected: null,
          token: 3,
        }),
      );
      assert.deepEqual(res, { state: at(1), replayed: false, pointsWritten: 2 });
      const scope = await engine.getScope("p1");
      assert.equal(scope?.state?.getTime(), at(1).getTime());
      assert.equal(scope?.fencingToken, 3n);
      assert.equal(scope?.scopeKey, "project_id");
      const points = await allPoints(engine);
      assert.deepEqual(
        points.map((p) => [p.scopeId, p.begin.toISOString(), p.end.toISOString(), p.type, p.qty, p.price, p.groupby, p.metadata]),
        [
          ["p1", at(0).toISOString(), at(1).toISOString(), "cpu", "1.5", "0.1", { id: "vm1", project_id: "p1" }, { flavor: "m1" }],
          ["p1", at(0).toISOString(), at(1).toISOString(), "ram", "2048", "0", {}, {}],
        ],
      );
      const next = await engine.commitPeriod(commitInput("p1", 1, [], { token: 3 }));
      assert.equal(next.state.getTime(), at(2).getTime());
      assert.equal(next.pointsWritten, 0);
    });

    it("refuses a stale fencing token, a moved state and an inactive scope, writing nothing", async (t) => {
      const { engine } = await c.open(t);
      await engine.commitPeriod(commitInput("p1", 0, [point("cpu", "1", "1")], { expected: null, token: 5 }));
      await refused(
        engine.commitPeriod(commitInput("p1", 1, [point("cpu", "1", "1")], { token: 4 })),
        FailedPreconditionError,
        /older than 5/,
      );
      await refused(engine.commitPeriod(commitInput("p1", 2, [point("cpu", "1", "1")], { token: 5 })), FailedPreconditionError, /moved/);
      await refused(
        engine.commitPeriod(commitInput("p1", 0, [point("cpu", "9", "9")], { expected: null, token: 6 })),
        FailedPreconditionError,
        /moved/,
      );
      await engine.updateScope(
        { scopeId: "p1", active: false, scopeKey: undefined, fetcher: undefined, collector: undefined, start: undefined },
        new Date(),
      );
      await refused(engine.commitPeriod(commitInput("p1", 1, [point("cpu", "1", "1")], { token: 5 })), FailedPreconditionError, /inactive/);
      const scope = await engine.getScope("p1");
      assert.equal(scope?.state?.getTime(), at(1).getTime());
      assert.equal(scope?.fencingToken, 5n);
      assert.equal((await allPoints(engine)).length, 1);
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("orders fencing records by epoch, then token: a newer epoch re-bases the scope's, an older one is refused; a re-seed lets the next owner in", async (t) => {
      const { engine } = await c.open(t);
      await engine.commitPeriod(commitInput("p1", 0, [point("cpu", "1", "1")], { expected: null, epoch: 100, token: 9000 }));
      // A new coordinator: tokens start again, its epoch is newer.
      await engine.commitPeriod(commitInput("p1", 1, [point("cpu", "1", "1")], { epoch: 200, token: 3 }));
      let scope = await engine.getScope("p1");
      assert.deepEqual([scope?.fencingEpoch, scope?.fencingToken], [200n, 3n]);
      await refused(
        engine.commitPeriod(commitInput("p1", 2, [point("cpu", "1", "1")], { epoch: 100, token: 9001 })),
        FailedPreconditionError,
        /fencing token 9001 of epoch 100 is older than token 3 of epoch 200/,
      );
      await refused(
        engine.commitPeriod(commitInput("p1", 2, [point("cpu", "1", "1")], { epoch: 200, token: 2 })),
        FailedPreconditionError,
        /older than 3/,
      );
      // The refusal is recorded on the scope; the next accepted commit clears it.
      assert.match((await engine.getScope("p1"))?.lastError ?? "", /^commit refused: fencing token 2 is older than 3.*\(period /);
      // A forged record no owner reaches, then the operator's re-seed.
      await engine.commitPeriod(commitInput("p1", 2, [point("cpu", "1", "1")], { epoch: 2n ** 63n - 1n, token: 2n ** 63n - 1n }));
      await refused(engine.commitPeriod(commitInput("p1", 3, [], { epoch: 200, token: 4 })), FailedPreconditionError, /older/);
      const [reseeded] = await engine.reseedFencing({ scopes: { all: false, scopeIds: ["p1"] }, reason: "forged", epoch: 150n }, at(50));
      assert.deepEqual(reseeded?.lastFencingReseed, {
        at: at(50),
        reason: "forged",
        previous: { epoch: 2n ** 63n - 1n, token: 2n ** 63n - 1n },
      });
      assert.equal(reseeded?.state?.getTime(), at(3).getTime(), "the state does not move");
      await refused(engine.commitPeriod(commitInput("p1", 3, [], { epoch: 100, token: 1 })), FailedPreconditionError, /of epoch 100/);
      await engine.commitPeriod(commitInput("p1", 3, [], { epoch: 200, token: 4 }));
      scope = await engine.getScope("p1");
      assert.deepEqual([scope?.fencingEpoch, scope?.fencingToken, scope?.lastError], [200n, 4n, undefined]);
      // RecordScopeError is fenced by the same record.
      await refused(
        engine.recordScopeError({ scopeId: "p1", message: "x", periodBegin: undefined, fencingToken: 99n, fencingEpoch: 100n, at: at(60) }),
        FailedPreconditionError,
        /older/,
      );
    });

    it("refuses a period past storage's clock, naming the skew; fixes a new scope's start once", async (t) => {
      const { engine } = await c.open(t);
      await refused(
        engine.commitPeriod({ ...commitInput("p1", 0, [], { expected: null }), notAfter: at(0) }),
        FailedPreconditionError,
        /^clock skew: the period \[\S+, \S+\) of scope p1 is not finished by storage's clock/,
      );
      await engine.commitPeriod({ ...commitInput("p1", 0, [], { expected: null }), notAfter: at(1) });
      const update = { active: undefined, scopeKey: undefined, fetcher: undefined, collector: undefined };
      await engine.createScope({ scopeId: "p2", active: true, state: undefined, scopeKey: "", fetcher: "", collector: "" }, at(0));
      const fixed = await engine.updateScope({ ...update, scopeId: "p2", start: at(5) }, at(0));
      assert.equal(fixed.state?.getTime(), at(5).getTime());
      await engine.updateScope({ ...update, scopeId: "p2", start: at(5) }, at(0));
      await refused(engine.updateScope({ ...update, scopeId: "p2", start: at(9) }, at(0)), FailedPreconditionError, /fixed once/);
    });

    it("answers a retried commit as replayed without writing twice; the same period with other content is refused", async (t) => {
      const { engine } = await c.open(t);
      const first = commitInput("p1", 0, [point("cpu", "1", "2", { id: "a" })], { expected: null, token: 7 });
      await engine.commitPeriod(first);
      const again = await engine.commitPeriod(commitInput("p1", 0, [point("cpu", "1", "2", { id: "a" })], { expected: null, token: 7 }));
      assert.deepEqual(again, { state: at(1), replayed: true, pointsWritten: 0 });
      await refused(
        engine.commitPeriod(commitInput("p1", 0, [point("cpu", "1", "3", { id: "a" })], { expected: null, token: 7 })),
        FailedPreconditionError,
        /moved/,
      );
      await refused(
        engine.commitPeriod(commitInput("p1", 0, [point("cpu", "1", "2", { id: "a" })], { expected: null, token: 8 })),
        FailedPreconditionError,
        /moved/,
      );
      const total = await engine.summary({ begin: at(0), end: at(24), groupBy: [], filters: [] });
      assert.equal(total[0]?.count, 1);
      assert.equal(total[0]?.price.toString(), "2");
    });

    it("lets exactly one of two replicas racing on the same period win, for a new scope and an existing one", async (t) => {
      const { engine, reopen } = await c.open(t);
      const other = await reopen();
      const race = async (n: number, expected: Date | null) => {
        const results = await Promise.allSettled([
          engine.commitPeriod(commitInput("race", n, [point("cpu", "1", "1", { id: "a" })], { expected, token: 1, owner: "a" })),
          other.commitPeriod(commitInput("race", n, [point("cpu", "1", "1", { id: "b" })], { expected, token: 2, owner: "b" })),
        ]);
        const won = results.filter((r) => r.status === "fulfilled");
        const lost = results.filter((r) => r.status === "rejected");
        assert.equal(won.length, 1, `one winner for period ${n}: ${JSON.stringify(results.map((r) => r.status))}`);
        assert.ok(lost[0]?.reason instanceof FailedPreconditionError, String(lost[0]?.reason));
      };
      await race(0, null);
      await race(1, at(1));
      const points = await allPoints(engine);
      assert.equal(points.length, 2, "one point per period, never both");
      assert.equal(new Set(points.map((p) => p.begin.getTime())).size, 2);
      assert.equal((await engine.getScope("race"))?.state?.getTime(), at(2).getTime());
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("counts the points stored with no price rule on the scope, and follows the periods rated again", async (t) => {
      const { engine } = await c.open(t);
      const unpriced = async () => {
        const s = await engine.getScope("p1");
        return [s?.unpricedPoints, s?.unpricedPeriods, s?.lastUnpricedPeriod?.toISOString()];
      };
      const pts = [point("cpu", "1", "0"), point("cpu", "1", "0"), point("ram", "1", "0.5")];
      await engine.commitPeriod(commitInput("p1", 0, pts, { expected: null, unpriced: 2 }));
      assert.deepEqual(await unpriced(), [2, 1, at(0).toISOString()]);
      await engine.commitPeriod(commitInput("p1", 1, pts, { unpriced: 0 }));
      await engine.commitPeriod(commitInput("p1", 2, pts, { unpriced: 3 }));
      assert.deepEqual(await unpriced(), [5, 2, at(2).toISOString()]);
      // A replay counts nothing twice.
      const replay = await engine.commitPeriod(commitInput("p1", 2, pts, { unpriced: 3 }));
      assert.equal(replay.replayed, true);
      assert.deepEqual(await unpriced(), [5, 2, at(2).toISOString()]);
      // The price list fixed, the periods rated again: the counts follow what is stored.
      await engine.resetScopes({ scopes: { all: false, scopeIds: ["p1"] }, state: at(0) }, new Date());
      await engine.commitPeriod(commitInput("p1", 0, pts, { token: 2, unpriced: 0 }));
      assert.deepEqual(await unpriced(), [3, 1, at(2).toISOString()]);
      await engine.commitPeriod(commitInput("p1", 1, pts, { token: 2, unpriced: 1 }));
      await engine.commitPeriod(commitInput("p1", 2, pts, { token: 2, unpriced: 0 }));
      assert.deepEqual(await unpriced(), [1, 1, at(1).toISOString()]);
      await engine.resetScopes({ scopes: { all: false, scopeIds: ["p1"] }, state: at(1) }, new Date());
      await engine.commitPeriod(commitInput("p1", 1, pts, { token: 3, unpriced: 0 }));
      assert.deepEqual(await unpriced(), [0, 0, undefined]);
      // A count beyond the frame's points is refused, naming the field.
      assert.throws(
        () => commitInput("p1", 3, pts, { token: 3, unpriced: 4 }),
        /unpriced_points: must be from 0 to the frame's 3 points, got 4/,
      );
    });

    it("resets a state back: periods are rated again and replace what was stored, with no gap and no duplicate", async (t) => {
      const { engine } = await c.open(t);
      for (let n = 0; n < 4; n++) {
        await engine.commitPeriod(
          commitInput("p1", n, [point("cpu", "1", "10", { id: "vm" })], { expected: n === 0 ? null : at(n), token: 1 }),
        );
      }
      // A committer is working on period 4 when the reset lands.
      const inFlight = commitInput("p1", 4, [point("cpu", "1", "10", { id: "vm" })], { token: 1 });
      const [reset] = await engine.resetScopes({ scopes: { all: false, scopeIds: ["p1"] }, state: at(1) }, new Date());
      assert.equal(reset?.state?.getTime(), at(1).getTime());
      await refused(
        engine.commitPeriod(inFlight),
        FailedPreconditionError,
        /expected 2026-03-01T04:00:00.000Z, the scope is at 2026-03-01T01:00:00.000Z/,
      );
      // Until a period is rated again its previous rating stays: no hole in the bill.
      let rows = await engine.summary({ begin: at(0), end: at(24), groupBy: ["time"], filters: [] });
      assert.deepEqual(
        rows.map((r) => [r.begin.getTime(), r.price.toString()]),
        [0, 1, 2, 3].map((n) => [at(n).getTime(), "10"]),
      );
      // The period that starts at the new state is the next one rated, and replaces.
      await engine.commitPeriod(commitInput("p1", 1, [point("cpu", "1", "20", { id: "vm" })], { token: 2 }));
      await engine.commitPeriod(commitInput("p1", 2, [], { token: 2 }));
      rows = await engine.summary({ begin: at(0), end: at(24), groupBy: ["time"], filters: [] });
      assert.deepEqual(
        rows.map((r) => [r.begin.getTime(), r.price.toString(), r.count]),
        [
          [at(0).getTime(), "10", 1],
          [at(1).getTime(), "20", 1],
          [at(3).getTime(), "10", 1],
        ],
      );
      assert.equal((await engine.getScope("p1"))?.state?.getTime(), at(3).getTime());
      assert.deepEqual(await engine.verifyRollups(), []);
      // Forward, or a scope never rated: refused.
      await refused(
        engine.resetScopes({ scopes: { all: false, scopeIds: ["p1"] }, state: at(9) }, new Date()),
        FailedPreconditionError,
        /not forward/,
      );
      await engine.createScope({ scopeId: "p2", active: true, state: undefined, scopeKey: "", fetcher: "", collector: "" }, new Date());
      await refused(
        engine.resetScopes({ scopes: { all: false, scopeIds: ["p2"] }, state: at(0) }, new Date()),
        FailedPreconditionError,
        /never rated/,
      );
      await refused(engine.resetScopes({ scopes: { all: false, scopeIds: ["nope"] }, state: at(0) }, new Date()), NotFoundError, /nope/);
      // all_scopes moves back only the scopes rated beyond the new state.
      const all = await engine.resetScopes({ scopes: { all: true }, state: at(2) }, new Date());
      assert.deepEqual(
        all.map((s) => [s.scopeId, s.state?.getTime()]),
        [["p1", at(2).getTime()]],
      );
    });

    it("creates reprocessing tasks within the rated window, and their commits replace periods and advance the task", async (t) => {
      const { engine } = await c.open(t);
      for (let n = 0; n < 6; n++) {
        await engine.commitPeriod(
          commitInput("p1", n, [point("cpu", "1", "1", { id: "vm" })], { expected: n === 0 ? null : at(n), token: 1 }),
        );
      }
      await engine.commitPeriod(commitInput("p2", 0, [point("cpu", "1", "1")], { expected: null }));
      const now = new Date();
      await refused(
        engine.createTasks({ scopes: { all: false, scopeIds: ["p1"] }, begin: at(2), end: at(7), reason: "x" }, now),
        FailedPreconditionError,
        /end at or before its state/,
      );
      await refused(
        engine.createTasks({ scopes: { all: false, scopeIds: ["zz"] }, begin: at(0), end: at(1), reason: "x" }, now),
        NotFoundError,
        /zz/,
      );
      const [task] = await engine.createTasks(
        { scopes: { all: false, scopeIds: ["p1"] }, begin: at(2), end: at(5), reason: "new prices" },
        now,
      );
      assert.ok(task !== undefined);
      assert.deepEqual(
        [task.scopeId, task.begin, task.end, task.progress, task.periodsTotal, task.periodsDone, task.finishedAt],
        ["p1", at(2), at(5), at(2), 3, 0, undefined],
      );
      await refused(
        engine.createTasks({ scopes: { all: false, scopeIds: ["p1"] }, begin: at(4), end: at(6), reason: "x" }, now),
        FailedPreconditionError,
        /already has an unfinished reprocess task/,
      );
      // all_scopes: the scopes rated far enough (p2 is not).
      const created = await engine.createTasks({ scopes: { all: true }, begin: at(5), end: at(6), reason: "x" }, now);
      assert.deepEqual(
        created.map((x) => x.scopeId),
        ["p1"],
      );

      const rp = (n: number, price: string, o: { expected?: Date; token?: number } = {}) =>
        commitInput("p1", n, [point("cpu", "1", price, { id: "vm" })], {
          taskId: task.taskId,
          expected: o.expected ?? at(n),
          token: o.token ?? 1,
        });
      await refused(engine.commitPeriod(rp(3, "5")), FailedPreconditionError, /progress of reprocess task .* moved/);
      await refused(engine.commitPeriod(rp(2, "5", { token: 0 })), FailedPreconditionError, /older than 1/);
      await refused(engine.commitPeriod(commitInput("p2", 2, [], { taskId: task.taskId })), InvalidArgumentError, /reprocesses scope p1/);
      await refused(engine.commitPeriod(commitInput("p1", 2, [], { taskId: "no-such-task" })), NotFoundError, /no-such-task/);
      assert.deepEqual(await engine.commitPeriod(rp(2, "5")), { state: at(3), replayed: false, pointsWritten: 1 });
      assert.deepEqual(await engine.commitPeriod(rp(2, "5")), { state: at(3), replayed: true, pointsWritten: 0 });
      await engine.commitPeriod(rp(3, "5"));
      let [listed] = (
        await engine.listTasks({ scopeIds: ["p1"], unfinishedOnly: true, ascending: true, limit: 10, after: undefined })
      ).filter((x) => x.taskId === task.taskId);
      assert.deepEqual([listed?.progress, listed?.periodsDone, listed?.finishedAt], [at(4), 2, undefined]);
      await engine.commitPeriod(rp(4, "5"));
      [listed] = (await engine.listTasks({ scopeIds: ["p1"], unfinishedOnly: false, ascending: true, limit: 10, after: undefined })).filter(
        (x) => x.taskId === task.taskId,
      );
      assert.equal(listed?.periodsDone, 3);
      assert.ok(listed?.finishedAt instanceof Date);
      await refused(engine.commitPeriod(rp(5, "5")), FailedPreconditionError, /finished/);
      const unfinished = await engine.listTasks({ scopeIds: [], unfinishedOnly: true, ascending: false, limit: 10, after: undefined });
      assert.ok(!unfinished.some((x) => x.taskId === task.taskId));
      // The scope's state did not move; the reprocessed periods replaced the old ones.
      assert.equal((await engine.getScope("p1"))?.state?.getTime(), at(6).getTime());
      const rows = await engine.summary({ begin: at(0), end: at(24), groupBy: ["time"], filters: [{ key: "scope_id", values: ["p1"] }] });
      assert.deepEqual(
        rows.map((r) => r.price.toString()),
        ["1", "1", "5", "5", "5", "1"],
      );
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("clips the reprocessing tasks a reset overtakes: the periods after the new state are rated again anyway", async (t) => {
      const { engine } = await c.open(t);
      for (let n = 0; n < 8; n++) await engine.commitPeriod(commitInput("p1", n, [], { expected: n === 0 ? null : at(n) }));
      const [a] = await engine.createTasks({ scopes: { all: false, scopeIds: ["p1"] }, begin: at(1), end: at(6), reason: "a" }, new Date());
      assert.ok(a !== undefined);
      await engine.commitPeriod(commitInput("p1", 1, [], { taskId: a.taskId, expected: at(1) }));
      await engine.resetScopes({ scopes: { all: false, scopeIds: ["p1"] }, state: at(4) }, new Date());
      let [task] = await engine.listTasks({ scopeIds: ["p1"], unfinishedOnly: false, ascending: true, limit: 5, after: undefined });
      assert.deepEqual([task?.end, task?.progress, task?.finishedAt], [at(4), at(2), undefined]);
      await engine.resetScopes({ scopes: { all: false, scopeIds: ["p1"] }, state: at(1) }, new Date());
      [task] = await engine.listTasks({ scopeIds: ["p1"], unfinishedOnly: false, ascending: true, limit: 5, after: undefined });
      assert.deepEqual([task?.end, task?.progress], [at(2), at(2)]);
      assert.ok(task?.finishedAt instanceof Date);
      await refused(
        engine.commitPeriod(commitInput("p1", 2, [], { taskId: a.taskId, expected: at(2) })),
        FailedPreconditionError,
        /finished/,
      );
    });

    it("sums exactly: many decimals, huge values, negatives, values beyond 18 decimals", async (t) => {
      const { engine } = await c.open(t);
      const values = [
        "0.1",
        "0.2",
        "-0.3",
        "123456789012345678901234567890.123456789012345678901234567891",
        "9223372036854775807",
        "9223372036854775807",
        "0.000000000000000000000000000001",
        "-1",
        "12.50000000",
      ];
      const points = values.map((v, i) => point("t", v, v, { k: String(i % 2) }));
      await engine.commitPeriod(commitInput("p1", 0, points, { expected: null }));
      // Day-complete: the day's last period rolls the day up.
      for (let n = 1; n < 24; n++) await engine.commitPeriod(commitInput("p1", n, n === 5 ? points : []));
      const expected = values
        .reduce((s, v) => s.add(Decimal.parse(v)), Decimal.ZERO)
        .mul(Decimal.of(2))
        .normalize()
        .toString();
      for (const groupBy of [[], ["k"], ["type"], ["k", "time-d"], ["time"]]) {
        const rows = await engine.summary({ begin: at(0), end: at(48), groupBy, filters: [] });
        const sum = rows.reduce((s, r) => s.add(r.qty), Decimal.ZERO).normalize();
        assert.equal(sum.toString(), expected, `qty summed by ${JSON.stringify(groupBy)}`);
        assert.equal(
          rows
            .reduce((s, r) => s.add(r.price), Decimal.ZERO)
            .normalize()
            .toString(),
          expected,
        );
      }
      const stored = (await allPoints(engine)).map((p) => p.qty);
      assert.deepEqual(
        stored.slice(0, values.length),
        values.map((v) => Decimal.parse(v).normalize().toString()),
      );
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("keeps every rollup equal to the points through commits, resets and reprocessing, and summaries equal to a recount", async (t) => {
      const { engine, sql } = await c.open(t);
      let seed = 42;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const scopes = ["alpha", "beta", "gamma"];
      const frame = (scope: string, variant: number): DataPoint[] => {
        const out: DataPoint[] = [];
        const count = 2 + rand(4);
        for (let i = 0; i < count; i++) {
          const id = `r${rand(5)}`;
          const groupby: Record<string, string> = { project_id: scope, id };
          if (rand(3) > 0) groupby.flavor = ["small", "large"][rand(2)] as string;
          const qty = `${rand(1000)}.${rand(1000)}`;
          const price = rand(17) === 0 ? "0.0000000000000000000012345" : `${rand(50) - 10}.${variant}${rand(100)}`;
          out.push(point(["cpu", "disk", "net"][rand(3)] as string, qty, price, groupby));
        }
        return out;
      };
      const hours = 72;
      for (const s of scopes) {
        for (let n = 0; n < hours - (s === "gamma" ? 5 : 0); n++) {
          await engine.commitPeriod(commitInput(s, n, frame(s, 1), { expected: n === 0 ? null : at(n) }));
        }
      }
      const rolled = await sql("SELECT COUNT(*) AS n FROM rolled_days");
      assert.equal(Number(rolled[0]?.n), 8, "alpha and beta rolled 3 days, gamma 2");

      const queries: Array<Omit<SummaryQuery, "filters"> & { filters?: PointFilter[] }> = [];
      const ranges: Array<[Date, Date]> = [
        [at(0), at(hours)],
        [at(5), at(61)],
        [at(26), at(40)],
        [new Date(T0.getTime() - 7 * DAY_MS), new Date(T0.getTime() + 40 * DAY_MS)],
      ];
      const groupings = [
        [],
        ["type"],
        ["scope_id", "type"],
        ["flavor"],
        ["flavor", "time-d"],
        ["id", "time"],
        ["scope_id", "time-w"],
        ["type", "time-m"],
        ["time-y"],
        ["project_id", "flavor", "time-d"],
      ];
      const filterSets: PointFilter[][] = [
        [],
        [{ key: "flavor", values: ["small", ""] }],
        [{ key: "type", values: ["cpu", "net"] }],
        [
          { key: "scope_id", values: ["beta", "gamma"] },
          { key: "flavor", values: ["large"] },
        ],
      ];
      for (const [begin, end] of ranges) for (const groupBy of groupings) queries.push({ begin, end, groupBy });
      for (const filters of filterSets)
        for (const groupBy of [[], ["flavor", "time-d"], ["type", "time"]]) queries.push({ begin: at(3), end: at(70), groupBy, filters });
      const check = async (phase: string) => {
        assert.deepEqual(await engine.verifyRollups(), [], phase);
        const points = await allPoints(engine);
        for (const q of queries) await assertSummaryMatches(engine, { ...q, filters: q.filters ?? [] }, phase, points);
      };
      await check("after rating");

      // Reset alpha into the middle of day 1 and rate everything again with new prices.
      await engine.resetScopes({ scopes: { all: false, scopeIds: ["alpha"] }, state: at(34) }, new Date());
      for (let n = 34; n < hours; n++) await engine.commitPeriod(commitInput("alpha", n, frame("alpha", 2), { token: 2 }));
      // Reset beta to day 2 and rate only three periods: day 2 keeps old and new ratings side by side.
      await engine.resetScopes({ scopes: { all: false, scopeIds: ["beta"] }, state: at(53) }, new Date());
      for (let n = 53; n < 56; n++) await engine.commitPeriod(commitInput("beta", n, frame("beta", 3), { token: 2 }));
      await check("after resets");

      // Reprocess gamma across a day boundary; the task ends inside day 1.
      const [task] = await engine.createTasks(
        { scopes: { all: false, scopeIds: ["gamma"] }, begin: at(20), end: at(27), reason: "fix" },
        new Date(),
      );
      assert.ok(task !== undefined);
      for (let n = 20; n < 27; n++) {
        await engine.commitPeriod(
          commitInput("gamma", n, n === 23 ? [] : frame("gamma", 4), { taskId: task.taskId, expected: at(n), token: 3 }),
        );
        if (n === 22) await check("in the middle of a reprocessing task");
      }
      await check("after reprocessing");
      const rolledAfter = await sql("SELECT COUNT(*) AS n FROM rolled_days");
      assert.equal(Number(rolledAfter[0]?.n), 7, "beta's day 2 waits for its last period; every other rewritten day was rolled again");
    });

    it("lists points by scope and period with page tokens, and filters on scope, type and any groupby key", async (t) => {
      const { engine } = await c.open(t);
      for (const s of ["s1", "s2", "s3"]) {
        for (let n = 0; n < 3; n++) {
          const pts = [0, 1, 2].map((i) =>
            point(i === 2 ? "disk" : "cpu", String(i + 1), "1", { id: `${s}-${i}`, zone: i === 0 ? "a" : "b" }),
          );
          await engine.commitPeriod(commitInput(s, n, pts, { expected: n === 0 ? null : at(n) }));
        }
      }
      const all = await allPoints(engine);
      assert.equal(all.length, 27);
      assert.deepEqual(
        [...new Set(all.map((p) => `${p.scopeId}@${p.begin.getTime()}`))],
        ["s1", "s2", "s3"].flatMap((s) => [0, 1, 2].map((n) => `${s}@${at(n).getTime()}`)),
        "grouped by scope, then period, in frame order",
      );
      const filtered = async (filters: PointFilter[], begin = at(0), end = at(3)) => {
        const out: PeriodPoint[] = [];
        let after: Awaited<ReturnType<StorageEngine["listPoints"]>>["next"];
        do {
          const page = await engine.listPoints({ begin, end, filters, limit: 2, after });
          out.push(...page.points);
          after = page.next;
        } while (after !== undefined);
        return out.map(
          (p) =>
            `${p.scopeId}:${p.begin.getTime() === at(0).getTime() ? 0 : p.begin.getTime() === at(1).getTime() ? 1 : 2}:${p.groupby.id}`,
        );
      };
      assert.deepEqual(
        await filtered([
          { key: "scope_id", values: ["s2"] },
          { key: "type", values: ["disk"] },
        ]),
        ["s2:0:s2-2", "s2:1:s2-2", "s2:2:s2-2"],
      );
      assert.deepEqual(await filtered([{ key: "zone", values: ["a"] }], at(1), at(2)), ["s1:1:s1-0", "s2:1:s2-0", "s3:1:s3-0"]);
      assert.deepEqual(await filtered([{ key: "zone", values: ["zz", ""] }]), []);
      assert.equal((await filtered([{ key: "id", values: ["s1-1", "s3-2"] }])).length, 6);
    });

    it("replaces a period's points and rollups even when no frame record was kept for it", async (t) => {
      const { engine, sql } = await c.open(t);
      for (const n of [0, 1, 2])
        await engine.commitPeriod(commitInput("p1", n, [point("cpu", "1", "10")], { expected: n === 0 ? null : at(n) }));
      // Points without a frame record, as a database loaded from elsewhere may hold.
      await sql(`DELETE FROM frames WHERE begin = ${at(1).getTime() / 1000} RETURNING begin`);
      await engine.resetScopes({ scopes: { all: false, scopeIds: ["p1"] }, state: at(1) }, new Date());
      await engine.commitPeriod(commitInput("p1", 1, [point("cpu", "1", "20")], { token: 2 }));
      const points = (await allPoints(engine)).filter((p) => p.begin.getTime() === at(1).getTime());
      assert.deepEqual(
        points.map((p) => p.price),
        ["20"],
      );
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("adds points to stored periods: appended and summed, rollups exact, no state moved, a keyed replay not doubled", async (t) => {
      const { engine, sql } = await c.open(t);
      // A whole day rated: its groupby rollups are built.
      for (let n = 0; n < 24; n++) {
        await engine.commitPeriod(
          commitInput("p1", n, [point("cpu", "1", "0.5", { project_id: "p1", id: "vm1" })], { expected: n === 0 ? null : at(n), token: 4 }),
        );
      }
      const before = await engine.getScope("p1");
      const frames: Array<[string, number, DataPoint[]]> = [
        ["p1", 3, [point("cpu", "2", "1.25", { project_id: "p1", id: "vm2" }, { flavor: "m1" })]],
        ["p1", 3, [point("ram", "0.1", "0.0000000000000000000001", { project_id: "p1", zone: "a" })]],
        ["p1", 30, [point("cpu", "1", "7", { project_id: "p1", id: "vm1" })]],
        ["p-new", 5, [point("cpu", "3", "-0.75", { project_id: "p-new", id: "vm9" })]],
        ["p-empty", 6, []],
      ];
      const res = await engine.addFrames(addInput(frames, "import-1"), new Date());
      assert.deepEqual(res, { pointsAdded: 4, replayed: false, scopesCreated: ["p-empty", "p-new"] });

      const after = await engine.getScope("p1");
      assert.deepEqual(after, before, "the rated scope's state, fencing record and error are untouched");
      for (const id of ["p-new", "p-empty"]) {
        const created = await engine.getScope(id);
        assert.equal(created?.state, undefined, `${id} is created never rated`);
        assert.equal(created?.scopeKey, "project_id");
      }
      const period3 = (await allPoints(engine)).filter((p) => p.scopeId === "p1" && p.begin.getTime() === at(3).getTime());
      assert.deepEqual(
        period3.map((p) => [p.type, p.qty, p.price, p.groupby.id ?? p.groupby.zone, p.metadata]),
        [
          ["cpu", "1", "0.5", "vm1", {}],
          ["cpu", "2", "1.25", "vm2", { flavor: "m1" }],
          ["ram", "0.1", "0.0000000000000000000001", "a", {}],
        ],
        "appended after what the period held, in order",
      );
      const total = await engine.summary({ begin: at(0), end: at(48), groupBy: [], filters: [] });
      assert.equal(total[0]?.count, 28);
      assert.equal(total[0]?.price.toString(), "19.5000000000000000000001");
      assert.deepEqual(await engine.verifyRollups(), []);
      assert.equal(Number((await sql("SELECT COUNT(*) AS n FROM rolled_days"))[0]?.n), 1, "the day is rolled up again");
      for (const groupBy of [["type"], ["id", "time"], ["zone", "time-d"], ["scope_id", "flavor"]]) {
        await assertSummaryMatches(engine, { begin: at(0), end: at(48), groupBy, filters: [] }, "after the addition");
      }
      await assertSummaryMatches(
        engine,
        { begin: at(2), end: at(40), groupBy: ["type"], filters: [{ key: "id", values: ["vm2", "vm9"] }] },
        "filtered",
      );

      // The same request again under its key: answered, not written twice.
      const replay = await engine.addFrames(addInput(frames, "import-1"), new Date());
      assert.deepEqual(replay, { pointsAdded: 4, replayed: true, scopesCreated: [] });
      assert.equal((await engine.summary({ begin: at(0), end: at(48), groupBy: [], filters: [] }))[0]?.count, 28);
      await refused(engine.addFrames(addInput(frames.slice(1), "import-1"), new Date()), AlreadyExistsError, /import-1.*different request/);
      // Without a key, each request appends.
      const unkeyed: Array<[string, number, DataPoint[]]> = [["p-new", 5, [point("cpu", "1", "1", { project_id: "p-new" })]]];
      await engine.addFrames(addInput(unkeyed), new Date());
      await engine.addFrames(addInput(unkeyed), new Date());
      const pNew = await engine.summary({ begin: at(0), end: at(48), groupBy: [], filters: [{ key: "scope_id", values: ["p-new"] }] });
      assert.deepEqual([pNew[0]?.count, pNew[0]?.price.toString()], [3, "1.25"]);
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("lets a later commit of a period replace the points added to it: first rated, or rated again after a reset", async (t) => {
      const { engine } = await c.open(t);
      const cpu = (price: string) => [point("cpu", "1", price, { project_id: "p1", id: "vm1" })];
      for (let n = 0; n < 3; n++) await engine.commitPeriod(commitInput("p1", n, cpu("1"), { expected: n === 0 ? null : at(n) }));
      await engine.addFrames(
        addInput([
          ["p1", 1, cpu("100")],
          ["p1", 3, cpu("1000")],
        ]),
        new Date(),
      );
      const byPeriod = async () =>
        (await engine.summary({ begin: at(0), end: at(24), groupBy: ["time"], filters: [] })).map((r) => [
          (r.begin.getTime() - at(0).getTime()) / 3_600_000,
          r.price.toString(),
          r.count,
        ]);
      assert.deepEqual(await byPeriod(), [
        [0, "1", 1],
        [1, "101", 2],
        [2, "1", 1],
        [3, "1000", 1],
      ]);
      // Period 3 rated for the first time: the commit replaces what was added.
      await engine.commitPeriod(commitInput("p1", 3, cpu("2")));
      // Period 1 rated again after a reset: likewise.
      await engine.resetScopes({ scopes: { all: false, scopeIds: ["p1"] }, state: at(1) }, new Date());
      await engine.commitPeriod(commitInput("p1", 1, cpu("3"), { token: 2 }));
      assert.deepEqual(await byPeriod(), [
        [0, "1", 1],
        [1, "3", 1],
        [2, "1", 1],
        [3, "2", 1],
      ]);
      assert.deepEqual(await engine.verifyRollups(), []);
    });

    it("applies a keyed addition once when the same request races on two replicas", async (t) => {
      const { engine, reopen } = await c.open(t);
      const other = await reopen();
      const frames: Array<[string, number, DataPoint[]]> = [["p1", 0, [point("cpu", "1", "2", { project_id: "p1" })]]];
      const results = await Promise.all([
        engine.addFrames(addInput(frames, "k"), new Date()),
        other.addFrames(addInput(frames, "k"), new Date()),
      ]);
      assert.deepEqual(results.map((r) => r.replayed).sort(), [false, true]);
      const total = await engine.summary({ begin: at(0), end: at(24), groupBy: [], filters: [] });
      assert.equal(total[0]?.count, 1);
      assert.deepEqual(await engine.verifyRollups(), []);
    });
  });
}

engineSuite(sqliteCase);
engineSuite(postgresCase);
