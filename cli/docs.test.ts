/** cli/README.md is the reference generated from the commands' own help, and it is up to date. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { REFERENCE_FILE, renderReference } from "./docs.js";

describe("CLI reference", () => {
  it("cli/README.md equals what `npm run docs:cli` generates", () => {
    const committed = readFileSync(REFERENCE_FILE, "utf8");
    assert.ok(committed === renderReference(), "cli/README.md is out of date: run `npm run docs:cli` and commit it");
  });

  it("documents every command with an example and the exit statuses", () => {
    const text = renderReference();
    for (const heading of ["## ratemesh summary", "## ratemesh hashmap import", "## ratemesh status", "## ratemesh scopes reset"]) {
      assert.ok(text.includes(heading), heading);
    }
    const sections = text.split("\n## ").slice(1);
    for (const s of sections) assert.match(s, /Examples:\n {2}\$ ratemesh /, `no example in ${s.split("\n")[0]}`);
    assert.match(text, /6 {2}unavailable/);
  });
});
