/**
 * The `ratemesh` CLI against real storage and rating processes, run as a
 * child process: summaries and totals of data committed through storage
 * (exact in csv and json, rounded half up in tables), the streamed export,
 * connection settings from a config file and flags, and errors: one line,
 * an exit status per kind.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import { meshEnv, runCli } from "../support/cli.js";
import { type Mesh, startMesh, tempDir } from "../support/mesh.js";
import { freePort } from "../support/ports.js";

const BEGIN = Date.parse("2026-11-01T00:00:00Z");
const HOUR = 3600_000;

function point(type: string, qty: string, price: string, groupby: Record<string, string>): DataPoint {
  return { type, unit: "", qty, price, groupby, metadata: {} };
}

/** The usage of two scopes, by hour from 2026-11-01T00:00Z; hours not listed are committed empty. */
const USAGE: Record<string, Record<number, DataPoint[]>> = {
  acme: {
    0: [point("instance", "1", "0.02", { flavor: "m1.small" }), point("volume.size", "200", "0.0570000", {})],
    1: [point("instance", "1", "0.02", { flavor: "m1.small" }), point("volume.size", "200", "0.0570000", {})],
    24: [point("instance", "1", "0.08", { flavor: "m1.large" })],
    25: [point("instance", "1", "0.08", { flavor: "m1.large" })],
  },
  globex: {
    0: [point("instance", "1", "0.01", { flavor: "m1.tiny" })],
    1: [point("image.size", "1024", "1.005", {})],
  },
};

async function commitUsage(mesh: Mesh): Promise<void> {
  for (const [scopeId, hours] of Object.entries(USAGE)) {
    const last = Math.max(...Object.keys(hours).map(Number));
    for (let h = 0; h <= last; h++) {
      const begin = new Date(BEGIN + h * HOUR);
      await mesh.clients.storage.commitPeriod({
        frame: { scopeId, begin, end: new Date(BEGIN + (h + 1) * HOUR), points: hours[h] ?? [] },
        expectedState: h === 0 ? undefined : begin,
        fencingToken: "1",
        fencingEpoch: "0",
        owner: "cli-test",
        reprocessTaskId: "",
        scopeKey: "project_id",
        fetcher: "source",
        collector: "file",
        unpricedPoints: "0",
      });
    }
  }
}

const RANGE = ["--begin", "2026-11-01", "--end", "2026-11-03"];

function oneErrorLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one line expected, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
  return lines[0] as string;
}

describe("ratemesh CLI: queries and errors", () => {
  it("answers from real services, exactly, and fails with one line and the right status", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    await commitUsage(mesh);
    const env = meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address });
    const cli = (...args: string[]) => runCli(args, { env });

    await t.test("summary as a table: aligned, fixed precision rounded half up, and a total", async () => {
      const r = await cli("summary", ...RANGE, "-g", "scope_id,type");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        [
          "summary from 2026-11-01T00:00:00Z to 2026-11-03T00:00:00Z",
          "",
          "scope_id  type             qty  price",
          "--------  -----------  -------  -----",
          "acme      instance        4.00   0.20",
          "acme      volume.size   400.00   0.11",
          "globex    image.size   1024.00   1.01",
          "globex    instance        1.00   0.01",
          "",
          "total price: 1.33",
          "",
        ].join("\n"),
      );
    });

    await t.test("summary as csv and json keeps every digit", async () => {
      const csv = await cli("summary", ...RANGE, "-g", "scope_id,type", "--format", "csv");
      assert.equal(csv.code, 0, csv.stderr);
      const lines = csv.stdout.trimEnd().split("\n");
      assert.equal(lines[0], "begin,end,scope_id,type,qty,price");
      assert.equal(lines[2], "2026-11-01T00:00:00Z,2026-11-03T00:00:00Z,acme,volume.size,400,0.114");
      assert.equal(lines[3], "2026-11-01T00:00:00Z,2026-11-03T00:00:00Z,globex,image.size,1024,1.005");
      const json = await cli("summary", ...RANGE, "-g", "flavor", "--type", "instance", "--format", "json");
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(
        JSON.parse(json.stdout).map((r: Record<string, string>) => [r.flavor, r.qty, r.price]),
        [
          ["m1.large", "2", "0.16"],
          ["m1.small", "2", "0.04"],
          ["m1.tiny", "1", "0.01"],
        ],
      );
    });

    await t.test("summary per day, filtered, with month names and relative dates", async () => {
      const r = await cli("summary", "--begin", "nov 2026", "--end", "2026-11-03", "--scope", "acme", "--per", "day", "--format", "csv");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        "begin,end,qty,price\n2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,402,0.154\n2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,2,0.16\n",
      );
      const table = await cli("summary", "--begin", "2026-11-01", "--end", "2026-11-01T02:00:00Z", "-g", "scope_id", "--per", "period");
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^2026-11-01 01:00 {2}2026-11-01 02:00 {2}globex {4}1024\.00 {3}1\.01$/m);
      // Nothing was committed in the last three days (the data is of November 2026, dated in the past).
      const recent = await cli("summary", "--begin", "3 days ago", "--end", "now");
      assert.equal(recent.code, 0, recent.stderr);
      const m = /^summary from (\S+) to (\S+)\n\n\(none\)\n$/.exec(recent.stdout);
      assert.ok(m !== null, recent.stdout);
      assert.equal(Date.parse(m[2] as string) - Date.parse(m[1] as string), 3 * 24 * HOUR);
    });

    await t.test("total", async () => {
      const r = await cli("total", ...RANGE, "--format", "json");
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), [
        { begin: "2026-11-01T00:00:00Z", end: "2026-11-03T00:00:00Z", qty: "1429", price: "1.329", points: "8" },
      ]);
    });

    await t.test("dataframes export streams one line per point, as JSON lines or CSV", async () => {
      const r = await cli("dataframes", "export", ...RANGE, "--scope", "globex");
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l));
      assert.deepEqual(lines, [
        {
          scope_id: "globex",
          begin: "2026-11-01T00:00:00Z",
          end: "2026-11-01T01:00:00Z",
          type: "instance",
          unit: "",
          qty: "1",
          price: "0.01",
          groupby: { flavor: "m1.tiny" },
          metadata: {},
        },
        {
          scope_id: "globex",
          begin: "2026-11-01T01:00:00Z",
          end: "2026-11-01T02:00:00Z",
          type: "image.size",
          unit: "",
          qty: "1024",
          price: "1.005",
          groupby: {},
          metadata: {},
        },
      ]);
      const csv = await cli("dataframes", "export", ...RANGE, "--format", "csv");
      assert.equal(csv.code, 0, csv.stderr);
      const rows = csv.stdout.trimEnd().split("\n");
      assert.equal(rows[0], "scope_id,begin,end,type,unit,qty,price,groupby,metadata");
      assert.equal(rows.length, 1 + 8);
      assert.ok(rows.includes('acme,2026-11-02T01:00:00Z,2026-11-02T02:00:00Z,instance,,1,0.08,"{""flavor"":""m1.large""}",{}'));
    });

    await t.test("addresses from the mesh's own ratemesh.conf, and flags over it", async () => {
      const conf = join(mesh.dir, "cli.conf");
      writeFileSync(conf, `[storage]\nlisten = 0.0.0.0:${mesh.storage.port}\n`);
      const r = await runCli(["--config", conf, "total", ...RANGE, "--format", "csv"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /,1429,1\.329,8\n$/);
      const bad = await runCli(["--config", conf, "--storage", "127.0.0.1:1", "total"]);
      assert.equal(bad.code, 6, "the flag wins over the file");
    });

    await t.test("a bad option value: exit 4, one line naming the option", async () => {
      const r = await cli("summary", "--begin", "tomorrowish");
      assert.equal(r.code, 4);
      assert.match(oneErrorLine(r.stderr), /^ratemesh: option '-b, --begin <when>' argument 'tomorrowish' is invalid/);
      const p = await cli("summary", "--precision", "x");
      assert.equal(p.code, 4);
    });

    await t.test("a request the service refuses: exit 4, one line starting with the field", async () => {
      const r = await cli("summary", ...RANGE, "-g", "no_such_key");
      assert.equal(r.code, 4);
      assert.match(
        oneErrorLine(r.stderr),
        /^ratemesh: group_by\[0\]: unknown group-by key "no_such_key".*\(INVALID_ARGUMENT from storage\)$/,
      );
    });

    await t.test("usage, not found and conflict have their own statuses", async () => {
      const usage = await cli("sumary");
      assert.equal(usage.code, 2);
      assert.match(oneErrorLine(usage.stderr), /unknown command 'sumary'.*summary/);
      assert.equal((await cli("scopes", "show")).code, 2);
      const missing = await cli("scopes", "show", "nope");
      assert.equal(missing.code, 3);
      assert.match(oneErrorLine(missing.stderr), /scope "nope" not found/);
      const exists = await cli("scopes", "create", "acme");
      assert.equal(exists.code, 5);
      assert.match(oneErrorLine(exists.stderr), /already exists/);
    });

    await t.test("an unreachable service: exit 6, one line naming the service and how to set its address", async () => {
      const port = await freePort();
      const r = await runCli(["summary", "--storage", `127.0.0.1:${port}`]);
      assert.equal(r.code, 6);
      assert.match(
        oneErrorLine(r.stderr),
        new RegExp(`^ratemesh: cannot reach storage at 127\\.0\\.0\\.1:${port}: .*--storage or RATEMESH_STORAGE_ENDPOINT`),
      );
      const rating = await runCli(["modules", "list"], { env: { RATEMESH_RATING_ENDPOINT: `127.0.0.1:${port}` } });
      assert.equal(rating.code, 6);
      assert.match(oneErrorLine(rating.stderr), /cannot reach rating/);
    });

    await t.test("--help on a command exits 0 with an example", async () => {
      const r = await cli("scopes", "reset", "--help");
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples:\n {2}\$ ratemesh scopes reset /);
    });

    await t.test("dataframes import adds what export writes, once per file; a bad line or value is named by its line", async () => {
      const dir = tempDir(t);
      const file = join(dir, "globex.jsonl");
      const exported = await cli("dataframes", "export", ...RANGE, "--scope", "globex", "-o", file);
      assert.equal(exported.code, 0, exported.stderr);
      const globex = async () => JSON.parse((await cli("total", ...RANGE, "--scope", "globex", "--format", "json")).stdout)[0];
      assert.equal((await globex()).points, "2");
      const first = await cli("dataframes", "import", file, "--batch", "1");
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout, "added 2 points in 2 frames (2 requests)\n");
      assert.deepEqual(await globex(), {
        begin: "2026-11-01T00:00:00Z",
        end: "2026-11-03T00:00:00Z",
        qty: "2050",
        price: "2.03",
        points: "4",
      });
      const again = await cli("dataframes", "import", file, "--batch", "1");
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, "added 0 points in 0 frames (2 requests); 2 requests imported already: nothing added again\n");
      assert.equal((await globex()).points, "4", "nothing added twice");

      const lines = readFileSync(file, "utf8").trimEnd().split("\n");
      const bad = join(dir, "bad.jsonl");
      writeFileSync(bad, `${lines[0]}\n\n${(lines[1] as string).replace('"qty":"1024"', '"qty":"1e3"')}\n`);
      const refused = await cli("dataframes", "import", bad);
      assert.equal(refused.code, 4);
      assert.match(oneErrorLine(refused.stderr), new RegExp(`^ratemesh: ${bad}:3: qty: .*1e3`));
      writeFileSync(bad, (lines[0] as string).replace('"qty":"1"', '"qty":1'));
      const unquoted = await cli("dataframes", "import", bad);
      assert.equal(unquoted.code, 4);
      assert.match(oneErrorLine(unquoted.stderr), new RegExp(`^ratemesh: ${bad}:1: qty must be a string`));
      assert.equal((await globex()).points, "4", "a refused import adds nothing");
      const missing = await cli("dataframes", "import", join(dir, "none.jsonl"));
      assert.equal(missing.code, 2);
      assert.match(oneErrorLine(missing.stderr), /^ratemesh: cannot read .*none\.jsonl/);
    });
  });

  it("talks TLS with --os-cacert and sends the token (--os-token, or OS_TOKEN) as x-auth-token metadata", async (t) => {
    // A stand-in StorageService that records what callers send: nothing in the mesh checks tokens yet.
    const dir = tempDir(t);
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    const made = spawnSync("openssl", [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"],
      ...["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert],
    ]);
    assert.equal(made.status, 0, String(made.stderr));
    const seen: string[] = [];
    const server = new grpc.Server();
    server.addService(StorageServiceService, {
      total: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        seen.push(String(call.metadata.get("x-auth-token")[0] ?? ""));
        cb(null, { qty: "0", price: "0", points: "0" });
      },
    });
    const credentials = grpc.ServerCredentials.createSsl(null, [{ private_key: readFileSync(key), cert_chain: readFileSync(cert) }]);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    t.after(() => server.forceShutdown());
    const storage = ["--storage", `127.0.0.1:${port}`];
    assert.equal((await runCli([...storage, "--os-cacert", cert, "--os-token", "tok-flag", "total"])).code, 0);
    assert.equal((await runCli([...storage, "total"], { env: { OS_TOKEN: "tok-env", OS_CACERT: cert } })).code, 0);
    assert.equal((await runCli([...storage, "--os-cacert", cert, "total"])).code, 0);
    assert.deepEqual(seen, ["tok-flag", "tok-env", ""]);
    const plaintext = await runCli([...storage, "--timeout", "3", "total"]);
    assert.equal(plaintext.code, 6, "a plaintext client does not get through to a TLS server");
    assert.equal(seen.length, 3);
    const missing = await runCli([...storage, "--os-cacert", join(dir, "none.pem"), "total"]);
    assert.equal(missing.code, 2);
    assert.match(oneErrorLine(missing.stderr), /^ratemesh: --os-cacert: cannot read /);
  });
});
