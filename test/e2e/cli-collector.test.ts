/**
 * The `ratemesh` CLI with a collector rating the demo usage file (three
 * projects, 72 hourly periods each): status, the catch-up progress with
 * --watch (plain lines without a terminal, a bar on one), units in
 * summaries, scope resets and switches, and reprocessing with progress.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI_MAIN, meshEnv, runCli } from "../support/cli.js";
import { DEMO_METRICS, REPO_ROOT, startMesh } from "../support/mesh.js";

const SCOPES = ["acme-prod", "globex-dev", "initech-qa"];

describe("ratemesh CLI: collector status, scopes and reprocessing", () => {
  it("follows a catch-up, resets and reprocesses scopes", async (t) => {
    const mesh = await startMesh(t, {
      sections: {
        collect: {
          collector: "file",
          metrics_conf: DEMO_METRICS,
          period: 3600,
          wait_periods: 0,
          start: "2026-11-01T00:00:00Z",
          end: "2026-11-04T00:00:00Z",
        },
        collector_file: { path: join(REPO_ROOT, "deploy/local/usage.jsonl") },
        fetcher: { backend: "source" },
        fetcher_source: { sources: SCOPES.join(", ") },
      },
    });
    const env = meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address, collector: mesh.collector?.address ?? "" });
    const cli = (...args: string[]) => runCli(args, { env });

    await t.test("status --watch without a terminal prints plain progress lines until every scope is caught up", async () => {
      const r = await cli("status", "--watch", "--interval", "0.2");
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assert.ok(!r.stdout.includes("\u001b["), "no terminal control codes");
      const progress = lines
        .slice(0, -1)
        .map((l) => /^\S+Z {2}catch-up: (\d+)\/(\d+) periods done, (\d+) to go, [\d.]+\/s, ETA \S+$/.exec(l));
      assert.ok(progress.length >= 1 && progress.every((m) => m !== null), r.stdout);
      for (const m of progress) assert.equal(Number(m?.[1]) + Number(m?.[3]), Number(m?.[2]), "done + to go = total");
      assert.equal(progress.at(-1)?.[3], "0", "it stops once nothing is behind");
      assert.match(lines.at(-1) ?? "", /^catch-up: \d+ periods in \d+s$/);
    });

    await t.test("status: members, owned scopes, periods behind, last errors", async () => {
      const r = await cli("status");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^coordination +memory, lease held$/m);
      assert.match(r.stdout, /^periods behind +0 over 3 owned scopes$/m);
      for (const s of SCOPES) assert.match(r.stdout, new RegExp(`^${s} +2026-11-04 +0`, "m"));
      assert.match(r.stdout, /^last errors: none$/m);
      const json = JSON.parse((await cli("status", "--format", "json")).stdout) as {
        memberId: string;
        members: unknown[];
        scopes: Array<{ scopeId: string; periodsBehind: string }>;
      };
      assert.equal(json.members.length, 1);
      assert.deepEqual(json.scopes.map((s) => s.scopeId).sort(), SCOPES);
    });

    await t.test("status --watch on a terminal draws a progress bar", () => {
      // `script` gives the CLI a pseudo-terminal as stdout.
      const command = `${process.execPath} ${CLI_MAIN} status --watch --interval 0.2`;
      const r = spawnSync("script", ["-qec", command, "/dev/null"], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /catch-up \[[=-]+\] \d+\/\d+ periods \| [\d.]+\/s \| ETA \S+/);
    });

    await t.test("summary tables show each type's unit from the collector's metrics", async () => {
      const r = await cli("summary", "--begin", "2026-11-01", "--end", "2026-11-04", "-g", "type", "--scope", "acme-prod");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^type +unit +qty +price$/m);
      assert.match(r.stdout, /^instance +instance +216\.00 +0\.00$/m);
      assert.match(r.stdout, /^volume\.size +GiB +14400\.00 +0\.00$/m);
    });

    await t.test("scopes disable, list --inactive, enable", async () => {
      const off = await cli("scopes", "disable", "initech-qa", "--format", "csv");
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stdout, /^initech-qa,no,2026-11-04T00:00:00Z,/m);
      const inactive = await cli("scopes", "list", "--inactive", "--format", "csv");
      assert.equal(inactive.code, 0, inactive.stderr);
      assert.deepEqual(
        inactive.stdout
          .trimEnd()
          .split("\n")
          .slice(1)
          .map((l) => l.split(",")[0]),
        ["initech-qa"],
      );
      const on = await cli("scopes", "enable", "initech-qa");
      assert.equal(on.code, 0, on.stderr);
      assert.match(on.stdout, /^initech-qa +yes +2026-11-04/m);
    });

    await t.test("scopes reset moves a state back to a period boundary", async () => {
      assert.equal((await cli("scopes", "reset", "--to", "2026-11-03")).code, 2, "ids or --all are required");
      const unaligned = await cli("scopes", "reset", "acme-prod", "--to", "2026-11-03T00:30:00Z");
      assert.equal(unaligned.code, 4);
      assert.match(unaligned.stderr, /^ratemesh: state: .*not aligned/);
      const r = await cli("scopes", "reset", "acme-prod", "--to", "2026-11-03");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^acme-prod +yes +2026-11-03 /m);
      // The collector picks the new state up at its next scope refresh (up to 300 s with hourly
      // periods), so what is checked here is storage's side of it.
      const show = await cli("scopes", "show", "acme-prod", "--format", "json");
      assert.equal(show.code, 0, show.stderr);
      assert.equal(Date.parse((JSON.parse(show.stdout) as { state: string }).state), Date.parse("2026-11-03T00:00:00Z"));
      const table = await cli("scopes", "show", "acme-prod");
      assert.match(table.stdout, /^state +2026-11-03$/m);
    });

    await t.test("reprocess create --wait follows the tasks to the end; list shows them", async () => {
      const missing = await cli("reprocess", "create", "globex-dev", "--begin", "2026-11-01", "--end", "2026-11-02");
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--reason/);
      const r = await cli(
        "reprocess",
        "create",
        "globex-dev",
        "--begin",
        "2026-11-01",
        "--end",
        "2026-11-02",
        "--reason",
        "price fix",
        "--wait",
        "--interval",
        "0.2",
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /reprocessing: 24\/24 periods done, 0 to go/);
      assert.match(r.stdout, /^reprocessing: 24 periods in \d+s$/m);
      assert.match(r.stdout, /^\S+ +globex-dev +2026-11-01 +2026-11-02 +24 +24 +2\d{3}-\d\d-\d\d \S+ +price fix +anonymous \(noauth\)$/m);
      const list = await cli("reprocess", "list", "--scope", "globex-dev", "--format", "json");
      const tasks = JSON.parse(list.stdout) as Array<{ periodsDone: string; periodsTotal: string; finishedAt?: string; reason: string }>;
      assert.equal(tasks.length, 1);
      assert.equal(tasks[0]?.periodsDone, "24");
      assert.equal(tasks[0]?.periodsTotal, "24");
      assert.ok(tasks[0]?.finishedAt !== undefined);
      assert.equal((await cli("reprocess", "list", "--unfinished")).stdout, "(none)\n");
    });
  });
});
