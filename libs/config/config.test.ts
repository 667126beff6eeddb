import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, loadConfig, sampleConfig } from "./config.js";
import { parseIni } from "./ini.js";
import { schema } from "./schema.js";

const dir = mkdtempSync(join(tmpdir(), "ratemesh-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const f = join(dir, `c${n++}.conf`);
  writeFileSync(f, text);
  return f;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail("expected a ConfigError");
}

describe("INI reader", () => {
  it("reads sections, both separators, comments, quotes and continuation lines with line numbers", () => {
    const { entries, problems } = parseIni('# c\n[a]\nx = 1\n; c\ny: "two words"\nz = first,\n  second\n\n[b]\nw=\n');
    assert.deepEqual(problems, []);
    assert.deepEqual(entries, [
      { section: "a", key: "x", value: "1", line: 3 },
      { section: "a", key: "y", value: "two words", line: 5 },
      { section: "a", key: "z", value: "first,\nsecond", line: 6 },
      { section: "b", key: "w", value: "", line: 10 },
    ]);
  });

  it("reports syntax errors by line", () => {
    const { problems } = parseIni("x = 1\n[a\n[b]\nnovalue\n");
    assert.deepEqual(
      problems.map((p) => p.line),
      [1, 2, 4],
    );
  });
});

describe("loadConfig", () => {
  it("gives every default without a file", () => {
    const c = loadConfig({ service: "storage" });
    assert.equal(c.collect.period, 3600);
    assert.equal(c.collect.wait_periods, 2);
    assert.equal(c.storage.backend, "sqlite");
    assert.deepEqual(c.storage.listen, { host: "127.0.0.1", port: 9631 });
    assert.equal(c.server.max_message_size, 64 * 1024 * 1024);
    assert.equal(c.collect.start, undefined);
  });

  it("parses typed values once: durations, sizes, lists, timestamps", () => {
    const c = loadConfig({
      service: "collector",
      file: file(
        "[server]\ngrace_period = 1m\nmax_message_size = 16MiB\n[client]\ndeadline = 500ms\n[fetcher_source]\nsources = a, b,\n  c\n[collect]\nstart = 2026-01-01T00:00:00Z\nperiod = 300\n[collector_gnocchi]\ngnocchi_auth_type = basic\ngnocchi_user = admin\ngnocchi_endpoint = http://gnocchi:8041\n",
      ),
    });
    assert.equal(c.server.grace_period, 60);
    assert.equal(c.server.max_message_size, 16 * 1024 * 1024);
    assert.equal(c.client.deadline, 0.5);
    assert.deepEqual(c.fetcher_source.sources, ["a", "b", "c"]);
    assert.equal(c.collect.start?.toISOString(), "2026-01-01T00:00:00.000Z");
  });

  it("lets the environment override the file", () => {
    const f = file("[collect]\nperiod = 300\n");
    const c = loadConfig({ service: "storage", file: f, env: { RATEMESH_COLLECT__PERIOD: "600", OTHER: "x" } });
    assert.equal(c.collect.period, 600);
  });

  it("reports every problem at once with file, line, section and option", () => {
    const f = file("[collect]\nperiod = 7\nperiod = 8\nbogus = 1\n[nope]\nx = 1\n[DEFAULT]\ndebug = true\n");
    const problems = problemsOf(() => loadConfig({ service: "collector", file: f }));
    assert.deepEqual(problems, [
      `${f}:3: [collect] period: set twice (first at line 2)`,
      `${f}:4: [collect] bogus: unknown option (known in [collect]: ${Object.keys(schema.collect).join(", ")})`,
      `${f}:6: [nope]: unknown section (known: ${Object.keys(schema).join(", ")})`,
      `${f}:8: [DEFAULT] debug: unknown option (ratemesh has no [DEFAULT] options)`,
      `${f}:2: [collect] period: 7 does not divide a day (86400 s), so periods could not align to days`,
      `${f}: [fetcher_source] sources: a value is required when [fetcher] backend = source (the scope ids to rate)`,
      // The default collector is Gnocchi with Keystone authentication, as CloudKitty's.
      `${f}: [collector_gnocchi] auth_url: a value is required with gnocchi_auth_type = keystone ([collect] collector = gnocchi)`,
      `${f}: [collector_gnocchi] username: a value (or user_id) is required with gnocchi_auth_type = keystone ([collect] collector = gnocchi)`,
      `${f}: [collector_gnocchi] password: a value is required with gnocchi_auth_type = keystone ([collect] collector = gnocchi)`,
      `${f}: [collector_gnocchi] project_name: a value (or project_id) is required with gnocchi_auth_type = keystone ([collect] collector = gnocchi): the token must be scoped to a project`,
    ]);
  });

  it("checks cross-option rules for the service that starts only", () => {
    const f = file("[collect]\nstart = 2026-01-01T00:10:00Z\n[storage]\nbackend = postgresql\nurl = /tmp/x\n");
    assert.deepEqual(
      problemsOf(() => loadConfig({ service: "storage", file: f })),
      [
        `${f}:5: [storage] url: a postgresql:// URL is required when backend = postgresql`,
        `${f}:2: [collect] start: 2026-01-01T00:10:00.000Z is not a period boundary (period 3600 s)`,
      ],
    );
    // rating does not use the storage URL nor periods.
    assert.doesNotThrow(() => loadConfig({ service: "rating", file: f }));
  });

  it("names a file that cannot be read", () => {
    assert.deepEqual(
      problemsOf(() => loadConfig({ service: "rating", file: join(dir, "missing.conf") })),
      [`${join(dir, "missing.conf")}: cannot be read (ENOENT)`],
    );
  });
});

describe("sample config", () => {
  it("documents every option, and uncommented it is a valid config equal to the defaults", () => {
    const sample = sampleConfig();
    const uncommented = sample
      .split("\n")
      .map((l) => (/^#\w+ = \S/.test(l) ? l.slice(1) : l))
      .join("\n");
    const c = loadConfig({ service: "rating", file: file(uncommented) });
    assert.deepEqual(c, loadConfig({ service: "rating" }));
    for (const option of ["period", "wait_periods", "coordination_url", "max_workers", "grace_period"]) {
      assert.match(sample, new RegExp(`^#${option} = `, "m"));
    }
    assert.match(sample, /# type: int 1\.\.86400; default: 3600/);
  });
});
