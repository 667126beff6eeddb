/**
 * The shared configuration file as the three services read it: each checks
 * the options it declares and passes over the others'.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "../../libs/config/config.js";
import { sampleConfig } from "../../libs/config/sample.js";
import { CONFIG_CATALOG } from "../../libs/gen/config-catalog.js";
import { SERVICE_CONFIGS } from "../../scripts/config-services.js";
import { loadCollectorConfig } from "../../services/collector/config.js";
import { loadRatingConfig } from "../../services/rating/config.js";
import { loadStorageConfig } from "../../services/storage/config.js";

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

describe("loadConfig", () => {
  it("gives every default without a file", () => {
    const c = loadStorageConfig();
    assert.equal(c.collect.period, 3600);
    assert.equal(CONFIG_CATALOG.collect?.wait_periods?.default, 2);
    assert.equal(c.storage.backend, "sqlite");
    assert.deepEqual(c.storage.listen, { host: "127.0.0.1", port: 9631 });
    assert.equal(c.server.max_message_size, 64 * 1024 * 1024);
    assert.equal(CONFIG_CATALOG.collect?.start?.default, undefined);
  });

  it("parses typed values once: durations, sizes, lists, timestamps", () => {
    const c = loadCollectorConfig({
      file: file(
        "[server]\ngrace_period = 1m\nmax_message_size = 16MiB\n[client]\ndeadline = 500ms\n[fetcher]\nbackend = source\n[fetcher_source]\nsources = a, b,\n  c\n[collect]\nstart = 2026-01-01T00:00:00Z\nperiod = 300\n[collector_gnocchi]\ngnocchi_auth_type = basic\ngnocchi_user = admin\ngnocchi_endpoint = http://gnocchi:8041\n",
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
    const c = loadStorageConfig({ file: f, env: { RATEMESH_COLLECT__PERIOD: "600", OTHER: "x" } });
    assert.equal(c.collect.period, 600);
  });

  it("reports every problem at once with file, line, section and option", () => {
    const f = file("[collect]\nperiod = 7\nperiod = 8\nbogus = 1\n[nope]\nx = 1\n[DEFAULT]\ndebug = true\n[fetcher]\nbackend = source\n");
    const problems = problemsOf(() => loadCollectorConfig({ file: f }));
    assert.deepEqual(problems, [
      `${f}:3: [collect] period: set twice (first at line 2)`,
      `${f}:4: [collect] bogus: unknown option (known in [collect]: ${Object.keys(CONFIG_CATALOG.collect ?? {}).join(", ")})`,
      `${f}:6: [nope]: unknown section (known: ${Object.keys(CONFIG_CATALOG).join(", ")})`,
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
    const f = file(
      "[collect]\nstart = 2026-01-01T00:10:00Z\n[storage]\nbackend = postgresql\nurl = /tmp/x\n[fetcher]\nbackend = source\n[fetcher_source]\nsources = a\n[collector_gnocchi]\ngnocchi_auth_type = basic\ngnocchi_user = admin\ngnocchi_endpoint = http://gnocchi:8041\n",
    );
    // storage checks its URL; the start of rating is the collector's.
    assert.deepEqual(
      problemsOf(() => loadStorageConfig({ file: f })),
      [`${f}:5: [storage] url: a postgresql:// URL is required when backend = postgresql`],
    );
    assert.deepEqual(
      problemsOf(() => loadCollectorConfig({ file: f })),
      [`${f}:2: [collect] start: 2026-01-01T00:10:00.000Z is not a period boundary (period 3600 s)`],
    );
    // rating does not use the storage URL nor periods.
    assert.doesNotThrow(() => loadRatingConfig({ file: f }));
  });

  it("names a file that cannot be read", () => {
    assert.deepEqual(
      problemsOf(() => loadRatingConfig({ file: join(dir, "missing.conf") })),
      [`${join(dir, "missing.conf")}: cannot be read (ENOENT)`],
    );
  });
});

describe("sample config", () => {
  it("documents every option, and uncommented it is a valid config equal to the defaults", () => {
    const sample = sampleConfig(SERVICE_CONFIGS);
    const uncommented = sample
      .split("\n")
      .map((l) => (/^#\w+ = \S/.test(l) ? l.slice(1) : l))
      .join("\n");
    const c = loadRatingConfig({ file: file(uncommented) });
    assert.deepEqual(c, loadRatingConfig());
    // Every service accepts the whole sample: each passes over the others' options.
    assert.deepEqual(loadStorageConfig({ file: file(uncommented) }), loadStorageConfig());
    assert.doesNotThrow(() =>
      loadCollectorConfig({
        file: file(`${uncommented}\n[fetcher_source]\nsources = a\n`),
        // The sample keeps the default fetcher (keystone): the static one here.
        env: {
          RATEMESH_FETCHER__BACKEND: "source",
          RATEMESH_COLLECTOR_GNOCCHI__GNOCCHI_AUTH_TYPE: "basic",
          RATEMESH_COLLECTOR_GNOCCHI__GNOCCHI_USER: "admin",
          RATEMESH_COLLECTOR_GNOCCHI__GNOCCHI_ENDPOINT: "http://g:8041",
        },
      }),
    );
    for (const option of ["period", "wait_periods", "coordination_url", "max_workers", "grace_period"]) {
      assert.match(sample, new RegExp(`^#${option} = `, "m"));
    }
    assert.match(sample, /# type: int 1\.\.86400; default: 3600/);
  });
});
