/**
 * The storage service over real gRPC, one real process per test, run once
 * on SQLite and once on PostgreSQL: bad input is refused naming the field
 * and changes nothing; summaries page and order; frames stream; scopes are
 * reset and reprocessing tasks created through the API.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import Database from "better-sqlite3";
import pg from "pg";
import { Timestamp } from "../../libs/gen/google/protobuf/timestamp.js";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import { Decimal } from "../../libs/money/decimal.js";
import { bufCurl, REPO_ROOT, waitServing } from "../../test/support/mesh.js";
import { at, type Backend, commitRequest, point, startStorage } from "./testkit.js";

async function rawSql(backend: Backend, url: string, sql: string): Promise<void> {
  if (backend === "sqlite") {
    const db = new Database(url);
    db.exec(sql);
    db.close();
    return;
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(sql);
  await c.end();
}

const noScopeFilter = { scopeIds: [], scopeKey: "", fetcher: "", collector: "", pageSize: 0, pageToken: "" };

async function invalid(p: Promise<unknown>, field: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RemoteCallError, String(err));
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.message);
    assert.ok(err.details.startsWith(`${field}: `), `"${err.details}" starts with ${field}`);
    return true;
  });
}

/** A request whose bytes no generated client would produce: a timestamp past year 9999. */
function callRaw(address: string, path: string, body: Buffer): Promise<void> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<void>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err) => {
        client.close();
        if (err) reject(new RemoteCallError(path, err.code ?? grpc.status.UNKNOWN, err.details ?? err.message));
        else resolve();
      },
    );
  });
}

function farTimestampField(field: number): Buffer {
  const ts = Buffer.from(Timestamp.encode({ seconds: "1000000000000000", nanos: 0 }).finish());
  return Buffer.concat([Buffer.from([(field << 3) | 2, ts.length]), ts]);
}

function apiSuite(backend: Backend) {
  describe(`storage API on ${backend}`, () => {
    it("reports SERVING once its database answers", async (t) => {
      const s = await startStorage(t, backend);
      assert.equal(await waitServing(t, s.proc.address), "SERVING");
    });

    it("refuses bad input with INVALID_ARGUMENT naming the field, and changes nothing stored", async (t) => {
      const s = await startStorage(t, backend);
      await s.storage.commitPeriod(
        commitRequest("p1", 0, [point("cpu", "1", "2", { project_id: "p1", flavor: "m1" }), point("cpu", "3", "4", { project_id: "p1" })], {
          expected: null,
        }),
      );
      await s.storage.commitPeriod(commitRequest("p1", 1, [point("cpu", "1", "1", { project_id: "p1" })]));
      const fingerprint = async () => {
        const scopes = await s.scopes.listScopes(noScopeFilter);
        const total = await s.storage.total({ begin: at(0), end: at(1000), filters: [] });
        const tasks = await s.reprocess.listTasks({ scopeIds: [], unfinishedOnly: false, ascending: true, pageSize: 0, pageToken: "" });
        return JSON.stringify({ scopes: scopes.scopes, total, tasks });
      };
      const before = await fingerprint();

      // A malformed time.
      await invalid(callRaw(s.proc.address, "/ratemesh.v1.StorageService/Summary", farTimestampField(1)), "begin");
      await invalid(
        callRaw(s.proc.address, "/ratemesh.v1.ScopeService/ResetScope", Buffer.concat([Buffer.from([0x10, 1]), farTimestampField(3)])),
        "state",
      );
      // A window not aligned to the period.
      const half = new Date(at(1).getTime() + 1800_000);
      await invalid(s.reprocess.createTask({ scopeIds: ["p1"], allScopes: false, begin: half, end: at(2), reason: "x" }), "begin");
      await invalid(s.reprocess.createTask({ scopeIds: ["p1"], allScopes: false, begin: at(0), end: half, reason: "x" }), "end");
      await invalid(s.reprocess.createTask({ scopeIds: ["p1"], allScopes: false, begin: at(1), end: at(1), reason: "x" }), "end");
      await invalid(s.reprocess.createTask({ scopeIds: ["p1"], allScopes: false, begin: at(0), end: at(1), reason: " " }), "reason");
      await invalid(s.reprocess.createTask({ scopeIds: ["p1"], allScopes: true, begin: at(0), end: at(1), reason: "x" }), "all_scopes");
      await invalid(s.scopes.resetScope({ scopeIds: ["p1"], allScopes: false, state: half }), "state");
      await invalid(s.scopes.resetScope({ scopeIds: [], allScopes: false, state: at(0) }), "scope_ids");
      await invalid(s.scopes.createScope({ scopeId: "p9", state: half, scopeKey: "", fetcher: "", collector: "" }), "state");
      await invalid(
        s.storage.commitPeriod({ ...commitRequest("p1", 2, []), frame: { scopeId: "p1", begin: half, end: at(3), points: [] } }),
        "frame.begin",
      );
      await invalid(
        s.storage.commitPeriod({ ...commitRequest("p1", 2, []), frame: { scopeId: "p1", begin: at(2), end: at(4), points: [] } }),
        "frame.end",
      );
      // A negative page size.
      await invalid(s.storage.summary({ groupBy: [], filters: [], orderBy: [], pageSize: -1, pageToken: "" }), "page_size");
      await invalid(s.storage.listDataFrames({ filters: [], pageSize: -5, pageToken: "" }), "page_size");
      await invalid(
        s.reprocess.listTasks({ scopeIds: [], unfinishedOnly: false, ascending: false, pageSize: -1, pageToken: "" }),
        "page_size",
      );
      await invalid(s.scopes.listScopes({ ...noScopeFilter, pageSize: -1 }), "page_size");
      // Unknown group-by keys, filters and columns.
      const summary = (o: {
        groupBy?: string[];
        filters?: Array<{ key: string; values: string[] }>;
        orderBy?: Array<{ column: string; descending: boolean }>;
      }) =>
        s.storage.summary({
          begin: at(0),
          end: at(24),
          groupBy: o.groupBy ?? [],
          filters: o.filters ?? [],
          orderBy: o.orderBy ?? [],
          pageSize: 0,
          pageToken: "",
        });
      await invalid(summary({ groupBy: ["type", "nope"] }), "group_by[1]");
      await invalid(summary({ groupBy: ["time-d", "time-m"] }), "group_by[1]");
      await invalid(summary({ groupBy: ["flavor", "flavor"] }), "group_by[1]");
      await invalid(summary({ groupBy: [""] }), "group_by[0]");
      await invalid(summary({ filters: [{ key: "flavour", values: ["m1"] }] }), "filters[0].key");
      await invalid(summary({ filters: [{ key: "flavor", values: [] }] }), "filters[0].values");
      await invalid(summary({ groupBy: ["flavor"], orderBy: [{ column: "type", descending: false }] }), "order_by[0].column");
      await invalid(s.storage.total({ filters: [{ key: "time-d", values: ["x"] }] }), "filters[0].key");
      await invalid(s.storage.listDataFrames({ filters: [{ key: "nope", values: ["x"] }], pageSize: 0, pageToken: "" }), "filters[0].key");
      await invalid(s.storage.summary({ groupBy: [], filters: [], orderBy: [], pageSize: 0, pageToken: "bm90IGEgdG9rZW4" }), "page_token");
      // Commits with a missing or bad field.
      const ok = commitRequest("p1", 2, [point("cpu", "1", "1", { project_id: "p1" })]);
      const withPoint = (p: Partial<DataPoint>) => ({
        ...ok,
        frame: { ...(ok.frame as NonNullable<typeof ok.frame>), points: [point("cpu", "1", "1"), { ...point("cpu", "1", "1"), ...p }] },
      });
      await invalid(s.storage.commitPeriod({ ...ok, frame: undefined }), "frame");
      await invalid(
        s.storage.commitPeriod({ ...ok, frame: { ...(ok.frame as NonNullable<typeof ok.frame>), scopeId: "" } }),
        "frame.scope_id",
      );
      await invalid(
        s.storage.commitPeriod({ ...ok, frame: { ...(ok.frame as NonNullable<typeof ok.frame>), begin: undefined } }),
        "frame.begin",
      );
      await invalid(s.storage.commitPeriod(withPoint({ type: "" })), "frame.points[1].type");
      await invalid(s.storage.commitPeriod(withPoint({ qty: "" })), "frame.points[1].qty");
      await invalid(s.storage.commitPeriod(withPoint({ price: "1e3" })), "frame.points[1].price");
      await invalid(s.storage.commitPeriod(withPoint({ qty: `1${"0".repeat(45)}` })), "frame.points[1].qty");
      await invalid(s.storage.commitPeriod(withPoint({ groupby: { type: "x" } })), "frame.points[1].groupby");
      await invalid(s.storage.commitPeriod({ ...ok, reprocessTaskId: "t", expectedState: undefined }), "expected_state");
      await invalid(s.scopes.getScope({ scopeId: "" }), "scope_id");
      await invalid(s.scopes.recordScopeError({ scopeId: "p1", message: "", fencingToken: "1", fencingEpoch: "0" }), "message");

      assert.equal(await fingerprint(), before, "nothing stored changed");
      // The same refusal through buf curl and reflection, as an operator sees it.
      const r = bufCurl(`http://${s.proc.address}/ratemesh.v1.StorageService/Summary`, { group_by: ["nope"] });
      assert.equal(r.code, 8 * grpc.status.INVALID_ARGUMENT);
      assert.equal(
        (JSON.parse(r.stderr) as { message: string }).message,
        'group_by[0]: unknown group-by key "nope" (known: type, scope_id, flavor, project_id)',
      );
    });

    it("answers summaries as a table: named columns, exact sums, time buckets, ordering, pages", async (t) => {
      const s = await startStorage(t, backend);
      for (let n = 0; n < 48; n++) {
        const pts = ["a", "b", "c"].map((f, i) =>
          point(i === 2 ? "ram" : "cpu", "0.1", i === 2 ? "0.05" : `0.0${i + 1}`, { project_id: "p1", flavor: f }),
        );
        await s.storage.commitPeriod(commitRequest("p1", n, pts, { expected: n === 0 ? null : at(n) }));
      }
      const res = await s.storage.summary({
        begin: at(0),
        end: at(48),
        groupBy: ["type", "time-d"],
        filters: [],
        orderBy: [{ column: "price", descending: true }],
        pageSize: 0,
        pageToken: "",
      });
      assert.deepEqual(res.columns, ["begin", "end", "qty", "price", "type"]);
      assert.equal(res.totalRows, "4");
      assert.deepEqual(
        res.rows.map((r) => r.values),
        [
          ["2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "2.4", "1.2", "ram"],
          ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z", "2.4", "1.2", "ram"],
          ["2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "4.8", "0.72", "cpu"],
          ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z", "4.8", "0.72", "cpu"],
        ],
      );
      // Paging through 48 periods x 3 flavors, five rows at a time.
      const seen: string[][] = [];
      let pageToken = "";
      do {
        const page = await s.storage.summary({
          begin: at(0),
          end: at(48),
          groupBy: ["time", "flavor"],
          filters: [],
          orderBy: [],
          pageSize: 5,
          pageToken,
        });
        assert.equal(page.totalRows, "144");
        seen.push(...page.rows.map((r) => r.values));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      assert.equal(seen.length, 144);
      assert.deepEqual(seen[3], [at(1).toISOString().replace(".000", ""), at(2).toISOString().replace(".000", ""), "0.1", "0.01", "a"]);
      const first = await s.storage.summary({
        begin: at(0),
        end: at(48),
        groupBy: ["time"],
        filters: [],
        orderBy: [],
        pageSize: 5,
        pageToken: "",
      });
      await invalid(
        s.storage.summary({
          begin: at(0),
          end: at(47),
          groupBy: ["time"],
          filters: [],
          orderBy: [],
          pageSize: 5,
          pageToken: first.nextPageToken,
        }),
        "page_token",
      );
      const total = await s.storage.total({ begin: at(0), end: at(48), filters: [{ key: "flavor", values: ["a", "b"] }] });
      assert.deepEqual(total, { qty: "9.6", price: "1.44", points: "96" });
      // The same through buf curl, with JSON field names.
      const r = bufCurl(`http://${s.proc.address}/ratemesh.v1.StorageService/Summary`, {
        begin: "2026-03-01T00:00:00Z",
        end: "2026-03-03T00:00:00Z",
        group_by: ["flavor", "time-m"],
        filters: [{ key: "type", values: ["cpu"] }],
      });
      assert.equal(r.code, 0, r.stderr);
      const table = JSON.parse(r.stdout) as { columns: string[]; rows: Array<{ values: string[] }> };
      assert.deepEqual(table.columns, ["begin", "end", "qty", "price", "flavor"]);
      assert.deepEqual(
        table.rows.map((row) => row.values),
        [
          ["2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z", "4.8", "0.48", "a"],
          ["2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z", "4.8", "0.96", "b"],
        ],
      );
    });

    it("streams every stored point of a range, a large frame in several messages", async (t) => {
      const s = await startStorage(t, backend);
      const big = Array.from({ length: 4500 }, (_, i) => point("cpu", "1", "0.001", { id: `vm-${i}` }));
      await s.storage.commitPeriod(commitRequest("p1", 0, big, { expected: null }));
      await s.storage.commitPeriod(commitRequest("p1", 1, big.slice(0, 10)));
      let messages = 0;
      let points = 0;
      let price = Decimal.ZERO;
      const ids = new Set<string>();
      for await (const msg of s.storage.streamDataFrames({ begin: at(0), end: at(2), filters: [] })) {
        messages++;
        for (const p of msg.frame?.points ?? []) {
          points++;
          price = price.add(Decimal.parse(p.price));
          ids.add(`${msg.frame?.begin?.getTime()}:${p.groupby.id}`);
        }
      }
      assert.equal(points, 4510);
      assert.equal(ids.size, 4510, "each point once");
      assert.equal(price.normalize().toString(), "4.51");
      assert.ok(messages >= 3, `${messages} messages`);
      const filtered: number[] = [];
      for await (const msg of s.storage.streamDataFrames({
        begin: at(0),
        end: at(2),
        filters: [{ key: "id", values: ["vm-3", "vm-4000"] }],
      })) {
        filtered.push(msg.frame?.points.length ?? 0);
      }
      assert.deepEqual(filtered, [2, 1]);
    });

    it("offers a verify command that recomputes the rollups and names any difference", async (t) => {
      const s = await startStorage(t, backend);
      for (let n = 0; n < 30; n++) {
        await s.storage.commitPeriod(
          commitRequest("p1", n, [point("cpu", "1.5", "0.25", { flavor: "m1" })], { expected: n === 0 ? null : at(n) }),
        );
      }
      await s.proc.stop("SIGTERM", 10_000);
      const verify = () =>
        spawnSync(process.execPath, [join(REPO_ROOT, "dist/services/storage/verify.js"), "--config", s.configFile], { encoding: "utf8" });
      let r = verify();
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /every rollup equals the points it sums/);
      await rawSql(backend, s.url, "UPDATE sums_day SET points = points + 1");
      r = verify();
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stdout, /sums_day 1:1772323200:1: holds 25 points, qty 36, price 6; the points give 24 points, qty 36, price 6\n/);
    });

    it("adds data frames: bad input refused naming the field, a keyed retry not doubled, states untouched, audited", async (t) => {
      const s = await startStorage(t, backend);
      for (let n = 0; n < 24; n++) {
        await s.storage.commitPeriod(
          commitRequest("p1", n, [point("cpu", "1", "0.5", { project_id: "p1", id: "vm1" })], { expected: n === 0 ? null : at(n) }),
        );
      }
      const stateOf = async () => JSON.stringify((await s.scopes.listScopes(noScopeFilter)).scopes);
      const states = await stateOf();
      const total = () => s.storage.total({ begin: at(0), end: at(48), filters: [] });
      const before = await total();
      const frame = (scopeId: string, n: number, points: DataPoint[]) => ({ scopeId, begin: at(n), end: at(n + 1), points });
      const add = (frames: ReturnType<typeof frame>[], idempotencyKey = "") =>
        s.storage.addDataFrames({ frames, idempotencyKey, scopeKey: "project_id", fetcher: "", collector: "" });
      const good = frame("p1", 2, [point("cpu", "2", "0.25", { project_id: "p1", id: "vm2" })]);
      const withPoint = (p: Partial<DataPoint>) => [good, frame("p1", 3, [point("cpu", "1", "1"), { ...point("cpu", "1", "1"), ...p }])];

      await invalid(add([]), "frames");
      await invalid(add([good, { ...good, scopeId: "" }]), "frames[1].scope_id");
      await invalid(add([{ ...good, begin: new Date(at(2).getTime() + 60_000) }]), "frames[0].begin");
      await invalid(add([{ ...good, end: at(4) }]), "frames[0].end");
      await invalid(add(withPoint({ qty: "1e3" })), "frames[1].points[1].qty");
      await invalid(add(withPoint({ price: "0.1.2" })), "frames[1].points[1].price");
      await invalid(add(withPoint({ type: " " })), "frames[1].points[1].type");
      await invalid(add(withPoint({ groupby: { "time-d": "x" } })), "frames[1].points[1].groupby");
      assert.deepEqual(await total(), before, "nothing added");

      const first = await add([good, frame("p2", 30, [point("ram", "4", "0.0004", { project_id: "p2" })])], "retry-me");
      assert.deepEqual(first, { pointsAdded: "2", replayed: false, scopesCreated: ["p2"] });
      const again = await add([good, frame("p2", 30, [point("ram", "4", "0.0004", { project_id: "p2" })])], "retry-me");
      assert.deepEqual(again, { pointsAdded: "2", replayed: true, scopesCreated: [] });
      await assert.rejects(
        add([good], "retry-me"),
        (e: unknown) => e instanceof RemoteCallError && e.code === grpc.status.ALREADY_EXISTS && /different request/.test(e.details),
      );
      assert.deepEqual(await total(), { qty: "30", price: "12.2504", points: "26" });
      const scopes = (await s.scopes.listScopes(noScopeFilter)).scopes;
      assert.equal(JSON.stringify(scopes.filter((x) => x.scopeId === "p1")), JSON.stringify(JSON.parse(states)), "p1 unchanged");
      assert.equal(scopes.find((x) => x.scopeId === "p2")?.state, undefined, "p2 created, never rated");
      const audit = await s.audit.listAuditEvents({ method: "StorageService/AddDataFrames", actor: "", pageSize: 0, pageToken: "" });
      assert.deepEqual(
        audit.events.map((e) => e.target),
        new Array(2).fill("scopes p1, p2: 2 points in 2 frames, idempotency key retry-me"),
        "each successful call is in the audit trail (the replay too), the refused ones are not",
      );

      await s.proc.stop("SIGTERM", 10_000);
      const verify = spawnSync(process.execPath, [join(REPO_ROOT, "dist/services/storage/verify.js"), "--config", s.configFile], {
        encoding: "utf8",
      });
      assert.equal(verify.status, 0, verify.stderr + verify.stdout);
    });

    it("manages scopes, resets and reprocessing tasks through the API", async (t) => {
      const s = await startStorage(t, backend);
      const created = await s.scopes.createScope({
        scopeId: "later",
        active: false,
        state: at(0),
        scopeKey: "project_id",
        fetcher: "f",
        collector: "c",
      });
      assert.equal(created.scope?.active, false);
      await assert.rejects(
        s.scopes.createScope({ scopeId: "later", scopeKey: "", fetcher: "", collector: "" }),
        (e: unknown) => e instanceof RemoteCallError && e.code === grpc.status.ALREADY_EXISTS,
      );
      for (let n = 0; n < 6; n++)
        await s.storage.commitPeriod(commitRequest("p1", n, [point("cpu", "1", "1")], { expected: n === 0 ? null : at(n) }));
      const reset = await s.scopes.resetScope({ scopeIds: ["p1"], allScopes: false, state: at(4) });
      assert.deepEqual(
        reset.scopes.map((x) => [x.scopeId, x.state?.toISOString()]),
        [["p1", at(4).toISOString()]],
      );
      await assert.rejects(
        s.scopes.resetScope({ scopeIds: ["p1"], allScopes: false, state: at(5) }),
        (e: unknown) => e instanceof RemoteCallError && e.code === grpc.status.FAILED_PRECONDITION && /not forward/.test(e.details),
      );
      const { tasks } = await s.reprocess.createTask({ scopeIds: ["p1"], allScopes: false, begin: at(0), end: at(2), reason: "price fix" });
      // No tiered price is involved: the task keeps the window it was given.
      assert.deepEqual(
        tasks.map((x) => [
          x.scopeId,
          x.progress?.toISOString(),
          x.end?.toISOString(),
          x.requestedEnd?.toISOString(),
          x.periodsTotal,
          x.periodsDone,
        ]),
        [["p1", at(0).toISOString(), at(2).toISOString(), at(2).toISOString(), "2", "0"]],
      );
      const taskId = tasks[0]?.taskId ?? "";
      await assert.rejects(
        s.reprocess.createTask({ scopeIds: ["later"], allScopes: false, begin: at(0), end: at(1), reason: "x" }),
        (e: unknown) => e instanceof RemoteCallError && e.code === grpc.status.FAILED_PRECONDITION && /inactive/.test(e.details),
      );
      const res = await s.storage.commitPeriod(commitRequest("p1", 0, [point("cpu", "1", "7")], { taskId, expected: at(0) }));
      assert.equal(res.state?.getTime(), at(1).getTime());
      const listed = await s.reprocess.listTasks({ scopeIds: ["p1"], unfinishedOnly: true, ascending: false, pageSize: 0, pageToken: "" });
      assert.deepEqual(
        listed.tasks.map((x) => [x.taskId, x.progress?.toISOString(), x.periodsDone]),
        [[taskId, at(1).toISOString(), "1"]],
      );
      const total = await s.storage.total({ begin: at(0), end: at(6), filters: [] });
      assert.deepEqual(total, { qty: "6", price: "12", points: "6" });
      const updated = await s.scopes.updateScope({ scopeId: "later", active: true });
      assert.equal(updated.scope?.active, true);
      assert.ok(updated.scope?.activeToggledAt instanceof Date);
      const page1 = await s.scopes.listScopes({ ...noScopeFilter, pageSize: 1 });
      const page2 = await s.scopes.listScopes({ ...noScopeFilter, pageSize: 1, pageToken: page1.nextPageToken });
      assert.deepEqual(
        [...page1.scopes, ...page2.scopes].map((x) => x.scopeId),
        ["later", "p1"],
      );
      assert.equal(page2.nextPageToken, "");
    });
  });
}

apiSuite("sqlite");
apiSuite("postgresql");
