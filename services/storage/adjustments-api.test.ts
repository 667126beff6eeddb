/**
 * Adjustments over real gRPC against a storage process, on SQLite and on
 * PostgreSQL: the worked example of the README (0.50 x 10 = 5.00 billed,
 * re-rated at 0.65: 6.50), Total now and as_of, ListAdjustments paged and
 * filtered, a replayed re-commit, a reset with its reason, a period first
 * committed after as_of (absent as of it), and the operator's verifier on
 * the result.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import { REPO_ROOT } from "../../test/support/mesh.js";
import { at, type Backend, commitRequest, instant, point, startStorage } from "./testkit.js";

function apiSuite(backend: Backend) {
  describe(`adjustments over gRPC (${backend})`, () => {
    it("re-rating 0.50 x 10 at 0.65: Total 6.50 now, 5.00 as billed; -5.00 and +6.50 listed with the task, actor and reason", async (t) => {
      const s = await startStorage(t, backend);
      const flavor = { flavor: "m1.small" };
      await s.storage.commitPeriod(commitRequest("p1", 0, [point("compute", "10", "5.00", flavor)], { expected: null }));
      const billedAt = await instant();
      const { tasks } = await s.reprocess.createTask({
        scopeIds: ["p1"],
        allScopes: false,
        begin: at(0),
        end: at(1),
        reason: "compute price 0.50 -> 0.65",
      });
      const task = tasks[0];
      assert.ok(task);
      assert.equal(task.actor, "anonymous (noauth)", "the caller's identity (noauth here)");
      const rerate = commitRequest("p1", 0, [point("compute", "10", "6.50", flavor)], { taskId: task.taskId, expected: at(0) });
      assert.equal((await s.storage.commitPeriod(rerate)).replayed, false);

      const window = { begin: at(0), end: at(1), filters: [] };
      assert.deepEqual(await s.storage.total(window), { qty: "10", price: "6.5", points: "1" });
      assert.deepEqual(await s.storage.total({ ...window, asOf: billedAt }), { qty: "10", price: "5", points: "1" });
      const summary = await s.storage.summary({
        ...window,
        groupBy: ["flavor"],
        orderBy: [],
        pageSize: 0,
        pageToken: "",
        asOf: billedAt,
      });
      assert.deepEqual(
        summary.rows.map((r) => r.values.slice(2)),
        [["10", "5", "m1.small"]],
      );

      const request = { begin: at(0), end: at(24), scopeIds: [], types: [], taskId: "", pageSize: 1, pageToken: "" };
      const page1 = await s.storage.listAdjustments(request);
      const page2 = await s.storage.listAdjustments({ ...request, pageToken: page1.nextPageToken });
      assert.notEqual(page1.nextPageToken, "");
      assert.equal(page2.nextPageToken, "");
      const lines = [...page1.lines, ...page2.lines];
      assert.deepEqual(
        lines.map((l) => [l.kind, l.scopeId, l.type, l.groupby, l.qty, l.price, l.points]),
        [
          ["reversal", "p1", "compute", flavor, "-10", "-5", "-1"],
          ["rerating", "p1", "compute", flavor, "10", "6.5", "1"],
        ],
      );
      for (const l of lines) {
        assert.equal(l.taskId, task.taskId);
        assert.equal(l.resetId, "");
        assert.equal(l.actor, "anonymous (noauth)");
        assert.equal(l.reason, "compute price 0.50 -> 0.65");
        assert.equal(l.begin?.getTime(), at(0).getTime());
        assert.equal(l.end?.getTime(), at(1).getTime());
      }
      // A replayed re-commit records nothing more.
      assert.equal((await s.storage.commitPeriod(rerate)).replayed, true);
      assert.equal((await s.storage.listAdjustments({ ...request, pageSize: 0 })).lines.length, 2);
      assert.equal((await s.storage.listAdjustments({ ...request, pageSize: 0, taskId: "other" })).lines.length, 0);
      assert.equal((await s.storage.listAdjustments({ ...request, pageSize: 0, scopeIds: ["p2"] })).lines.length, 0);

      // A reset with a reason, then the period rated again at 0.70: 7.00.
      await s.scopes.resetScope({ scopeIds: ["p1"], allScopes: false, state: at(0), reason: "tiers fixed" });
      const taskDone = await instant();
      await s.storage.commitPeriod(commitRequest("p1", 0, [point("compute", "10", "7.00", flavor)], { token: 2 }));
      assert.equal((await s.storage.total(window)).price, "7");
      assert.equal((await s.storage.total({ ...window, asOf: taskDone })).price, "6.5");
      assert.equal((await s.storage.total({ ...window, asOf: billedAt })).price, "5");
      const afterReset = (await s.storage.listAdjustments({ ...request, pageSize: 0 })).lines.slice(2);
      assert.deepEqual(
        afterReset.map((l) => [l.kind, l.price, l.taskId, l.reason, l.actor]),
        [
          ["reversal", "-6.5", "", "tiers fixed", "anonymous (noauth)"],
          ["rerating", "7", "", "tiers fixed", "anonymous (noauth)"],
        ],
      );
      assert.ok((afterReset[0]?.resetId ?? "").length > 0);
      const audit = await s.audit.listAuditEvents({ method: "ScopeService/ResetScope", actor: "", pageSize: 0, pageToken: "" });
      assert.deepEqual(
        audit.events.map((e) => e.target),
        ["scopes p1: tiers fixed"],
        "the reset's reason is in the audit trail",
      );

      // Period 1 first committed now, at 3.00: as billed at billedAt it is absent (5.00), now 7.00 + 3.00 = 10.00.
      const day = { begin: at(0), end: at(24), filters: [] };
      const beforePeriod1 = await instant();
      await s.storage.commitPeriod(commitRequest("p1", 1, [point("compute", "6", "3.00", flavor)], { token: 2 }));
      assert.deepEqual(await s.storage.total({ ...day, asOf: billedAt }), { qty: "10", price: "5", points: "1" });
      assert.deepEqual(await s.storage.total({ ...day, asOf: beforePeriod1 }), { qty: "10", price: "7", points: "1" });
      assert.deepEqual(await s.storage.total(day), { qty: "16", price: "10", points: "2" });

      await assert.rejects(
        s.storage.listAdjustments({ ...request, pageToken: "not-a-token" }),
        (e: unknown) => e instanceof RemoteCallError && e.code === grpc.status.INVALID_ARGUMENT && e.details.startsWith("page_token: "),
      );

      await s.proc.stop("SIGTERM", 10_000);
      const verify = spawnSync(process.execPath, [join(REPO_ROOT, "dist/services/storage/verify.js"), "--config", s.configFile], {
        encoding: "utf8",
      });
      assert.equal(verify.status, 0, verify.stderr + verify.stdout);
    });
  });
}

apiSuite("sqlite");
apiSuite("postgresql");
