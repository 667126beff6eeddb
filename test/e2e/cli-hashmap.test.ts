/**
 * The `ratemesh` CLI on rating's price lists, against real processes: a
 * whole hashmap price list imported from YAML and exported back unchanged,
 * a second import that changes nothing, a dry run that prints the diff and
 * changes nothing, then the item commands, modules, rules, quote and explain.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { meshEnv, runCli } from "../support/cli.js";
import { startMesh } from "../support/mesh.js";

const HEADER = "# hashmap price list: `ratemesh hashmap import FILE` makes rating's price list equal to it\n";

const PRICES = `${HEADER}groups:
  - instance_uptime
services:
  - name: instance
    fields:
      - name: flavor_name
        mappings:
          - value: m1.large
            type: flat
            cost: "0.08"
            group: instance_uptime
            start: 2026-01-01T00:00:00Z
          - value: m1.small
            type: flat
            cost: "0.02"
            group: instance_uptime
            start: 2026-01-01T00:00:00Z
            name: small
            description: two vCPUs
  - name: volume.size
    mappings:
      - type: flat
        cost: "0.0002"
        start: 2026-01-01T00:00:00Z
      - type: flat
        cost: "0.0003"
        tenant: acme-prod
        start: 2026-01-01T00:00:00Z
        end: 2099-01-01T00:00:00Z
    thresholds:
      - level: "100"
        type: rate
        cost: "0.95"
    fields:
      - name: volume_type
        mappings:
          - value: ssd
            type: rate
            cost: "1.5"
            start: 2026-01-01T00:00:00Z
`;

/** PRICES with a new service, a mapping removed, one end-dated and a threshold changed. */
const CHANGED = PRICES.replace(
  "services:\n",
  `services:
  - name: image.size
    mappings:
      - type: flat
        cost: "0.00001"
        start: 2026-01-01T00:00:00Z
`,
)
  .replace(
    `          - value: m1.large
            type: flat
            cost: "0.08"
            group: instance_uptime
            start: 2026-01-01T00:00:00Z
`,
    "",
  )
  .replace(
    `        cost: "0.0002"
        start: 2026-01-01T00:00:00Z
`,
    `        cost: "0.0002"
        start: 2026-01-01T00:00:00Z
        end: 2098-01-01T00:00:00Z
`,
  )
  .replace('cost: "0.95"', 'cost: "0.9"');

describe("ratemesh CLI: price lists", () => {
  it("imports a hashmap price list, exports it back unchanged, and imports only differences", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    const env = meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address });
    const cli = (...args: string[]) => runCli(args, { env });
    const file = join(mesh.dir, "prices.yaml");
    const changed = join(mesh.dir, "changed.yaml");
    writeFileSync(file, PRICES);
    writeFileSync(changed, CHANGED);
    const exported = async () => {
      const r = await cli("hashmap", "export");
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    assert.notEqual(CHANGED, PRICES);

    await t.test("a dry run on an empty price list lists everything it would create and creates nothing", async () => {
      const r = await cli("hashmap", "import", file, "--dry-run");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\+ group instance_uptime\n\+ service instance\n\+ field instance\/flavor_name\n/);
      assert.match(
        r.stdout,
        /\n\+ mapping volume\.size \(tenant acme-prod\) from 2026-01-01T00:00:00Z: flat 0\.0003 until 2099-01-01T00:00:00Z\n/,
      );
      assert.match(r.stdout, /\ndry run: 11 to create, 0 to update, 0 to delete; nothing was changed\n$/);
      assert.equal(await exported(), `${HEADER}groups: []\nservices: []\n`);
    });

    await t.test("starts in the past need --force; the import stops at the refusal with one line naming the field", async () => {
      const r = await cli("hashmap", "import", file);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /^ratemesh: start: 2026-01-01T00:00:00(\.000)?Z is in the past .*\(INVALID_ARGUMENT from rating\)\n$/);
    });

    await t.test("with --force it finishes, and the export equals the file", async () => {
      const r = await cli("hashmap", "import", file, "--force");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\napplied: 6 created, 0 updated, 0 deleted\n$/, "what the refused run created is not created twice");
      assert.equal(await exported(), PRICES);
    });

    await t.test("importing the same file again changes nothing", async () => {
      const r = await cli("hashmap", "import", file, "--force");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "no changes: the price list already equals the file\n");
      assert.equal(await exported(), PRICES);
    });

    await t.test("a dry run of a changed file prints the diff and changes nothing", async () => {
      const r = await cli("hashmap", "import", changed, "--dry-run");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        [
          "+ service image.size",
          "- mapping instance/flavor_name=m1.large (group instance_uptime) from 2026-01-01T00:00:00Z: flat 0.08",
          "~ mapping volume.size from 2026-01-01T00:00:00Z: end (none) -> 2098-01-01T00:00:00Z",
          "~ threshold volume.size level 100: cost 0.95 -> 0.9",
          "+ mapping image.size from 2026-01-01T00:00:00Z: flat 0.00001",
          "dry run: 2 to create, 2 to update, 1 to delete; nothing was changed",
          "",
        ].join("\n"),
      );
      assert.equal(await exported(), PRICES);
    });

    await t.test("applying it makes the export equal the changed file", async () => {
      const r = await cli("hashmap", "import", changed, "--force");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\napplied: 2 created, 2 updated, 1 deleted\n$/);
      assert.equal(await exported(), CHANGED);
      const deleted = await cli("hashmap", "mappings", "list", "--field", "instance/flavor_name", "--deleted", "--format", "json");
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.deepEqual(
        JSON.parse(deleted.stdout)
          .map((m: { value: string; deletedAt?: string }) => `${m.value}:${m.deletedAt === undefined ? "live" : "deleted"}`)
          .sort(),
        ["m1.large:deleted", "m1.small:live"],
      );
    });

    await t.test("a file with a bad value is refused before anything changes, naming its path", async () => {
      const bad = join(mesh.dir, "bad.yaml");
      writeFileSync(bad, CHANGED.replace('cost: "0.00001"', "cost: 0,00001"));
      const r = await cli("hashmap", "import", bad);
      assert.equal(r.code, 4);
      assert.equal(r.stderr, `ratemesh: ${bad}: services[0].mappings[0].cost: "0,00001" is not an exact decimal (e.g. "0.01", "12.5")\n`);
      assert.equal(await exported(), CHANGED);
    });
  });

  it("starts undated mappings at the beginning of time for a price list never published, as CloudKitty 17, and later ones from now, saying which", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    const env = meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address });
    const cli = (...args: string[]) => runCli(args, { env });
    const first = join(mesh.dir, "undated.yaml");
    const undated = `${HEADER}groups: []\nservices:\n  - name: volume.size\n    mappings:\n      - type: flat\n        cost: "0.0002"\n`;
    writeFileSync(first, undated);
    const dry = await cli("hashmap", "import", first, "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^mappings without a start begin at the beginning of time \(1970-01-01T00:00:00Z\): the price list was never published/,
    );
    assert.match(dry.stdout, /\n\+ mapping volume\.size from 1970-01-01T00:00:00Z: flat 0\.0002\n/);
    // No --force needed: a first publication applies to every period, as CloudKitty 17's undated mappings.
    const r = await cli("hashmap", "import", first);
    assert.equal(r.code, 0, r.stderr);
    await mesh.clients.rating.updateModule({ name: "hashmap", enabled: true, priority: undefined });
    const quoted = await mesh.clients.rating.quote({
      points: [{ type: "volume.size", unit: "GiB", qty: "10", price: "0", groupby: {}, metadata: {} }],
      scopeId: "",
      at: new Date("2001-01-01T00:00:00Z"),
    });
    assert.equal(quoted.total, "0.0020");
    assert.equal((await cli("hashmap", "import", first)).stdout, "no changes: the price list already equals the file\n");

    // Published: what is added later takes effect from now.
    const later = join(mesh.dir, "later.yaml");
    writeFileSync(later, `${undated}  - name: image.size\n    mappings:\n      - type: flat\n        cost: "0.00001"\n`);
    const before = Date.now();
    const next = await cli("hashmap", "import", later);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, /^mappings without a start begin now: the price list was published before/);
    assert.match(next.stdout, /\n\+ mapping image\.size from now: flat 0\.00001\n/);
    const listed = await cli("hashmap", "mappings", "list", "--service", "image.size", "--format", "json");
    const start = Date.parse((JSON.parse(listed.stdout) as Array<{ start: string }>)[0]?.start ?? "");
    assert.ok(start >= before - 1000 && start <= Date.now(), `image.size starts now (${new Date(start).toISOString()})`);

    // The item command says which start it used, and --start in the past needs --force.
    const made = await cli("hashmap", "mappings", "create", "--service", "image.size", "--cost", "1", "--tenant", "acme");
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /^the mapping begins now: the price list was published before/);
    const beta = (...extra: string[]) =>
      cli("hashmap", "mappings", "create", "--service", "image.size", "--cost", "2", "--tenant", "beta", "--start", "2020-01-01", ...extra);
    const past = await beta();
    assert.equal(past.code, 4);
    assert.match(past.stderr, /start: 2020-01-01T00:00:00(\.000)?Z is in the past/);
    const forced = await beta("--force");
    assert.equal(forced.code, 0, forced.stderr);
  });

  it("manages items, modules and rules, and quotes and explains prices", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    const env = meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address });
    const cli = (...args: string[]) => runCli(args, { env });
    const file = join(mesh.dir, "prices.yaml");
    writeFileSync(file, PRICES);
    assert.equal((await cli("hashmap", "import", file, "--force")).code, 0);

    await t.test("services, fields, groups and thresholds by name", async () => {
      const services = await cli("hashmap", "services", "list", "--format", "csv");
      assert.equal(services.code, 0, services.stderr);
      assert.deepEqual(
        services.stdout
          .trimEnd()
          .split("\n")
          .slice(1)
          .map((l) => l.split(",")[1]),
        ["instance", "volume.size"],
      );
      const created = await cli("hashmap", "fields", "create", "instance", "region", "--format", "json");
      assert.equal(created.code, 0, created.stderr);
      const field = JSON.parse(created.stdout) as { field_id: string; name: string };
      assert.equal(field.name, "region");
      const shown = await cli("hashmap", "fields", "show", "instance/region");
      assert.match(shown.stdout, new RegExp(`^field_id +${field.field_id}$`, "m"));
      assert.equal((await cli("hashmap", "fields", "delete", "instance/region")).code, 0);
      assert.equal((await cli("hashmap", "fields", "show", "instance/region")).code, 3);
      const group = await cli("hashmap", "groups", "show", "instance_uptime");
      assert.equal(group.code, 0, group.stderr);
      assert.match(group.stdout, /instance\/flavor_name +m1\.small +flat +0\.02 +instance_uptime/);
      const thresholds = await cli("hashmap", "thresholds", "list", "--service", "volume.size");
      assert.match(thresholds.stdout, /volume\.size +100 +rate +0\.95/);
      const dup = await cli("hashmap", "services", "create", "instance");
      assert.equal(dup.code, 5);
      assert.match(dup.stderr, /^ratemesh: hashmap service "instance" already exists/);
    });

    await t.test("modules: enable and prioritise hashmap", async () => {
      const enabled = await cli("modules", "enable", "hashmap");
      assert.equal(enabled.code, 0, enabled.stderr);
      assert.match(enabled.stdout, /^hashmap +yes +\d+/m);
      const prio = await cli("modules", "priority", "hashmap", "20");
      assert.match(prio.stdout, /^hashmap +yes +20 /m);
      const list = await cli("modules", "list", "--format", "json");
      assert.deepEqual(
        JSON.parse(list.stdout)
          .map((m: { name: string; enabled?: boolean }) => `${m.name}:${m.enabled === true}`)
          .sort(),
        ["hashmap:true", "noop:true", "rules:false"],
      );
    });

    await t.test("quote prices a point exactly and shows it at the display precision", async () => {
      const r = await cli("quote", "--type", "volume.size", "--qty", "200", "--metadata", "volume_type=ssd");
      assert.equal(r.code, 0, r.stderr);
      // 200 GiB x 0.0002 x 1.5 (ssd), 5% off from 100 GiB.
      assert.match(r.stdout, /^volume\.size +200 +volume_type=ssd +0\.06$/m);
      assert.match(r.stdout, /\ntotal: 0\.06 \(exactly 0\.0570+\)\n$/);
    });

    await t.test("explain tells the rules that matched, step by step", async () => {
      const r = await cli("explain", "--type", "volume.size", "--qty", "200", "--metadata", "volume_type=ssd");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^price: 0\.0570+$/m);
      assert.match(r.stdout, /^hashmap: 0 -> 0\.0570+$/m);
      assert.match(r.stdout, /^ {2}\d\. \[_DEFAULT_\] service_mapping /m);
      assert.match(r.stdout, /^ {2}\d\. \[_DEFAULT_\] threshold .*qty 200 >= 100/m);
      assert.match(r.stdout, /^ {2}\d\. \[_DEFAULT_\] field_mapping .*ssd/m);
    });

    await t.test("rules: a CEL rule is created, listed and deleted; one that does not compile is refused", async () => {
      const created = await cli(
        "rules",
        "create",
        "double-images",
        "--condition",
        'type == "image.size"',
        "--expression",
        'decimal.mul(price, "2")',
        "--format",
        "json",
      );
      assert.equal(created.code, 0, created.stderr);
      const rule = JSON.parse(created.stdout) as { ruleId: string; name: string };
      assert.equal(rule.name, "double-images");
      const list = await cli("rules", "list", "--format", "csv");
      assert.match(list.stdout, new RegExp(`^${rule.ruleId},double-images,0,`, "m"));
      const broken = await cli("rules", "create", "broken", "--expression", "price +");
      assert.equal(broken.code, 4);
      assert.match(broken.stderr, /^ratemesh: expression: .*\(INVALID_ARGUMENT from rating\)\n$/);
      assert.equal((await cli("rules", "delete", rule.ruleId)).code, 0);
      const after = await cli("rules", "list", "--format", "json");
      assert.deepEqual(JSON.parse(after.stdout), []);
    });
  });
});
