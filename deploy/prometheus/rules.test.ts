/**
 * The alert and recording rules, checked and unit-tested with the real
 * promtool (Debian's prometheus package): the rules are valid, every
 * alert fires in tests/alerts.test.yml when it should and not before, and
 * every alert has its runbook in README.md.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const DIR = fileURLToPath(new URL("../../../deploy/prometheus/", import.meta.url));

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync("promtool", args, { cwd: DIR, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

interface RuleFile {
  groups: Array<{ rules: Array<{ alert?: string; record?: string; annotations?: Record<string, string> }> }>;
}

const alerts = (parse(readFileSync(join(DIR, "alerts.yml"), "utf8")) as RuleFile).groups.flatMap((g) => g.rules);

describe("alert and recording rules", () => {
  it("are valid rules for promtool", () => {
    const r = promtool("check", "rules", "alerts.yml", "recording.yml");
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`alerts.yml\\s+SUCCESS: ${alerts.length} rules found`));
    assert.match(r.out, /recording.yml\s+SUCCESS: \d+ rules found/);
  });

  it("pass their unit tests: each alert fires when it should, and not before", () => {
    const r = promtool("test", "rules", "tests/alerts.test.yml");
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it("have a test that makes each alert fire, and a runbook in README.md", () => {
    const tests = parse(readFileSync(join(DIR, "tests/alerts.test.yml"), "utf8")) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const fired = new Set(
      tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    const readme = readFileSync(join(DIR, "README.md"), "utf8");
    assert.ok(alerts.length >= 10);
    for (const rule of alerts) {
      const name = rule.alert ?? "";
      assert.ok(fired.has(name), `${name}: no test makes it fire`);
      assert.match(readme, new RegExp(`^### ${name}$`, "m"), `${name}: no runbook section in README.md`);
      assert.equal(rule.annotations?.runbook, `deploy/prometheus/README.md#${name.toLowerCase()}`);
    }
  });
});
