/**
 * The README's first command ends in the local demo: three services, the
 * bundled usage file, a price list. This runs it the way `npm start -- --once`
 * does (after the build) and checks what it prints.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT, tempDir } from "../support/mesh.js";

describe("local demo", () => {
  it("rates three days of three projects and prints exact prices per project and type", (t) => {
    // Its databases in a directory of its own: another test may run the demo meanwhile.
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "dist/deploy/local/demo.js"), "--once", "--data", tempDir(t)], {
      encoding: "utf8",
      timeout: 180_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /rated 216 periods in/);
    // Worked by hand from the price list and the usage file: two m1.small and one
    // m1.large for 72 hours; a 200 GiB ssd volume at 0.0002 x 1.5, 5% off.
    assert.match(r.stdout, /acme-prod {3}instance {19}216 {11}8\.64/);
    assert.match(r.stdout, /acme-prod {3}volume\.size {14}14400 {10}4\.104/);
    assert.match(r.stdout, /globex-dev {2}volume\.size {15}5040 {10}1\.152/);
    assert.match(r.stdout, /total price over all projects: 24\.78947017995/);
    // The price list covers every type from the first period on: nothing was rated without a rule.
    for (const p of ["acme-prod", "globex-dev", "initech-qa"]) assert.match(r.stdout, new RegExp(`${p} +[0-9.]+  unpriced points: 0\n`));
    assert.doesNotMatch(r.stdout, /had points no rule priced/);
    assert.match(r.stdout, /ratemesh\.v1\.StorageService\/Summary/);
    assert.match(r.stdout, /services stopped\./);
  });
});
