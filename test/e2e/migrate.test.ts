/**
 * `ratemesh migrate from-cloudkitty` against a real CloudKitty 17 API
 * (Debian's python3-cloudkitty under uWSGI, noauth, its own PostgreSQL
 * database), its price list made with CloudKitty's own client: a dry run
 * that changes nothing, the migration (price list with CloudKitty's exact
 * costs, module states, scope states with ratemesh's meaning, a
 * ratemesh.conf from an installation guide's cloudkitty.conf that each
 * service accepts), a second run that changes nothing, and a change made in
 * CloudKitty carried over by the next run.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ListScopesRequest } from "../../libs/gen/ratemesh/v1/storage.js";
import { apiAuthStrategy, loadApiConfig } from "../../services/api/config.js";
import { loadCollectorConfig } from "../../services/collector/config.js";
import { loadStorageConfig } from "../../services/storage/config.js";
import { meshEnv, runCli } from "../support/cli.js";
import { type CloudKittyServer, installGuideConf, startCloudKitty } from "../support/cloudkitty.js";
import { CloudKittyCli } from "../support/cloudkitty-cli.js";
import { registerService, startKeystone } from "../support/keystone.js";
import { startMesh, tempDir } from "../support/mesh.js";

let ck: CloudKittyServer;
let client: CloudKittyCli;

/** The id column of the row CloudKitty's client created (it prints the row as a one-row list). */
async function created(args: string[], idKey: string): Promise<string> {
  const rows = await client.json<Array<Record<string, string>> | Record<string, string>>(args);
  return (Array.isArray(rows) ? rows[0]?.[idKey] : rows[idKey]) ?? "";
}

before(async () => {
  ck = await startCloudKitty();
  client = new CloudKittyCli(ck.url);
  // A price list as a CloudKitty operator makes it: costs typed as decimals the client sends as floats.
  const uptime = await created(["hashmap", "group", "create", "instance_uptime"], "Group ID");
  const instance = await created(["hashmap", "service", "create", "instance"], "Service ID");
  const flavor = await created(["hashmap", "field", "create", instance, "flavor_name"], "Field ID");
  await client.ok(["hashmap", "mapping", "create", "0.02", "--field-id", flavor, "--value", "m1.small", "-t", "flat", "-g", uptime]);
  await client.ok(["hashmap", "mapping", "create", "0.08", "--field-id", flavor, "--value", "m1.large", "-t", "flat", "-g", uptime]);
  const volume = await created(["hashmap", "service", "create", "volume.size"], "Service ID");
  await client.ok(["hashmap", "mapping", "create", "0.0002", "-s", volume, "-t", "flat"]);
  await client.ok(["hashmap", "mapping", "create", "0.0003", "-s", volume, "-t", "flat", "-p", "acme-prod"]);
  await client.ok(["hashmap", "threshold", "create", "100", "0.95", "-s", volume, "-t", "rate"]);
  // CloudKitty answers a module change with a 302 the client follows into a reset connection under uWSGI: sent as CloudKitty's API takes it.
  await ck.api("PUT", "/v1/rating/modules/hashmap", { module_id: "hashmap", enabled: true, priority: 3 }, [302]);
  await ck.addScopeState({ scopeId: "acme-prod", lastProcessed: new Date("2026-11-02T05:00:00Z") });
  await ck.addScopeState({ scopeId: "old-project", lastProcessed: new Date("2026-10-01T00:00:00Z"), active: false });
});

after(async () => {
  await ck?.stop();
});

describe("ratemesh migrate from-cloudkitty", () => {
  it("moves a CloudKitty 17 over: price list, modules, scope states and a ratemesh.conf; idempotent; --dry-run changes nothing", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    const env = meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address });
    const dir = tempDir(t);
    const metricsYml = join(dir, "metrics.yml");
    writeFileSync(
      metricsYml,
      "metrics:\n  cpu:\n    unit: instance\n    alt_name: instance\n    groupby: [id, project_id]\n    metadata: [flavor_name]\n  volume.size:\n    unit: GiB\n    groupby: [id, project_id]\n  image.size:\n    unit: MiB\n    groupby: [id, project_id]\n",
    );
    const conf = join(dir, "cloudkitty.conf");
    writeFileSync(conf, installGuideConf({ storage: "backend = influxdb", metricsConf: metricsYml }));
    const out = join(dir, "ratemesh");
    const migrate = (...extra: string[]) =>
      runCli(
        [
          "migrate",
          "from-cloudkitty",
          "--cloudkitty",
          ck.url,
          "--cloudkitty-conf",
          conf,
          "--metrics-yml",
          metricsYml,
          "--output",
          out,
          ...extra,
        ],
        { env },
      );
    const exported = async () => (await runCli(["hashmap", "export"], { env })).stdout;
    const empty = await exported();

    const dry = await migrate("--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^CloudKitty http:\/\/127\.0\.0\.1:\d+: 2 hashmap services, 1 fields, 1 groups, 4 mappings, 1 thresholds; 2 scopes\n/,
    );
    assert.match(
      dry.stdout,
      /\n\+ mapping instance\/flavor_name=m1\.small \(group instance_uptime\) from 1970-01-01T00:00:00Z: flat 0\.0200000000000000004163336342\n/,
    );
    assert.match(dry.stdout, /\n~ module hashmap: enabled no -> yes, priority 1 -> 3\n/);
    assert.match(
      dry.stdout,
      /\n\+ scope acme-prod: state 2026-11-02T06:00:00Z \(CloudKitty's last_processed_timestamp 2026-11-02T05:00:00Z is the begin of its last rated period\), active\n/,
    );
    assert.match(dry.stdout, /\n\+ scope old-project: state 2026-10-01T01:00:00Z .*, inactive\n/);
    assert.match(dry.stdout, /\nwarning: metrics\.yml rates type image\.size, which no hashmap service prices/);
    assert.match(dry.stdout, /\ndry run: \d+ changes to ratemesh, nothing was changed\n$/);
    assert.equal(await exported(), empty, "the dry run changed nothing");

    const run = await migrate();
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\napplied: \d+ changes to ratemesh, 2 files written\n$/);
    // The price list, with CloudKitty's digits, undated mappings from the beginning of time.
    const list = await exported();
    assert.match(
      list,
      /- value: m1\.small\n\s+type: flat\n\s+cost: "0\.0200000000000000004163336342"\n\s+group: instance_uptime\n\s+start: 1970-01-01T00:00:00Z/,
    );
    assert.match(list, /tenant: acme-prod/);
    assert.match(list, /level: "100\.00000000"\n\s+type: rate\n\s+cost: "0\.9499999999999999555910790150"/);
    const modules = (await mesh.clients.rating.listModules({})).modules;
    assert.deepEqual(
      modules.filter((m) => m.name === "hashmap").map((m) => [m.enabled, m.priority]),
      [[true, 3]],
    );
    const { scopes } = await mesh.clients.scopes.listScopes(ListScopesRequest.fromPartial({ pageSize: 10 }));
    assert.deepEqual(
      scopes.map((s) => [s.scopeId, s.state?.toISOString(), s.active, s.fetcher, s.collector]),
      [
        ["acme-prod", "2026-11-02T06:00:00.000Z", true, "keystone", "gnocchi"],
        ["old-project", "2026-10-01T01:00:00.000Z", false, "keystone", "gnocchi"],
      ],
    );
    // CloudKitty's costs are the floats its client sent, rounded to 28 decimals: Python's decimal gives
    // 1 × 0.0002000000000000000095843472 × 150 × 0.9499999999999999555910790150 = 0.02850000000000000003350184645.
    const quoted = await mesh.clients.rating.quote({
      points: [{ type: "volume.size", unit: "GiB", qty: "150", price: "0", groupby: {}, metadata: {} }],
      scopeId: "",
      at: new Date("2026-11-01T00:00:00Z"),
    });
    assert.equal(quoted.total, "0.02850000000000000003350184645");

    // The ratemesh.conf: each service starts with it, Keystone credentials through auth_section.
    const ratemeshConf = join(out, "ratemesh.conf");
    const text = readFileSync(ratemeshConf, "utf8");
    assert.match(text, /^# ratemesh configuration written by `ratemesh migrate from-cloudkitty`/);
    assert.match(text, /\n# {3}left out \[DEFAULT\] transport_url: no meaning in ratemesh \(CloudKitty's message bus/);
    assert.match(text, /\n# {3}left out \[database\] connection: no meaning in ratemesh/);
    assert.match(text, /\n# {3}left out \[storage\] backend: ratemesh's storage is written below\n/);
    const body = text
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .join("\n");
    assert.doesNotMatch(body, /transport_url|\[database\]|influx|\[DEFAULT\]/);
    const collector = loadCollectorConfig({ file: ratemeshConf });
    assert.equal(collector.fetcher_keystone.username, "cloudkitty");
    assert.equal(collector.collect.metrics_conf, join(out, "metrics.yml"));
    assert.equal(collector.orchestrator.coordination_url, "etcd3://controller:2379");
    assert.equal(loadStorageConfig({ file: ratemeshConf }).storage.backend, "sqlite");
    const api = loadApiConfig({ file: ratemeshConf });
    assert.equal(apiAuthStrategy(api), "keystone");
    assert.equal(api.api.listen.port, 8889);
    assert.equal(readFileSync(join(out, "metrics.yml"), "utf8"), readFileSync(metricsYml, "utf8"));

    const again = await migrate();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /\nno changes: ratemesh already equals CloudKitty\n$/);
    assert.equal(await exported(), list);

    // A change in CloudKitty: a mapping deleted, a cost added, the module's priority; carried over, then stable.
    const [large] = (
      await client.json<Array<Record<string, string>>>(["hashmap", "mapping", "list", "--field-id", await fieldId()])
    ).filter((m) => m.Value === "m1.large");
    await client.ok(["hashmap", "mapping", "delete", large?.["Mapping ID"] ?? ""]);
    await ck.api("PUT", "/v1/rating/modules/hashmap", { module_id: "hashmap", priority: 5 }, [302]);
    const next = await migrate();
    assert.equal(next.code, 0, next.stderr);
    assert.match(
      next.stdout,
      /\n- mapping instance\/flavor_name=m1\.large \(group instance_uptime\) from 1970-01-01T00:00:00Z: flat 0\.08/,
    );
    assert.match(next.stdout, /\n~ module hashmap: priority 3 -> 5\n/);
    assert.match((await migrate()).stdout, /no changes: ratemesh already equals CloudKitty\n$/);
  });
});

describe("ratemesh migrate from-cloudkitty with Keystone", () => {
  it("authenticates with a password and finds CloudKitty in the token's catalog; a wrong password is an auth error", async (t) => {
    const ks = await startKeystone();
    t.after(() => ks.stop());
    await registerService(ks, "rating", "cloudkitty", ck.url);
    const mesh = await startMesh(t, { withCollector: false });
    const env = {
      ...meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address }),
      OS_AUTH_URL: ks.authUrl,
      OS_USERNAME: "admin",
      OS_PROJECT_NAME: "admin",
      OS_INTERFACE: "internal",
    };
    const ok = await runCli(["migrate", "from-cloudkitty", "--dry-run"], { env: { ...env, OS_PASSWORD: ks.adminPassword } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^CloudKitty ${ck.url}: 2 hashmap services`));
    const bad = await runCli(["migrate", "from-cloudkitty", "--dry-run"], { env: { ...env, OS_PASSWORD: "wrong" } });
    assert.equal(bad.code, 7);
    assert.match(bad.stderr, /^ratemesh: Keystone refused admin on project admin \(HTTP 401\)/);
    assert.doesNotMatch(bad.stderr, /wrong/);
  });
});

async function fieldId(): Promise<string> {
  const services = await client.json<Array<Record<string, string>>>(["hashmap", "service", "list"]);
  const instance = services.find((s) => s.Name === "instance")?.["Service ID"] ?? "";
  const fields = await client.json<Array<Record<string, string>>>(["hashmap", "field", "list", instance]);
  return fields[0]?.["Field ID"] ?? "";
}
