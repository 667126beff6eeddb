/**
 * Both command lines under Keystone, as an operator with an openrc file
 * uses them: Debian's `cloudkitty` client (keystoneauth's password plugin,
 * the gateway found as the `rating` endpoint of the token's catalog) and
 * `ratemesh` (a token asked for from OS_AUTH_URL, OS_USERNAME, OS_PASSWORD
 * and OS_PROJECT_NAME). A real Keystone, storage and rating validating the
 * tokens, and the gateway passing them on: an admin sees every project, a
 * reader of one project only that project, a reader cannot change the
 * price list, no token is 401 and a wrong password is an auth error.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { Decimal } from "../../libs/money/decimal.js";
import { meshEnv, runCli } from "../support/cli.js";
import { CloudKittyCli, type OpenRc } from "../support/cloudkitty-cli.js";
import { type KeystoneServer, registerService, startKeystone } from "../support/keystone.js";
import { startMesh, startService, tempDir } from "../support/mesh.js";
import { keystoneProject, keystoneUser } from "../support/trust.js";

const BEGIN = "2026-03-01T00:00:00";
const END = "2026-03-01T01:00:00";
const RANGE_Z = ["-b", `${BEGIN}Z`, "-e", `${END}Z`];

/** One rated period: alpha ran an instance priced 2.50, beta one priced 4.00 and a 10 GiB volume at 0.25. */
function frames(alpha: string, beta: string): string {
  const point = (unit: string, qty: string, price: string, project: string, id: string) =>
    `{"vol": {"unit": "${unit}", "qty": ${qty}}, "rating": {"price": ${price}}, "groupby": {"id": "${id}", "project_id": "${project}"}, "metadata": {}}`;
  return (
    `{"dataframes": [{"period": {"begin": "${BEGIN}", "end": "${END}"}, "usage": {` +
    `"instance": [${point("instance", "1", "2.50", alpha, "vm-a")}, ${point("instance", "1", "4.00", beta, "vm-b")}], ` +
    `"volume.size": [${point("GiB", "10", "0.25", beta, "vol-b")}]}}]}`
  );
}

interface Setup {
  ks: KeystoneServer;
  gateway: string;
  storage: string;
  alpha: string;
  beta: string;
  admin: OpenRc;
  readerA: OpenRc;
}

async function setup(t: TestContext): Promise<Setup> {
  const ks = await startKeystone();
  t.after(() => ks.stop());
  const [alpha, beta] = [await keystoneProject(ks, "alpha"), await keystoneProject(ks, "beta")];
  const reader = await keystoneUser(ks, { name: "reader-of-alpha", project: alpha, role: "reader" });
  const mesh = await startMesh(t, {
    withCollector: false,
    sections: {
      auth: { auth_strategy: "keystone" },
      keystone_authtoken: { auth_url: ks.authUrl, username: "admin", password: ks.adminPassword, project_name: "admin" },
    },
  });
  const api = await startService(t, {
    service: "api",
    configFile: mesh.configFile,
    env: {
      RATEMESH_API__LISTEN: "127.0.0.1:0",
      RATEMESH_STORAGE__ENDPOINT: mesh.storage.address,
      RATEMESH_RATING__ENDPOINT: mesh.rating.address,
    },
  });
  const gateway = `http://${api.address}`;
  // As CloudKitty is registered: the rating service, its internal endpoint the gateway.
  await registerService(ks, "rating", "cloudkitty", gateway);
  const rc = (username: string, password: string, projectName: string): OpenRc => ({
    authUrl: ks.authUrl,
    username,
    password,
    projectName,
    interface: "internal",
  });
  return {
    ks,
    gateway,
    storage: mesh.storage.address,
    alpha,
    beta,
    admin: rc("admin", ks.adminPassword, "admin"),
    readerA: rc("reader-of-alpha", reader.password, "alpha"),
  };
}

/** The OS_* variables of an openrc, for the ratemesh CLI. */
function openrcEnv(rc: OpenRc): Record<string, string> {
  return {
    OS_AUTH_URL: rc.authUrl,
    OS_USERNAME: rc.username,
    OS_PASSWORD: rc.password,
    OS_PROJECT_NAME: rc.projectName,
    OS_USER_DOMAIN_NAME: "Default",
    OS_PROJECT_DOMAIN_NAME: "Default",
  };
}

const rates = (rows: Array<Record<string, unknown>>) => rows.map((r) => [r.Type, Number(r.Qty), Number(r.Rate)]);

describe("the cloudkitty and ratemesh command lines with Keystone", () => {
  it("authenticate from an openrc; the policy confines a reader to its project", async (t) => {
    const s = await setup(t);
    const admin = new CloudKittyCli(s.gateway, s.admin);
    const readerA = new CloudKittyCli(s.gateway, s.readerA);

    await t.test("cloudkitty as admin: data frames added, then every project summed", async () => {
      const file = join(tempDir(t), "frames.json");
      writeFileSync(file, frames(s.alpha, s.beta));
      const add = await admin.run(["dataframes", "add", file], 2);
      assert.equal(add.code, 0, add.stderr);
      const all = await admin.json(["summary", "get", ...RANGE_Z, "-g", "type"], 2);
      // instance 2.50 + 4.00 = 6.50 over 2 points; volume.size 0.25 for 10 GiB.
      assert.deepEqual(rates(all), [
        ["instance", 2, 6.5],
        ["volume.size", 10, 0.25],
      ]);
      assert.match(await admin.ok(["total", "get", "-b", BEGIN, "-e", END]), /\| Total \| 6\.75 +\|/);
    });

    await t.test("cloudkitty as a reader of alpha: only alpha, and no price-list change", async () => {
      assert.deepEqual(rates(await readerA.json(["summary", "get", ...RANGE_Z, "-g", "type"], 2)), [["instance", 1, 2.5]]);
      assert.match(await readerA.ok(["total", "get", "-b", BEGIN, "-e", END]), /\| Total \| 2\.5 +\|/);
      const create = await readerA.run(["hashmap", "service", "create", "compute"]);
      assert.notEqual(create.code, 0);
      assert.match(create.stderr + create.stdout, /HTTP 403/);
      const made = await admin.json(["hashmap", "service", "create", "compute"]);
      assert.equal(made[0]?.Name, "compute", "an admin changes the price list");
    });

    await t.test("no token is 401 with Keystone's address; a wrong password never reaches the gateway", async () => {
      const res = await fetch(`${s.gateway}/v2/summary?begin=${BEGIN}&end=${END}`);
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Keystone uri=/);
      const wrong = await new CloudKittyCli(s.gateway, { ...s.readerA, password: "not-it" }).run(["total", "get"]);
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /401/);
    });

    await t.test("ratemesh from the same openrc: the admin's total, the reader's own project, a wrong password is exit 7", async () => {
      const env = meshEnv({ storage: s.storage });
      const summary = ["summary", "--begin", `${BEGIN}Z`, "--end", `${END}Z`, "-g", "scope_id", "--format", "json"];
      const asAdmin = await runCli(summary, { env: { ...env, ...openrcEnv(s.admin) } });
      assert.equal(asAdmin.code, 0, asAdmin.stderr);
      const byScope = new Map(
        (JSON.parse(asAdmin.stdout) as Array<Record<string, string>>).map((r) => [r.scope_id, Decimal.parse(r.price ?? "")]),
      );
      assert.equal(byScope.get(s.alpha)?.toString(), "2.5");
      assert.equal(byScope.get(s.beta)?.toString(), "4.25");
      const asReader = await runCli(summary, { env: { ...env, ...openrcEnv(s.readerA) } });
      assert.equal(asReader.code, 0, asReader.stderr);
      assert.deepEqual(
        (JSON.parse(asReader.stdout) as Array<Record<string, string>>).map((r) => [r.scope_id, r.price]),
        [[s.alpha, "2.5"]],
      );
      const wrong = await runCli(summary, { env: { ...env, ...openrcEnv({ ...s.readerA, password: "not-it" }) } });
      assert.equal(wrong.code, 7);
      assert.match(wrong.stderr, /^ratemesh: Keystone refused reader-of-alpha on project alpha \(HTTP 401\)/);
      const noToken = await runCli(summary, { env });
      assert.equal(noToken.code, 7, "the services refuse a call without a token");
      const partial = await runCli(summary, { env: { ...env, OS_USERNAME: "admin", OS_AUTH_URL: s.ks.authUrl } });
      assert.equal(partial.code, 2);
      assert.match(partial.stderr, /needs --os-password \(OS_PASSWORD\), --os-project-name \(OS_PROJECT_NAME\)/);
    });
  });
});
