/**
 * The CLI on tiered and time-of-use mappings, against real processes: a
 * YAML price list with both imported (a tiered mapping needs no cost),
 * exported back unchanged, imported again with nothing to do; `mappings
 * create --tiers` and `show`; a bad spec refused naming the option.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Decimal } from "../../libs/money/decimal.js";
import { meshEnv, runCli } from "../support/cli.js";
import { startMesh } from "../support/mesh.js";
import { TIERED_PRICES } from "../support/price-lists.js";

const HEADER = "# hashmap price list: `ratemesh hashmap import FILE` makes rating's price list equal to it\n";

const PRICES = `${HEADER}${TIERED_PRICES}`;

describe("CLI: tiered and time-of-use mappings", () => {
  it("imports them from YAML, exports them back unchanged, creates and shows them", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    const env = meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address });
    const cli = (...args: string[]) => runCli(args, { env });
    const file = join(mesh.dir, "prices.yaml");
    writeFileSync(file, PRICES);

    const imported = await cli("hashmap", "import", file, "--force");
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /applied: 4 created, 0 updated, 0 deleted\n$/);
    const exported = await cli("hashmap", "export");
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout, PRICES);
    const again = await cli("hashmap", "import", file, "--dry-run");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "no changes: the price list already equals the file\n");

    // Priced as the YAML says: 990 GB earlier in the month, 30 now: 10 × 0.10 + 20 × 0.08 = 2.60.
    await mesh.clients.rating.updateModule({ name: "hashmap", enabled: true, priority: undefined });
    const quoted = await mesh.clients.rating.quote({
      points: [{ type: "storage.gb", unit: "GB", qty: "30", price: "0", groupby: {}, metadata: {} }],
      scopeId: "",
      at: new Date("2026-03-10T12:00:00Z"),
      monthToDate: { qty: { "storage.gb": "990" } },
    });
    assert.ok(Decimal.parse(quoted.total).eq(Decimal.parse("2.60")), quoted.total);
    const at = ["--at", "2026-03-10T12:00:00Z", "--month-to-date", "storage.gb=990"];
    const cliQuote = await cli("quote", "--type", "storage.gb", "--qty", "30", ...at, "--format", "json");
    assert.equal(cliQuote.code, 0, cliQuote.stderr);
    assert.ok(Decimal.parse((JSON.parse(cliQuote.stdout) as { total: string }).total).eq(Decimal.parse("2.60")), cliQuote.stdout);
    const cliExplain = await cli("explain", "--type", "storage.gb", "--qty", "30", ...at);
    assert.equal(cliExplain.code, 0, cliExplain.stderr);
    assert.match(cliExplain.stdout, /graduated tiers, month to date 990, qty 30: 10 × 0\.10 \+ 20 × 0\.08 = 2\.60/);

    await cli("hashmap", "services", "create", "ip");
    const created = await cli("hashmap", "mappings", "create", "--service", "ip", "--tiers", "volume 0:1, 10:0.5", "--format", "json");
    assert.equal(created.code, 0, created.stderr);
    const mapping = JSON.parse(created.stdout) as { mappingId: string; tiers: { mode: string; tiers: unknown[] } };
    assert.deepEqual(mapping.tiers, {
      mode: "TIER_MODE_VOLUME",
      tiers: [
        { from: "0", price: "1" },
        { from: "10", price: "0.5" },
      ],
    });
    const shown = await cli("hashmap", "mappings", "show", mapping.mappingId);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /tiers\s+volume 0:1, 10:0\.5/);

    const bad = await cli("hashmap", "mappings", "create", "--service", "ip", "--tiers", "0=1");
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--tiers.*"0=1" is not FROM:PRICE/);
    const rated = await cli("hashmap", "mappings", "create", "--service", "ip", "--type", "rate", "--tiers", "0:1");
    assert.notEqual(rated.code, 0);
    assert.match(rated.stderr, /tiers: a tiered mapping is a flat price per unit/);
  });
});
