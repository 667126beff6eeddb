/**
 * `ratemesh pricelist` with tiered and time-of-use mappings, against real
 * processes: a draft copied from a price list in force that has both shows
 * them in its YAML; a tier changed in the file shows in the diff; a bad tier
 * is refused naming its path; published from a future date, the version
 * holds them and quotes with a month-to-date give the old tiered price
 * before the date and the new one from it (prices computed by hand here).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cliOn } from "../support/cli.js";
import { startMesh } from "../support/mesh.js";
import { TIERED_PRICES } from "../support/price-lists.js";

describe("ratemesh pricelist with tiers and time of use", () => {
  it("a draft keeps them, the diff shows a tier's change, the published version prices with them from its date", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    const { cli, ok } = cliOn({ storage: mesh.storage.address, rating: mesh.rating.address });
    const file = join(mesh.dir, "prices.yaml");
    writeFileSync(file, TIERED_PRICES);
    await ok("hashmap", "import", file, "--force");
    await ok("modules", "enable", "hashmap");

    // The copy of what is in force carries both, in the one-line forms of the price-list file.
    await ok("pricelist", "draft", "create", "spring");
    const shown = await ok("pricelist", "draft", "show", "spring");
    assert.match(shown, /\n {8}time_of_use: UTC; 22:00-06:00=0\.05; sat,sun=0\.05\n/);
    assert.match(shown, /\n {8}tiers: graduated 0:0\.10, 1000:0\.08\n/);
    assert.equal(await ok("pricelist", "diff", "spring"), "no changes: the draft equals the price list in force\n");

    // A bad tier: rating refuses it, naming its path in the draft.
    const bad = join(mesh.dir, "bad.yaml");
    writeFileSync(bad, shown.replace("1000:0.08", "0:0.08"));
    const refused = await cli("pricelist", "draft", "update", "spring", "--file", bad);
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /content\.services\[1\]\.mappings\[0\]\.tiers\.tiers\[1\]\.from/);

    // The second tier from 0.08 to 0.06.
    const edited = join(mesh.dir, "spring.yaml");
    writeFileSync(edited, shown.replace("1000:0.08", "1000:0.06"));
    await ok("pricelist", "draft", "update", "spring", "--file", edited);
    assert.equal(
      await ok("pricelist", "diff", "spring"),
      "~ mapping storage.gb: flat 0 tiers graduated 0:0.10, 1000:0.08 -> flat 0 tiers graduated 0:0.10, 1000:0.06\n",
    );

    const effective = new Date(Math.ceil((Date.now() + 86_400_000) / 3_600_000) * 3_600_000);
    const published = await ok("pricelist", "publish", "spring", "--effective", effective.toISOString());
    assert.match(published, /published draft spring as version 1, effective [^ ]+ \(1 changed\)\n$/);
    const version = await ok("pricelist", "version", "1");
    assert.match(version, /\n {8}tiers: graduated 0:0\.10, 1000:0\.06\n/);
    assert.match(version, /\n {8}time_of_use: UTC; 22:00-06:00=0\.05; sat,sun=0\.05\n/);

    // 990 GB earlier in the month, 30 now: before the date 10 × 0.10 + 20 × 0.08 = 1.00 + 1.60 = 2.60,
    // from it 10 × 0.10 + 20 × 0.06 = 1.00 + 1.20 = 2.20.
    const quote = async (at: Date) => {
      const out = await ok("quote", "--type", "storage.gb", "--qty", "30", "--at", at.toISOString(), "--month-to-date", "storage.gb=990");
      return /\ntotal: ([^ ]+) /.exec(out)?.[1];
    };
    assert.equal(await quote(new Date(effective.getTime() - 3_600_000)), "2.60");
    assert.equal(await quote(effective), "2.20");
  });
});
