/**
 * Bad input is refused clearly: a bad configuration stops a service at start
 * with every problem named by file, section and option; a malformed request
 * gets INVALID_ARGUMENT naming the field, and changes nothing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import { bufCurl, connect, startMesh, startService, tempDir, writeConfig } from "../support/mesh.js";
import { serviceEntry } from "../support/service-process.js";

function runWithConfig(service: "storage" | "rating" | "collector", configFile: string) {
  return spawnSync(process.execPath, [serviceEntry(service), "--config", configFile], { encoding: "utf8", timeout: 20_000 });
}

describe("bad configuration", () => {
  it("makes each service exit non-zero, naming file, line, section and option of every problem at once", (t) => {
    const dir = tempDir(t);
    const file = writeConfig(dir, {
      storage: { url: join(dir, "s.sqlite"), listen: "127.0.0.1:0", compression: "yes" },
      collect: { period: "hourly", wait_periods: "-1" },
      server: { grace_period: "ten seconds" },
    });
    for (const service of ["storage", "rating", "collector"] as const) {
      const r = runWithConfig(service, file);
      assert.equal(r.status, 2, `${service} exit status`);
      assert.match(r.stderr, new RegExp(`${file}:4: \\[storage\\] compression: unknown option`));
      assert.match(r.stderr, new RegExp(`${file}:7: \\[collect\\] period: "hourly" is not an integer`));
      assert.match(r.stderr, new RegExp(`${file}:8: \\[collect\\] wait_periods: -1 is below the minimum 0`));
      assert.match(r.stderr, new RegExp(`${file}:11: \\[server\\] grace_period: "ten seconds" is not a duration`));
      // The default collector (Gnocchi with Keystone) and the default
      // fetcher (Keystone), as CloudKitty's, need four Keystone options each.
      assert.match(r.stderr, new RegExp(`invalid configuration \\(${service === "collector" ? 12 : 4} problems\\)`));
      assert.equal(r.stdout, "", "nothing started");
    }
  });

  it("names a missing required value", (t) => {
    const dir = tempDir(t);
    const file = writeConfig(dir, { collect: { collector: "file" }, fetcher: { backend: "source" } });
    const r = runWithConfig("collector", file);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`${file}: \\[collector_file\\] path: a value is required when \\[collect\\] collector = file`));
    assert.match(r.stderr, new RegExp(`${file}: \\[fetcher_source\\] sources: a value is required when \\[fetcher\\] backend = source`));
  });

  it("names a wrong value given through the environment", (t) => {
    const dir = tempDir(t);
    const file = writeConfig(dir, { storage: { url: join(dir, "s.sqlite") } });
    const r = spawnSync(process.execPath, [serviceEntry("storage"), "--config", file], {
      encoding: "utf8",
      env: { ...process.env, RATEMESH_STORAGE__LISTEN: "nowhere", RATEMESH_STORAGE__NOPE: "1" },
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /environment RATEMESH_STORAGE__LISTEN: \[storage\] listen: "nowhere" is not host:port/);
    assert.match(r.stderr, /environment RATEMESH_STORAGE__NOPE: \[storage\] nope: unknown option/);
  });

  it("refuses a metrics.yml with problems, naming metric and key", (t) => {
    const dir = tempDir(t);
    const metrics = join(dir, "metrics.yml");
    writeFileSync(
      metrics,
      "metrics:\n  cpu:\n    unit: instance\n    groupby: [id]\n    metadata: [id]\n    mutate: MAP\n  ram:\n    factor: x\n    unit: MiB\n",
    );
    writeFileSync(join(dir, "u.jsonl"), "");
    const file = writeConfig(dir, {
      collect: { collector: "file", metrics_conf: metrics },
      collector_file: { path: join(dir, "u.jsonl") },
      fetcher: { backend: "source" },
      fetcher_source: { sources: "a" },
      collector: { listen: "127.0.0.1:0" },
    });
    const r = runWithConfig("collector", file);
    assert.equal(r.status, 2);
    const out = r.stderr;
    assert.match(out, new RegExp(`invalid metrics configuration ${metrics} \\(3 problems\\)`));
    assert.match(out, /metric cpu: mutate_map: is required \(a map\) when mutate is MAP/);
    assert.match(out, /metric cpu: metadata: "id" is also in groupby/);
    assert.match(out, /metric ram: factor: "x" is not a number/);
  });

  it("--check-config checks metrics.yml as the service does at start; an empty mutate_map is valid, mapping every value to 0", async (t) => {
    const dir = tempDir(t);
    const metrics = join(dir, "metrics.yml");
    const usage = join(dir, "u.jsonl");
    writeFileSync(
      usage,
      `${JSON.stringify({ metric: "cpu", scope_id: "a", begin: "2026-03-01T00:00:00Z", qty: 5, groupby: { id: "vm" } })}\n`,
    );
    const file = writeConfig(dir, {
      collect: { collector: "file", metrics_conf: metrics },
      collector_file: { path: usage },
      fetcher: { backend: "source" },
      fetcher_source: { sources: "a" },
      collector: { listen: "127.0.0.1:0" },
    });
    const check = () => spawnSync(process.execPath, [serviceEntry("collector"), "--config", file, "--check-config"], { encoding: "utf8" });

    writeFileSync(metrics, "metrics:\n  cpu:\n    unit: instance\n    groupby: [id]\n    factor: x\n");
    const bad = check();
    assert.equal(bad.status, 2, bad.stdout);
    assert.match(bad.stderr, new RegExp(`invalid metrics configuration ${metrics} \\(1 problem\\)`));
    assert.match(bad.stderr, /metric cpu: factor: "x" is not a number/);
    assert.doesNotMatch(bad.stdout, /valid/);

    // CloudKitty accepts MAP with an empty map: every value maps to 0.
    writeFileSync(metrics, "metrics:\n  cpu:\n    unit: instance\n    groupby: [id]\n    mutate: MAP\n    mutate_map: {}\n");
    const good = check();
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /configuration is valid for collector/);
    const collector = await startService(t, { service: "collector", configFile: file });
    const res = await connect(t, collector.address)
      .client(CollectorServiceService)
      .collect({ scopeId: "a", metric: "cpu", begin: new Date("2026-03-01T00:00:00Z") });
    assert.deepEqual(
      res.points.map((p) => p.qty),
      ["0"],
    );
  });
});

describe("malformed requests", () => {
  it("get INVALID_ARGUMENT naming the field, and change nothing", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    const { storage, scopes } = mesh.clients;
    const frame = {
      scopeId: "p1",
      begin: new Date("2026-03-01T00:00:00Z"),
      end: new Date("2026-03-01T01:00:00Z"),
      points: [{ type: "instance", unit: "instance", qty: "1.5", price: "0", groupby: {}, metadata: {} }],
    };
    const commit = {
      frame,
      expectedState: undefined,
      fencingToken: "1",
      fencingEpoch: "0",
      owner: "t",
      reprocessTaskId: "",
      scopeKey: "",
      fetcher: "",
      collector: "",
      unpricedPoints: "0",
    };

    const refused = async (p: Promise<unknown>, field: string) => {
      await assert.rejects(p, (err: unknown) => {
        assert.ok(err instanceof RemoteCallError, String(err));
        assert.equal(err.code, status.INVALID_ARGUMENT);
        assert.ok(err.details.startsWith(`${field}: `), `"${err.details}" names ${field}`);
        return true;
      });
    };
    await refused(
      storage.commitPeriod({ ...commit, frame: { ...frame, points: [{ ...frame.points[0], qty: "1,5" }] } } as never),
      "frame.points[0].qty",
    );
    await refused(
      storage.commitPeriod({ ...commit, frame: { ...frame, begin: new Date("2026-03-01T00:30:00Z") } } as never),
      "frame.begin",
    );
    await refused(storage.commitPeriod({ ...commit, frame: { ...frame, scopeId: "" } } as never), "frame.scope_id");
    await refused(storage.commitPeriod({ ...commit, fencingToken: "1", frame: undefined } as never), "frame");
    await refused(scopes.listScopes({ scopeIds: [], scopeKey: "", fetcher: "", collector: "", pageSize: -5, pageToken: "" }), "page_size");
    await refused(
      scopes.listScopes({ scopeIds: [], scopeKey: "", fetcher: "", collector: "", pageSize: 0, pageToken: "garbage!" }),
      "page_token",
    );
    // Tokens that decode, to something no page token is.
    const reprocess = mesh.clients.reprocess;
    for (const decoded of ["null", "5", "[]", '"x"', '{"o":"1"}']) {
      const pageToken = Buffer.from(decoded).toString("base64url");
      await refused(scopes.listScopes({ scopeIds: [], scopeKey: "", fetcher: "", collector: "", pageSize: 0, pageToken }), "page_token");
      await refused(storage.listDataFrames({ filters: [], pageSize: 0, pageToken }), "page_token");
      await refused(storage.summary({ groupBy: [], filters: [], orderBy: [], pageSize: 0, pageToken }), "page_token");
      await refused(reprocess.listTasks({ scopeIds: [], unfinishedOnly: false, ascending: false, pageSize: 0, pageToken }), "page_token");
    }
    await refused(
      mesh.clients.rating.rate({
        frames: [{ scopeId: "p1", begin: frame.begin, end: frame.end, points: [{ ...frame.points[0], price: "free" } as never] }],
      }),
      "frames[0].points[0].price",
    );

    // Nothing was stored by the refused commits.
    const { scopes: list } = await scopes.listScopes({
      scopeIds: [],
      scopeKey: "",
      fetcher: "",
      collector: "",
      pageSize: 0,
      pageToken: "",
    });
    assert.deepEqual(list, []);
    const total = await storage.total({ begin: new Date("2026-01-01T00:00:00Z"), end: new Date("2027-01-01T00:00:00Z"), filters: [] });
    assert.equal(total.points, "0");

    // The same through buf curl: the message names the field, the exit code is 8 x INVALID_ARGUMENT.
    const r = bufCurl(`http://${mesh.storage.address}/ratemesh.v1.ScopeService/GetScope`, { scope_id: "" });
    assert.equal(r.code, 8 * status.INVALID_ARGUMENT);
    assert.match(r.stderr + r.stdout, /scope_id: is required/);
  });
});
