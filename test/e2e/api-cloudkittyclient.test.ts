/**
 * The api gateway under CloudKitty's own client: Debian's
 * python-cloudkittyclient 4.6 (`cloudkitty` and its Python API) against a
 * gateway process over real storage, rating and collector processes. Every
 * command the client has for modules, hashmap, reports, data frames,
 * scopes, reprocessing, info and quotes runs, and the test checks what it
 * shows: the values CloudKitty would give for the same price list and
 * usage, exact decimals where the HTTP answer carries them.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { GetScopeRequest } from "../../libs/gen/ratemesh/v1/storage.js";
import { Decimal } from "../../libs/money/decimal.js";
import { CLOUDKITTY, CloudKittyCli, cloudkittyClientInstalled } from "../support/cloudkitty-cli.js";
import { eventually, type Mesh, startMesh, startService, tempDir } from "../support/mesh.js";
import { freePort } from "../support/ports.js";
import type { ServiceProcess } from "../support/service-process.js";

const PERIOD = 3600;
const BEGIN = Date.parse("2026-03-01T00:00:00Z");
const PERIODS = 4;
const at = (h: number) => new Date(BEGIN + h * PERIOD * 1000);
/** CloudKitty's naive ISO form of a period start: 2026-03-01T01:00:00. */
const naive = (h: number) => at(h).toISOString().slice(0, 19);
const RANGE = ["-b", "2026-03-01T00:00:00", "-e", "2026-03-02T00:00:00"];
const RANGE_Z = ["-b", "2026-03-01T00:00:00Z", "-e", "2026-03-02T00:00:00Z"];
const QUERY_RANGE = "begin=2026-03-01T00:00:00&end=2026-03-02T00:00:00";

const METRICS = `
metrics:
  cpu:
    unit: instance
    alt_name: instance
    groupby: [id]
    metadata: [flavor_name]
    mutate: NUMBOOL
  volume.size:
    unit: GiB
    groupby: [id]
    metadata: [volume_type]
`;

/**
 * Per period: p-alpha runs vm-1 (m1.tiny) and a 10.5 GiB ssd volume, p-beta
 * runs vm-2 (m1.small). Records of the period after the last are never rated.
 */
function usage(): string {
  const lines: string[] = [];
  for (let h = 0; h <= PERIODS; h++) {
    const begin = at(h).toISOString();
    lines.push(
      JSON.stringify({
        metric: "cpu",
        scope_id: "p-alpha",
        begin,
        qty: 1000,
        groupby: { id: "vm-1" },
        metadata: { flavor_name: "m1.tiny" },
      }),
    );
    lines.push(
      JSON.stringify({
        metric: "volume.size",
        scope_id: "p-alpha",
        begin,
        qty: "10.5",
        groupby: { id: "vol-1" },
        metadata: { volume_type: "ssd" },
      }),
    );
    lines.push(
      JSON.stringify({ metric: "cpu", scope_id: "p-beta", begin, qty: 5, groupby: { id: "vm-2" }, metadata: { flavor_name: "m1.small" } }),
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The price list (global rules, valid since before the usage):
 * instance 0.1 per instance (_DEFAULT_), plus by flavor in group "flavors":
 * m1.tiny 0.3333333333333333333333333333, m1.small 1.25; volume.size 0.01
 * per GiB. Hashmap sums the groups, so per period:
 */
const PRICE = {
  alphaInstance: "0.4333333333333333333333333333",
  alphaVolume: "0.105",
  betaInstance: "1.35",
};
const sum = (...xs: Array<string | Decimal>) =>
  xs.reduce<Decimal>((s, x) => s.add(typeof x === "string" ? Decimal.parse(x) : x), Decimal.ZERO);
const times = (n: number, x: string) => sum(...new Array<string>(n).fill(x));
const same = (got: unknown, want: Decimal | string, what: string) => {
  const w = typeof want === "string" ? Decimal.parse(want) : want;
  assert.ok(Decimal.parse(String(got)).eq(w), `${what}: got ${String(got)}, want ${w.toString()}`);
};

/** Every JSON number of a text as its literal (strings untouched), to check exact digits. */
function numbersAsText(text: string): unknown {
  return JSON.parse(
    text.replace(/"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g, (m, n: string | undefined) => (n === undefined ? m : `"${n}"`)),
  );
}

interface Http {
  status: number;
  text: string;
  json: () => unknown;
  headers: Headers;
}

async function http(
  base: string,
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Http> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? "GET",
    redirect: "manual",
    headers: { "content-type": "application/json", ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text), headers: res.headers };
}

interface Setup {
  mesh: Mesh;
  api: ServiceProcess;
  base: string;
  cli: CloudKittyCli;
  configFile: string;
  collectorPort: number;
}

async function setup(t: TestContext): Promise<Setup> {
  assert.ok(
    cloudkittyClientInstalled(),
    `${CLOUDKITTY} is missing: install Debian's python3-cloudkittyclient (apt-get install python3-cloudkittyclient)`,
  );
  const dir = tempDir(t);
  writeFileSync(join(dir, "metrics.yml"), METRICS);
  writeFileSync(join(dir, "usage.jsonl"), usage());
  const collectorPort = await freePort();
  const mesh = await startMesh(t, {
    withCollector: false,
    sections: {
      collector: { listen: `127.0.0.1:${collectorPort}` },
      collect: {
        collector: "file",
        metrics_conf: join(dir, "metrics.yml"),
        period: PERIOD,
        wait_periods: 0,
        start: at(0).toISOString(),
        end: at(PERIODS).toISOString(),
      },
      collector_file: { path: join(dir, "usage.jsonl") },
      fetcher: { backend: "source" },
      fetcher_source: { sources: "p-alpha, p-beta" },
    },
  });
  const api = await startService(t, {
    service: "api",
    configFile: mesh.configFile,
    env: {
      RATEMESH_API__LISTEN: "127.0.0.1:0",
      RATEMESH_STORAGE__ENDPOINT: mesh.storage.address,
      RATEMESH_RATING__ENDPOINT: mesh.rating.address,
      RATEMESH_COLLECTOR__ENDPOINT: `127.0.0.1:${collectorPort}`,
    },
  });
  const base = `http://${api.address}`;
  return { mesh, api, base, cli: new CloudKittyCli(base), configFile: mesh.configFile, collectorPort };
}

/** The id a create command printed (the one row's id column). */
function idOf(rows: Array<Record<string, unknown>>, column: string): string {
  const id = rows[0]?.[column];
  assert.equal(typeof id, "string", `${column} in ${JSON.stringify(rows)}`);
  return id as string;
}

describe("api gateway with python-cloudkittyclient", () => {
  it("answers every client command as CloudKitty would", async (t) => {
    const { mesh, base, cli, configFile } = await setup(t);
    const hashmap = "/v1/rating/module_config/hashmap";

    await t.test("root and health: versions, /healthcheck OK, /ready once storage and rating serve", async () => {
      const root = await http(base, "/");
      assert.equal(root.status, 200);
      assert.deepEqual(
        (root.json() as { versions: Array<{ id: string; status: string }> }).versions.map((v) => [v.id, v.status]),
        [
          ["v1", "CURRENT"],
          ["v2", "EXPERIMENTAL"],
        ],
      );
      const health = await http(base, "/healthcheck");
      assert.equal(health.status, 200);
      assert.equal(health.text, "OK");
      const ready = await eventually(async () => {
        const r = await http(base, "/ready");
        return r.status === 200 ? r : undefined;
      }, 10_000);
      assert.deepEqual((ready.json() as { services: Record<string, string> }).services, {
        storage: "SERVING",
        rating: "SERVING",
        // No collector yet: /v1/info needs it, the rest does not.
        collector: "NOT_SERVING",
      });
    });

    await t.test("module list/get/enable/disable/set priority, v1 and v2", async () => {
      const list = await cli.json(["module", "list"]);
      assert.deepEqual(list, [
        { Module: "hashmap", Enabled: false, Priority: 1 },
        { Module: "noop", Enabled: true, Priority: 1 },
        { Module: "rules", Enabled: false, Priority: 1 },
      ]);
      assert.deepEqual(await cli.json(["module", "enable", "hashmap"]), [{ Module: "hashmap", Enabled: true, Priority: 1 }]);
      assert.deepEqual(await cli.json(["module", "set", "priority", "hashmap", "5"]), [{ Module: "hashmap", Enabled: true, Priority: 5 }]);
      assert.deepEqual(await cli.json(["module", "get", "hashmap"]), [{ Module: "hashmap", Enabled: true, Priority: 5 }]);
      assert.deepEqual(await cli.json(["module", "enable", "rules"]), [{ Module: "rules", Enabled: true, Priority: 1 }]);
      assert.deepEqual(await cli.json(["module", "disable", "rules"]), [{ Module: "rules", Enabled: false, Priority: 1 }]);
      // v2 endpoints (/v2/rating/modules), same state.
      assert.deepEqual(await cli.json(["module", "set", "priority", "noop", "2"], 2), [{ Module: "noop", Enabled: true, Priority: 2 }]);
      assert.deepEqual(await cli.json(["module", "list"], 2), [
        { Module: "hashmap", Enabled: true, Priority: 5 },
        { Module: "noop", Enabled: true, Priority: 2 },
        { Module: "rules", Enabled: false, Priority: 1 },
      ]);
      const v2 = (await http(base, "/v2/rating/modules/hashmap")).json();
      assert.deepEqual(v2, {
        module_id: "hashmap",
        description: (v2 as { description: string }).description,
        enabled: true,
        hot_config: true,
        priority: 5,
      });
      const v1 = (await http(base, "/v1/rating/modules/noop")).json() as Record<string, unknown>;
      assert.equal(v1["hot-config"], false);
      const missing = await cli.run(["module", "get", "pyscripts"]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /"faultstring":"Module not found\."/);
      assert.match(missing.stderr, /HTTP 404/);
      const badPriority = await http(base, "/v2/rating/modules/noop", { method: "PUT", body: '{"priority": 0}' });
      assert.equal(badPriority.status, 400);
      assert.ok("message" in (badPriority.json() as object));
    });

    await t.test("hashmap service/field/group/mapping/threshold create/get/list/update/delete, mapping types", async () => {
      assert.deepEqual(await cli.json(["hashmap", "mapping-types", "list"]), [{ "Mapping types": "flat" }, { "Mapping types": "rate" }]);

      const service = await cli.json(["hashmap", "service", "create", "crud.test"]);
      const sid = idOf(service, "Service ID");
      assert.equal(service[0]?.Name, "crud.test");
      assert.deepEqual(await cli.json(["hashmap", "service", "get", sid]), [{ Name: "crud.test", "Service ID": sid }]);
      assert.ok((await cli.json(["hashmap", "service", "list"])).some((s) => s["Service ID"] === sid));
      const duplicate = await cli.run(["hashmap", "service", "create", "crud.test"]);
      assert.match(duplicate.stderr, /HTTP 409/);

      const field = await cli.json(["hashmap", "field", "create", sid, "flavor"]);
      const fid = idOf(field, "Field ID");
      assert.deepEqual(await cli.json(["hashmap", "field", "get", fid]), [{ Name: "flavor", "Field ID": fid, "Service ID": sid }]);
      assert.deepEqual(await cli.json(["hashmap", "field", "list", sid]), [{ Name: "flavor", "Field ID": fid, "Service ID": sid }]);

      const group = await cli.json(["hashmap", "group", "create", "crud-group"]);
      const gid = idOf(group, "Group ID");
      assert.ok((await cli.json(["hashmap", "group", "list"])).some((g) => g["Group ID"] === gid && g.Name === "crud-group"));

      const serviceMapping = await cli.json(["hashmap", "mapping", "create", "-s", sid, "0.5"]);
      const smid = idOf(serviceMapping, "Mapping ID");
      assert.deepEqual(serviceMapping[0], {
        "Mapping ID": smid,
        Value: "",
        Cost: "0.5",
        Type: "flat",
        "Field ID": null,
        "Service ID": sid,
        "Group ID": null,
        "Project ID": null,
      });
      const fieldMapping = await cli.json([
        "hashmap",
        "mapping",
        "create",
        "--field-id",
        fid,
        "--value",
        "big",
        "-g",
        gid,
        "-t",
        "rate",
        "1.1",
      ]);
      const fmid = idOf(fieldMapping, "Mapping ID");
      assert.equal(fieldMapping[0]?.Type, "rate");
      assert.equal(fieldMapping[0]?.["Group ID"], gid);
      assert.equal((await cli.json(["hashmap", "mapping", "get", fmid]))[0]?.Value, "big");
      assert.deepEqual(
        (await cli.json(["hashmap", "mapping", "list", "-s", sid])).map((m) => m["Mapping ID"]),
        [smid],
      );
      assert.deepEqual(
        (await cli.json(["hashmap", "mapping", "list", "--field-id", fid])).map((m) => m["Mapping ID"]),
        [fmid],
      );
      assert.deepEqual(
        (await cli.json(["hashmap", "group", "mappings", "get", gid])).map((m) => m["Mapping ID"]),
        [fmid],
      );

      // A mapping in force can only be end-dated (CloudKitty 23+ and ratemesh): the client's cost update is refused.
      const running = await cli.run(["hashmap", "mapping", "update", "--cost", "0.75", smid]);
      assert.notEqual(running.code, 0);
      assert.match(running.stderr, /HTTP 400/);
      assert.equal((await cli.json(["hashmap", "mapping", "get", smid]))[0]?.Cost, "0.5");
      // One that has not started yet (created through the API with a start) takes the update.
      const future = await http(base, `${hashmap}/mappings`, {
        method: "POST",
        body: JSON.stringify({ field_id: fid, value: "later", cost: 3, start: "2099-01-01T00:00:00" }),
      });
      assert.equal(future.status, 201);
      const laterId = (future.json() as { mapping_id: string }).mapping_id;
      assert.equal(future.headers.get("location"), `${base}${hashmap}/mappings/${laterId}`);
      assert.equal((future.json() as { start: string }).start, "2099-01-01T00:00:00");
      const updated = await cli.json(["hashmap", "mapping", "update", "--cost", "2.5", "--value", "later-on", laterId]);
      assert.equal(updated[0]?.Cost, "2.5");
      assert.equal(updated[0]?.Value, "later-on");

      const threshold = await cli.json(["hashmap", "threshold", "create", "-s", sid, "-g", gid, "-t", "rate", "100", "0.9"]);
      const tid = idOf(threshold, "Threshold ID");
      assert.deepEqual(threshold[0], {
        "Threshold ID": tid,
        Level: "100",
        Cost: "0.9",
        Type: "rate",
        "Field ID": null,
        "Service ID": sid,
        "Group ID": gid,
        "Project ID": null,
      });
      assert.equal((await cli.json(["hashmap", "threshold", "get", tid]))[0]?.Level, "100");
      assert.deepEqual(
        (await cli.json(["hashmap", "threshold", "list", "-s", sid])).map((x) => x["Threshold ID"]),
        [tid],
      );
      assert.deepEqual(
        (await cli.json(["hashmap", "group", "thresholds", "get", gid])).map((x) => x["Threshold ID"]),
        [tid],
      );
      const thresholdUpdated = await cli.json(["hashmap", "threshold", "update", "--cost", "0.85", "-l", "200", tid]);
      assert.equal(thresholdUpdated[0]?.Cost, "0.85");
      assert.equal(thresholdUpdated[0]?.Level, "200");

      await cli.ok(["hashmap", "threshold", "delete", tid]);
      assert.match((await cli.run(["hashmap", "threshold", "get", tid])).stderr, /HTTP 404/);
      await cli.ok(["hashmap", "mapping", "delete", smid]);
      assert.deepEqual(await cli.json(["hashmap", "mapping", "list", "-s", sid]), []);
      await cli.ok(["hashmap", "group", "delete", gid]);
      assert.ok(!(await cli.json(["hashmap", "group", "list"])).some((g) => g["Group ID"] === gid));
      await cli.ok(["hashmap", "field", "delete", fid]);
      assert.match((await cli.run(["hashmap", "field", "get", fid])).stderr, /HTTP 404/);
      await cli.ok(["hashmap", "service", "delete", sid]);
      const gone = await cli.run(["hashmap", "service", "get", sid]);
      assert.match(gone.stderr, /"faultcode":"Client"/);
      assert.match(gone.stderr, /HTTP 404/);
    });

    await t.test("the price list of the usage, through the API (validity from before the usage, force)", async () => {
      const post = async (path: string, body: string) => {
        const r = await http(base, `${hashmap}/${path}`, { method: "POST", body });
        assert.equal(r.status, 201, r.text);
        return r.json() as Record<string, string>;
      };
      const instance = (await post("services", '{"name": "instance"}')).service_id as string;
      const volume = (await post("services", '{"name": "volume.size"}')).service_id as string;
      const flavor = (await post("fields", JSON.stringify({ service_id: instance, name: "flavor_name" }))).field_id as string;
      const flavors = (await post("groups", '{"name": "flavors"}')).group_id as string;
      const since = '"start": "2026-01-01T00:00:00"';
      await post("mappings?force=true", `{"service_id": "${instance}", "cost": 0.1, ${since}}`);
      // A JSON number with 28 decimals keeps them all (a double would not).
      const tiny = await post(
        "mappings?force=true",
        `{"field_id": "${flavor}", "value": "m1.tiny", "cost": 0.3333333333333333333333333333, "group_id": "${flavors}", ${since}}`,
      );
      assert.equal(tiny.cost, "0.3333333333333333333333333333");
      await post(
        "mappings?force=true",
        `{"field_id": "${flavor}", "value": "m1.small", "cost": "1.25", "group_id": "${flavors}", ${since}}`,
      );
      await post("mappings?force=true", `{"service_id": "${volume}", "cost": 0.01, ${since}}`);
      const past = await http(base, `${hashmap}/mappings`, { method: "POST", body: `{"service_id": "${volume}", "cost": 1, ${since}}` });
      assert.equal(past.status, 400, "a start in the past needs force");
      assert.deepEqual(Object.keys(past.json() as object).sort(), ["debuginfo", "faultcode", "faultstring"]);
    });

    await t.test("quote (client API): flat and nested desc, exact sum on the wire", async () => {
      const r = await cli.python(
        'print(json.dumps(client.rating.get_quotation(res_data=[{"service": "instance", "desc": {"flavor_name": "m1.small"}, "volume": "2"}])))',
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Number(r.stdout.trim()), 2.7);
      const exact = await http(base, "/v1/rating/quote", {
        method: "POST",
        body: '{"resources": [{"service": "instance", "desc": {"flavor_name": "m1.small"}, "volume": 2}, {"service": "instance", "desc": {"metadata": {"flavor_name": "m1.tiny"}}, "volume": 3}]}',
      });
      assert.equal(exact.status, 200);
      // 2 × (0.1 + 1.25) + 3 × (0.1 + 0.3333333333333333333333333333): hashmap computes in CloudKitty's
      // 28-digit decimal context (3 × 0.4333… rounds to 1.300000000000000000000000000); every digit is on the wire.
      assert.equal(exact.text, "4.000000000000000000000000000");
    });

    // The usage is rated now, with the price list above.
    await startService(t, {
      service: "collector",
      configFile,
      env: { RATEMESH_STORAGE__ENDPOINT: mesh.storage.address, RATEMESH_RATING__ENDPOINT: mesh.rating.address },
    });
    await eventually(
      async () => {
        const r = await cli.run(["scope", "state", "get", "-f", "json"], 2);
        if (r.code !== 0) return undefined;
        const rows = JSON.parse(r.stdout) as Array<Record<string, string>>;
        return rows.length === 2 && rows.every((s) => s.State === naive(PERIODS - 1));
      },
      30_000,
      "both scopes rated",
    );

    await t.test("total get, summary get, report tenant list (v1)", async () => {
      const all = sum(times(PERIODS, PRICE.alphaInstance), times(PERIODS, PRICE.alphaVolume), times(PERIODS, PRICE.betaInstance));
      const total = await cli.ok(["total", "get", ...RANGE]);
      assert.match(total, new RegExp(`\\| Total \\| ${Number(all.toString())}`));
      const exact = await http(base, `/v1/report/total?${QUERY_RANGE}`);
      assert.equal(typeof exact.json(), "string");
      same(exact.json(), all, "total");
      assert.equal(exact.json(), "7.5533333333333333333333333332");
      same(
        (await http(base, `/v1/report/total?${QUERY_RANGE}&tenant_id=p-alpha&service=instance`)).json(),
        times(PERIODS, PRICE.alphaInstance),
        "total of one tenant and service",
      );
      assert.match(await cli.ok(["total", "get", ...RANGE, "-t", "p-beta"]), /\| Total \| 5\.4/);

      const summary = await cli.json(["summary", "get", ...RANGE, "-g", "tenant_id", "res_type"]);
      assert.deepEqual(
        summary.map((r) => [r["Tenant ID"], r["Resource Type"], r["Begin Time"], r["End Time"]]),
        [
          ["p-alpha", "instance", "2026-03-01T00:00:00", "2026-03-02T00:00:00"],
          ["p-alpha", "volume.size", "2026-03-01T00:00:00", "2026-03-02T00:00:00"],
          ["p-beta", "instance", "2026-03-01T00:00:00", "2026-03-02T00:00:00"],
        ],
      );
      same(summary[0]?.Rate, times(PERIODS, PRICE.alphaInstance), "summary rate");
      assert.equal(summary[0]?.Rate, "1.7333333333333333333333333332", "the exact sum, not rounded to 5 decimals");
      same(summary[1]?.Rate, times(PERIODS, PRICE.alphaVolume), "summary rate");
      same(summary[2]?.Rate, times(PERIODS, PRICE.betaInstance), "summary rate");
      const overall = await cli.json(["summary", "get", ...RANGE]);
      assert.equal(overall.length, 1);
      assert.equal(overall[0]?.["Tenant ID"], "ALL");
      assert.equal(overall[0]?.["Resource Type"], "ALL");
      same(overall[0]?.Rate, all, "summary of everything");

      assert.deepEqual(await cli.json(["report", "tenant", "list"]), [{ "Tenant ID": "p-alpha" }, { "Tenant ID": "p-beta" }]);
    });

    await t.test("dataframes get (v1): rated resources per period and type", async () => {
      const frames = await cli.json(["dataframes", "get", ...RANGE, "-p", "p-beta"]);
      assert.equal(frames.length, PERIODS);
      for (const [h, f] of frames.entries()) {
        assert.equal(f.Begin, naive(h));
        assert.equal(f.End, naive(h + 1));
        assert.equal(f["Project ID"], "p-beta");
        assert.deepEqual(f.Resources, [
          {
            service: "instance",
            desc: { flavor_name: "m1.small", id: "vm-2", project_id: "p-beta" },
            volume: "1",
            rating: PRICE.betaInstance,
            rate_value: "1.3500",
          },
        ]);
      }
      const volumes = await cli.json(["dataframes", "get", ...RANGE, "-r", "volume.size"]);
      assert.equal(volumes.length, PERIODS);
      assert.ok(volumes.every((f) => (f.Resources as Array<{ volume: string }>)[0]?.volume === "10.5"));
    });

    await t.test("summary get (v2): group by any key and time, filters, offset and limit, exact sums", async () => {
      const byType = await cli.json(["summary", "get", ...RANGE_Z, "-g", "type", "-g", "project_id"], 2);
      assert.deepEqual(
        byType.map((r) => [r.Begin, r.End, r.Qty, r.Type, r["Project id"]]),
        [
          ["2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00", 4, "instance", "p-alpha"],
          ["2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00", 4, "instance", "p-beta"],
          ["2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00", 42, "volume.size", "p-alpha"],
        ],
      );
      assert.ok(Math.abs(Number(byType[0]?.Rate) - Number(PRICE.alphaInstance) * PERIODS) < 1e-12);

      const hourly = await cli.json(
        ["summary", "get", ...RANGE_Z, "-g", "time", "--filter", "type:volume.size", "--offset", "1", "--limit", "2"],
        2,
      );
      assert.deepEqual(
        hourly.map((r) => [r.Begin, r.Rate]),
        [
          [`${naive(1)}+00:00`, 0.105],
          [`${naive(2)}+00:00`, 0.105],
        ],
      );

      const table = await http(base, `/v2/summary?${QUERY_RANGE}&groupby=project_id&groupby=type&filters=type:instance`);
      assert.equal(table.status, 200);
      const t1 = numbersAsText(table.text) as { total: string; columns: string[]; results: string[][]; format: string };
      assert.deepEqual(t1.columns, ["begin", "end", "qty", "rate", "project_id", "type"]);
      assert.equal(t1.format, "table");
      assert.equal(t1.total, "2");
      assert.equal(t1.results[0]?.[3], "1.7333333333333333333333333332");
      same(t1.results[1]?.[3], times(PERIODS, PRICE.betaInstance), "p-beta");

      const object = await http(
        base,
        `/v2/summary?${QUERY_RANGE}&groupby=time,type&filters=project_id:p-alpha&response_format=object&offset=2&limit=3`,
      );
      const o = numbersAsText(object.text) as { total: string; results: Array<Record<string, string>>; format: string };
      assert.equal(o.format, "object");
      assert.equal(o.total, String(2 * PERIODS));
      // Sorted by type, then time: instance ×4, then volume.size ×4.
      assert.deepEqual(
        o.results.map((r) => [r.begin, r.type, r.rate]),
        [
          [`${naive(2)}+00:00`, "instance", PRICE.alphaInstance],
          [`${naive(3)}+00:00`, "instance", PRICE.alphaInstance],
          [`${naive(0)}+00:00`, "volume.size", PRICE.alphaVolume],
        ],
      );

      const daily = numbersAsText(
        (await http(base, `/v2/summary?${QUERY_RANGE}&groupby=time-d&filters=project_id:p-alpha,project_id:p-beta&filters=type:instance`))
          .text,
      ) as { results: string[][] };
      assert.equal(daily.results.length, 1);
      assert.equal(daily.results[0]?.[0], "2026-03-01T00:00:00+00:00");
      assert.equal(daily.results[0]?.[1], "2026-03-02T00:00:00+00:00");
      same(daily.results[0]?.[3], sum(times(PERIODS, PRICE.alphaInstance), times(PERIODS, PRICE.betaInstance)), "both tenants");

      const badFormat = await http(base, "/v2/summary?response_format=csv");
      assert.equal(badFormat.status, 400);
      assert.match((badFormat.json() as { message: string }).message, /Invalid response format/);
      const badLimit = await http(base, "/v2/summary?limit=0");
      assert.equal(badLimit.status, 400);
    });

    await t.test("dataframes get/add (v2): pushed points stored with their period, state unmoved", async () => {
      const rows = await cli.json(["dataframes", "get", ...RANGE_Z, "--filter", "project_id:p-beta"], 2);
      assert.equal(rows.length, PERIODS);
      assert.deepEqual(rows[0], {
        Begin: `${naive(0)}+00:00`,
        End: `${naive(1)}+00:00`,
        "Metric Type": "instance",
        Unit: "instance",
        Quantity: 1,
        Price: 1.35,
        "Group By": 'id="vm-2" project_id="p-beta"',
        Metadata: 'flavor_name="m1.small"',
      });
      const page = await http(base, `/v2/dataframes?${QUERY_RANGE}&filters=project_id:p-alpha&offset=1&limit=2`);
      const p = numbersAsText(page.text) as {
        total: string;
        dataframes: Array<{ period: { begin: string }; usage: Record<string, Array<{ rating: { price: string }; vol: { qty: string } }>> }>;
      };
      assert.equal(p.total, String(2 * PERIODS), "total counts points");
      const points = p.dataframes.flatMap((f) =>
        Object.entries(f.usage).flatMap(([type, ps]) => ps.map((x) => [f.period.begin, type, x.rating.price])),
      );
      assert.equal(points.length, 2);
      assert.ok(points.some(([, , price]) => price === PRICE.alphaInstance));
      const none = await cli.run(["dataframes", "get", "-b", "2025-01-01T00:00:00Z", "-e", "2025-01-02T00:00:00Z"], 2);
      assert.match(none.stderr, /"message":"No resource found for provided filters\."/);
      assert.match(none.stderr, /HTTP 404/);

      // Priced points pushed into p-beta's rated period 1 (the client sends the file as it is: exact digits).
      const file = join(tempDir(t), "frames.json");
      const pushed =
        `{"dataframes": [{"period": {"begin": "${naive(1)}", "end": "${naive(2)}"}, "usage": {` +
        `"ip.floating": [{"vol": {"unit": "ip", "qty": 2}, "rating": {"price": 0.0300000000000000000001}, ` +
        `"groupby": {"id": "fip-1", "project_id": "p-beta"}, "metadata": {"pool": "public"}}], ` +
        `"instance": [{"vol": {"unit": "instance", "qty": 1}, "rating": {"price": 1.35}, ` +
        `"groupby": {"id": "vm-3", "project_id": "p-beta"}, "metadata": {"flavor_name": "m1.small"}}]}}]}`;
      writeFileSync(file, pushed);
      const add = await cli.run(["dataframes", "add", file], 2);
      assert.equal(add.code, 0, add.stderr);
      const added = await cli.json(["dataframes", "get", "-b", `${naive(1)}Z`, "-e", `${naive(2)}Z`, "--filter", "project_id:p-beta"], 2);
      assert.deepEqual(
        added.map((r) => [r["Metric Type"], r.Unit, r.Quantity, r.Price, r["Group By"], r.Metadata]),
        [
          ["instance", "instance", 1, 1.35, 'id="vm-2" project_id="p-beta"', 'flavor_name="m1.small"'],
          ["instance", "instance", 1, 1.35, 'id="vm-3" project_id="p-beta"', 'flavor_name="m1.small"'],
          ["ip.floating", "ip", 2, 0.03, 'id="fip-1" project_id="p-beta"', 'pool="public"'],
        ],
        "the period's rated point, then the added ones",
      );
      const exactFrames = numbersAsText(
        (await http(base, `/v2/dataframes?begin=${naive(1)}&end=${naive(2)}&filters=type:ip.floating`)).text,
      ) as { total: string; dataframes: Array<{ usage: Record<string, Array<{ rating: { price: string } }>> }> };
      assert.equal(exactFrames.total, "1");
      assert.equal(exactFrames.dataframes[0]?.usage["ip.floating"]?.[0]?.rating.price, "0.0300000000000000000001");
      const betaByType = await cli.json(["summary", "get", ...RANGE_Z, "-g", "type", "--filter", "project_id:p-beta"], 2);
      assert.deepEqual(
        betaByType.map((r) => [r.Type, r.Qty, r.Rate]),
        [
          ["instance", PERIODS + 1, 6.75],
          ["ip.floating", 2, 0.03],
        ],
      );
      const exactSummary = numbersAsText(
        (await http(base, `/v2/summary?${QUERY_RANGE}&groupby=type&filters=project_id:p-beta&response_format=object`)).text,
      ) as { results: Array<{ type: string; qty: string; rate: string }> };
      same(exactSummary.results.find((r) => r.type === "instance")?.rate, times(PERIODS + 1, PRICE.betaInstance), "p-beta instances");
      assert.equal(exactSummary.results.find((r) => r.type === "ip.floating")?.rate, "0.0300000000000000000001");

      // A retry under the same Idempotency-Key adds nothing twice; a bad value is named where the body has it.
      const keyed = { method: "POST", body: pushed, headers: { "idempotency-key": "e2e-push-1" } };
      assert.equal((await http(base, "/v2/dataframes", keyed)).status, 204);
      assert.equal((await http(base, "/v2/dataframes", keyed)).status, 204);
      const floating = async () =>
        (numbersAsText((await http(base, `/v2/dataframes?${QUERY_RANGE}&filters=type:ip.floating`)).text) as { total: string }).total;
      assert.equal(await floating(), "2", "the first push, and the keyed one once");
      const bad = await http(base, "/v2/dataframes", { method: "POST", body: pushed.replace('"qty": 2', '"qty": "2e3"') });
      assert.equal(bad.status, 400);
      assert.match((bad.json() as { message: string }).message, /^dataframes\[0\]\.usage\.ip\.floating\[0\]\.vol\.qty: /);
      const empty = await http(base, "/v2/dataframes", { method: "POST", body: '{"dataframes": []}' });
      assert.equal(empty.status, 400);
      assert.deepEqual(empty.json(), { message: "Parameter dataframes must not be empty." });
      assert.equal(
        (await cli.json(["scope", "state", "get", "--scope-id", "p-beta"], 2))[0]?.State,
        naive(PERIODS - 1),
        "the scope's state did not move",
      );
    });

    await t.test("scope state get/reset and scope patch (v2), CloudKitty's timestamps", async () => {
      const states = await cli.json(["scope", "state", "get"], 2);
      assert.deepEqual(states, [
        { "Scope ID": "p-alpha", "Scope Key": "project_id", Collector: "file", Fetcher: "source", State: naive(PERIODS - 1) },
        { "Scope ID": "p-beta", "Scope Key": "project_id", Collector: "file", Fetcher: "source", State: naive(PERIODS - 1) },
      ]);
      const stored = await mesh.clients.scopes.getScope(GetScopeRequest.fromPartial({ scopeId: "p-beta" }));
      assert.equal(stored.scope?.state?.getTime(), at(PERIODS).getTime(), "ratemesh keeps the end of the last rated period");

      await cli.ok(["scope", "state", "reset", "--scope-id", "p-beta", `${naive(1)}Z`], 2);
      assert.equal((await cli.json(["scope", "state", "get", "--scope-id", "p-beta"], 2))[0]?.State, naive(1));
      const reset = await mesh.clients.scopes.getScope(GetScopeRequest.fromPartial({ scopeId: "p-beta" }));
      assert.equal(reset.scope?.state?.getTime(), at(2).getTime(), "rating resumes after the period given, as in CloudKitty");
      const forward = await cli.run(["scope", "state", "reset", "--scope-id", "p-beta", `${naive(3)}Z`], 2);
      assert.match(forward.stderr, /HTTP 400/);
      const unknown = await cli.run(["scope", "state", "get", "--scope-id", "p-nobody"], 2);
      assert.match(unknown.stderr, /\{"message":"No resource found for provided filters\."\} \(HTTP 404\)/);

      // The client prints the patched scope and exits 1 (it returns the dict as its exit status), as with CloudKitty.
      const patched = await cli.run(["scope", "patch", "--scope-id", "p-beta", "--active", "false"], 2);
      assert.match(patched.stderr, /'active': False/);
      const inactive = (await http(base, "/v2/scope?scope_id=p-beta")).json() as { results: Array<Record<string, unknown>> };
      assert.equal(inactive.results[0]?.active, false);
      assert.equal(inactive.results[0]?.last_processed_timestamp, naive(1));
      assert.match(String(inactive.results[0]?.scope_activation_toggle_date), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
      const activeOnly = (await http(base, "/v2/scope?active=1")).json() as { results: Array<{ scope_id: string }> };
      assert.deepEqual(
        activeOnly.results.map((s) => s.scope_id),
        ["p-alpha"],
      );
      await cli.run(["scope", "patch", "--scope-id", "p-beta", "--active", "true"], 2);
      assert.equal(
        ((await http(base, "/v2/scope?scope_id=p-beta")).json() as { results: Array<{ active: boolean }> }).results[0]?.active,
        true,
      );

      // POST (CloudKitty 17+, no client command): register a scope with its last processed period.
      const created = await http(base, "/v2/scope", {
        method: "POST",
        body: JSON.stringify({ scope_id: "p-gamma", last_processed_timestamp: naive(1), scope_key: "project_id", active: false }),
      });
      assert.equal(created.status, 200, created.text);
      assert.equal((created.json() as { last_processed_timestamp: string }).last_processed_timestamp, naive(1));
      const gamma = await mesh.clients.scopes.getScope(GetScopeRequest.fromPartial({ scopeId: "p-gamma" }));
      assert.equal(gamma.scope?.state?.getTime(), at(2).getTime());
      assert.equal(gamma.scope?.active, false);
      const again = await http(base, "/v2/scope", {
        method: "POST",
        body: JSON.stringify({ scope_id: "p-gamma", last_processed_timestamp: naive(1) }),
      });
      assert.equal(again.status, 409);
    });

    await t.test("tasks reprocessing create/get (v2): CloudKitty's inclusive window, every period of it rated again", async () => {
      // A surcharge for ssd volumes, valid since before the usage: only reprocessed periods get it.
      const volume = (
        (await http(base, `${hashmap}/services`)).json() as { services: Array<{ name: string; service_id: string }> }
      ).services.find((s) => s.name === "volume.size")?.service_id;
      const field = (
        await http(base, `${hashmap}/fields`, { method: "POST", body: JSON.stringify({ service_id: volume, name: "volume_type" }) })
      ).json() as {
        field_id: string;
      };
      const group = (await http(base, `${hashmap}/groups`, { method: "POST", body: '{"name": "volumes"}' })).json() as { group_id: string };
      const rule = await http(base, `${hashmap}/mappings?force=true`, {
        method: "POST",
        body: JSON.stringify({
          field_id: field.field_id,
          value: "ssd",
          cost: "0.02",
          group_id: group.group_id,
          start: "2026-01-01T00:00:00",
        }),
      });
      assert.equal(rule.status, 201, rule.text);

      const unaligned = await cli.run(
        [
          "tasks",
          "reprocessing",
          "create",
          "--scope-id",
          "p-alpha",
          "--start-reprocess-time",
          "2026-03-01T01:30:00Z",
          "--end-reprocess-time",
          `${naive(2)}Z`,
          "--reason",
          "x",
        ],
        2,
      );
      assert.match(unaligned.stderr, /HTTP 400/);
      await cli.ok(
        [
          "tasks",
          "reprocessing",
          "create",
          "--scope-id",
          "p-alpha",
          "--start-reprocess-time",
          `${naive(1)}Z`,
          "--end-reprocess-time",
          `${naive(2)}Z`,
          "--reason",
          "ssd surcharge",
        ],
        2,
      );
      const done = await eventually(
        async () => {
          const rows = await cli.json(["tasks", "reprocessing", "get", "--scope-id", "p-alpha", "--order", "ASC"], 2);
          return rows[0]?.["Current reprocessing time"] === naive(2) ? rows : undefined;
        },
        30_000,
        "reprocessing done",
      );
      assert.deepEqual(done, [
        {
          "Scope ID": "p-alpha",
          Reason: "ssd surcharge",
          "Start reprocessing time": naive(1),
          "End reprocessing time": naive(2),
          "Current reprocessing time": naive(2),
        },
      ]);
      assert.equal((await cli.json(["tasks", "reprocessing", "get"], 2)).length, 1);
      const byPath = (await http(base, "/v2/task/reprocesses/p-beta")).json() as { results: unknown[] };
      assert.deepEqual(byPath.results, []);

      const perPeriod = numbersAsText(
        (
          await http(
            base,
            `/v2/summary?${QUERY_RANGE}&groupby=time&filters=project_id:p-alpha&filters=type:volume.size&response_format=object`,
          )
        ).text,
      ) as { results: Array<{ begin: string; rate: string }> };
      const surcharged = sum(PRICE.alphaVolume, "0.21");
      const plain = Decimal.parse(PRICE.alphaVolume);
      assert.deepEqual(
        perPeriod.results.map((r) => r.begin),
        [0, 1, 2, 3].map((h) => `${naive(h)}+00:00`),
      );
      // The window's last period (CloudKitty's end, inclusive) is rated again too; the one after is not.
      assert.deepEqual(
        perPeriod.results.map((r) => Decimal.parse(r.rate).eq(surcharged) || (Decimal.parse(r.rate).eq(plain) ? "plain" : r.rate)),
        ["plain", true, true, "plain"],
      );
    });

    await t.test("info metric list/get and info config get (from the collector)", async () => {
      await eventually(
        async () =>
          ((await http(base, "/ready")).json() as { services: Record<string, string> }).services.collector === "SERVING" ? true : undefined,
        10_000,
      );
      assert.deepEqual(await cli.json(["info", "metric", "list"]), [
        { Metric: "instance", Unit: "instance", Metadata: ["flavor_name"] },
        { Metric: "volume.size", Unit: "GiB", Metadata: ["volume_type"] },
      ]);
      assert.deepEqual(await cli.json(["info", "metric", "get", "volume.size"]), [
        { Metric: "volume.size", Unit: "GiB", Metadata: ["volume_type"] },
      ]);
      const missing = await cli.run(["info", "metric", "get", "cpu"]);
      assert.match(missing.stderr, /"faultstring":"cpu".*HTTP 404/);
      const config = await cli.json(["info", "config", "get"]);
      assert.equal(config.length, 1);
      assert.equal(config[0]?.Section, "metrics");
      const metrics = config[0]?.Value as Record<string, Record<string, unknown>>;
      assert.deepEqual(Object.keys(metrics), ["cpu", "volume.size"]);
      assert.equal(metrics.cpu?.alt_name, "instance");
      assert.equal(metrics.cpu?.mutate, "NUMBOOL");
      assert.deepEqual(metrics["volume.size"]?.metadata, ["volume_type"]);
      assert.deepEqual(metrics["volume.size"]?.groupby, ["id", "project_id"]);
    });
  });
});
