/**
 * `ratemesh pricelist` against real processes: a draft copied from the
 * price list in force, edited as YAML, diffed, refused with a past date,
 * published from a future date, then the history with the publisher, the
 * version read back whole, and quotes before and after the effective date
 * (prices computed by hand here).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cliOn } from "../support/cli.js";
import { startMesh } from "../support/mesh.js";

const PRICES = `groups: []
services:
  - name: instance
    fields:
      - name: flavor
        mappings:
          - value: m1.small
            type: flat
            cost: "0.50"
            start: 2026-01-01T00:00:00Z
`;

describe("ratemesh pricelist", () => {
  it("draft, diff, publish from a date, history; quotes before and after it", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    const { cli, ok } = cliOn({ storage: mesh.storage.address, rating: mesh.rating.address });
    const file = join(mesh.dir, "prices.yaml");
    writeFileSync(file, PRICES);
    await ok("hashmap", "import", file, "--force");
    await ok("modules", "enable", "hashmap");

    // A copy of what is in force, shown as the YAML document (no dates: the draft applies from its effective date).
    assert.match(await ok("pricelist", "draft", "create", "spring"), /^draft spring created from the price list in force\n$/);
    const shown = await ok("pricelist", "draft", "show", "spring");
    assert.match(shown, /value: m1\.small\n {12}type: flat\n {12}cost: "0\.50"\n/);
    assert.doesNotMatch(shown, /start:/);
    const edited = join(mesh.dir, "spring.yaml");
    writeFileSync(edited, shown.replace('cost: "0.50"', 'cost: "0.65"'));
    await ok("pricelist", "draft", "update", "spring", "--file", edited);
    assert.match(await ok("pricelist", "draft", "list", "-f", "csv"), /^spring,anonymous \(noauth\),/m);
    const dated = join(mesh.dir, "dated.yaml");
    writeFileSync(dated, PRICES);
    const refusedFile = await cli("pricelist", "draft", "update", "spring", "--file", dated);
    assert.equal(refusedFile.code, 4);
    assert.match(refusedFile.stderr, /services\[0\]\.fields\[0\]\.mappings\[0\]: a draft's mappings have no start or end/);

    assert.equal(await ok("pricelist", "diff", "spring"), "~ mapping instance/flavor=m1.small: flat 0.50 -> flat 0.65\n");

    // A past date is refused without --force.
    const past = await cli("pricelist", "publish", "spring", "--effective", "2026-02-01T00:00:00Z");
    assert.equal(past.code, 4);
    assert.match(past.stderr, /effective: 2026-02-01T00:00:00(\.000)?Z is in the past/);

    const effective = new Date(Math.ceil((Date.now() + 86_400_000) / 3_600_000) * 3_600_000);
    const published = await ok("pricelist", "publish", "spring", "--effective", effective.toISOString());
    assert.match(published, /^~ mapping instance\/flavor=m1\.small: flat 0\.50 -> flat 0\.65\n/);
    assert.match(published, /published draft spring as version 1, effective [^ ]+ \(1 changed\)\n$/);

    const history = await ok("pricelist", "history", "-f", "csv");
    const [header, row] = history.trimEnd().split("\n");
    assert.equal(header, "version,effective,published,published_by,draft,changes");
    assert.match(row ?? "", /^1,[^,]+,[^,]+,anonymous \(noauth\),spring,1 changed$/);
    const json = JSON.parse(await ok("pricelist", "history", "-f", "json")) as Array<{ number: string; effective: string }>;
    assert.equal(new Date(json[0]?.effective ?? "").getTime(), effective.getTime());
    assert.match(await ok("pricelist", "version", "1"), /cost: "0\.65"/);
    assert.equal(await ok("pricelist", "draft", "list", "-f", "csv"), "name,created_by,created,updated\n", "published drafts are gone");

    // Before the effective date 3 × 0.50 = 1.50, from it 3 × 0.65 = 1.95.
    const quote = (at: Date) => ok("quote", "--type", "instance", "--qty", "3", "--metadata", "flavor=m1.small", "--at", at.toISOString());
    const before = await quote(new Date(effective.getTime() - 3_600_000));
    assert.match(before, /\nprice list: no published version in force\ntotal: 1\.50 \(exactly 1\.50\)\n$/);
    const after = await quote(effective);
    assert.match(after, /\nprice list: version 1\ntotal: 1\.95 \(exactly 1\.95\)\n$/);
    const explained = await ok(
      "explain",
      "--type",
      "instance",
      "--qty",
      "3",
      "--metadata",
      "flavor=m1.small",
      "--at",
      effective.toISOString(),
    );
    assert.match(explained, /^price: 1\.95\nprice list: version 1$/m);
  });
});
