import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { commonSections, metricsListen, periodOption, periodProblem } from "./common.js";
import { ConfigError, defineServiceConfig, loadConfig, readConfig } from "./config.js";
import { parseIni } from "./ini.js";
import { int, list, oneOf, retired, sectionRef, str, timestamp, tolerated } from "./options.js";
import { sampleConfig } from "./sample.js";

/** An identity service as a deployment names it (the services name theirs). */
const idp = { strategy: "sso", section: "sso_token", name: "SSO" } as const;

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

/** A service of the test's own: two sections of its own, the common ones, and the shared period. */
const alpha = defineServiceConfig(
  "alpha",
  {
    ...commonSections(idp),
    alpha: {
      mode: oneOf({ help: "How alpha works.", choices: ["fast", "slow"], default: "fast" }),
      names: list({ help: "Names alpha knows.", default: [] }),
      token: str({ help: "A secret.", secret: true }),
      start: timestamp({ help: "Where alpha starts." }),
    },
    time: { period: periodOption },
  },
  [
    ({ config: c, report }) => {
      const bad = periodProblem(c.time.period);
      if (bad !== undefined) report("time", "period", bad);
      if (c.alpha.mode === "slow" && c.alpha.names.length === 0) report("alpha", "names", "a value is required when mode = slow");
    },
  ],
);
/** What the mesh declares: alpha's sections, and another service's [beta] and [time] zone. */
const catalog = {
  ...alpha.sections,
  time: { period: periodOption, zone: str({ help: "A time zone.", default: "UTC" }) },
  beta: { size: int({ help: "How big beta is.", default: 1, min: 1 }) },
};
const load = (file?: string, env?: Record<string, string>) => loadConfig(alpha, { file, env: env ?? {}, catalog });

describe("loadConfig", () => {
  it("gives every default without a file", () => {
    const c = load();
    assert.equal(c.time.period, 3600);
    assert.equal(c.alpha.mode, "fast");
    assert.deepEqual(c.alpha.names, []);
    assert.equal(c.server.max_message_size, 64 * 1024 * 1024);
    assert.equal(c.alpha.start, undefined);
  });

  it("parses typed values once: durations, sizes, lists, timestamps", () => {
    const c = load(
      file(
        "[server]\ngrace_period = 1m\nmax_message_size = 16MiB\n[client]\ndeadline = 500ms\n[alpha]\nnames = a, b,\n  c\nstart = 2026-01-01T00:00:00Z\n[time]\nperiod = 300\n",
      ),
    );
    assert.equal(c.server.grace_period, 60);
    assert.equal(c.server.max_message_size, 16 * 1024 * 1024);
    assert.equal(c.client.deadline, 0.5);
    assert.deepEqual(c.alpha.names, ["a", "b", "c"]);
    assert.equal(c.alpha.start?.toISOString(), "2026-01-01T00:00:00.000Z");
    assert.equal(c.time.period, 300);
  });

  it("reads a metrics address (or off) and the tracing sample ratio, rejecting what is neither", () => {
    const gamma = defineServiceConfig("gamma", { ...commonSections(idp), gamma: metricsListen("gamma", "127.0.0.1:9999") }, []);
    const read = (text: string) => loadConfig(gamma, { file: file(text), env: {}, catalog: gamma.sections });
    assert.deepEqual(read("").gamma.metrics_listen, { host: "127.0.0.1", port: 9999 });
    assert.equal(read("[gamma]\nmetrics_listen = off\n").gamma.metrics_listen, undefined);
    assert.deepEqual(read("[gamma]\nmetrics_listen = 0.0.0.0:0\n").gamma.metrics_listen, { host: "0.0.0.0", port: 0 });
    assert.equal(read("").tracing.sample_ratio, 1);
    assert.equal(read("").tracing.endpoint, "");
    assert.equal(read("[tracing]\nsample_ratio = 0.25\n").tracing.sample_ratio, 0.25);
    const problems = problemsOf(() => read("[tracing]\nsample_ratio = 1.5\n[gamma]\nmetrics_listen = nowhere\n"));
    assert.equal(problems.length, 2);
    assert.match(problems.join("\n"), /\[tracing\] sample_ratio: "1\.5" is not a number from 0 to 1/);
    assert.match(problems.join("\n"), /\[gamma\] metrics_listen: "nowhere" is not host:port/);
  });

  it("lets the environment override the file", () => {
    const f = file("[time]\nperiod = 300\n");
    const c = load(f, { RATEMESH_TIME__PERIOD: "600", OTHER: "x" });
    assert.equal(c.time.period, 600);
  });

  it("checks the options another service of the mesh reads without returning them, and reports what no service declares", () => {
    const c = load(file("[beta]\nsize = 3\n[time]\nzone = Europe/Paris\n"), { RATEMESH_BETA__SIZE: "4" });
    assert.deepEqual(Object.keys(c), ["log", "server", "client", "tracing", "tls", "auth", "sso_token", "jwt", "limits", "alpha", "time"]);
    assert.deepEqual(c.time, { period: 3600 });
    const f = file("[beta]\ncolour = red\nsize = 0\n");
    assert.deepEqual(
      problemsOf(() => load(f, { RATEMESH_GAMMA__X: "1", RATEMESH_BETA__NOPE: "1" })),
      [
        `${f}:2: [beta] colour: unknown option (known in [beta]: size)`,
        "environment RATEMESH_GAMMA__X: unknown section [gamma]",
        "environment RATEMESH_BETA__NOPE: [beta] nope: unknown option",
        `${f}:3: [beta] size: 0 is below the minimum 1 (expected int >= 1)`,
      ],
    );
  });

  it("reports every problem at once with file, line, section and option", () => {
    const f = file(
      "[time]\nperiod = 7\nperiod = 8\nbogus = 1\n[nope]\nx = 1\n[DEFAULT]\ndebug = true\n[alpha]\nmode = slow\nstart = yesterday\n",
    );
    assert.deepEqual(
      problemsOf(() => load(f)),
      [
        `${f}:3: [time] period: set twice (first at line 2)`,
        `${f}:4: [time] bogus: unknown option (known in [time]: period, zone)`,
        `${f}:6: [nope]: unknown section (known: log, server, client, tracing, tls, auth, sso_token, jwt, limits, alpha, time, beta)`,
        `${f}:8: [DEFAULT] debug: unknown option (ratemesh has no [DEFAULT] options)`,
        `${f}:11: [alpha] start: "yesterday" is not an RFC 3339 timestamp with a zone (e.g. 2026-01-01T00:00:00Z) (expected timestamp (RFC 3339, e.g. 2026-01-01T00:00:00Z))`,
        `${f}:2: [time] period: 7 does not divide a day (86400 s), so periods could not align to days`,
        `${f}: [alpha] names: a value is required when mode = slow`,
      ],
    );
  });

  it("names a file that cannot be read", () => {
    assert.deepEqual(
      problemsOf(() => load(join(dir, "missing.conf"))),
      [`${join(dir, "missing.conf")}: cannot be read (ENOENT)`],
    );
  });
});

describe("options of another system's file", () => {
  /** A service that reads a file written for another system: what it tolerates, refuses and borrows. */
  const delta = defineServiceConfig("delta", {
    ...commonSections(idp),
    delta: {
      backend: oneOf({
        help: "Where delta keeps things.",
        choices: ["disk", "memory"],
        default: "disk",
        refusals: { tape: "delta cannot use tape: use backend = disk" },
      }),
      user: str({ help: "Who." }),
      password: str({ help: "Secret.", secret: true }),
      auth_from: sectionRef({ help: "Where user and password are.", takes: ["user", "password"] }),
      legacy: tolerated({ help: "the old system's knob; delta has none" }),
      scope: retired({ help: "delta cannot be scoped: set user instead" }),
    },
    DEFAULT: { "*": tolerated({ help: "the old system's process-wide options" }) },
    "bus_*": { "*": tolerated({ help: "the old system's message bus" }) },
  });
  const read = (text: string, env: Record<string, string> = {}) => readConfig(delta, { file: file(text), env, catalog: delta.sections });

  it("accepts what it tolerates with one warning per section and reason, listing the options, and returns no value for them", () => {
    const f = file("[DEFAULT]\ntransport_url = bus://x\ndebug = true\n[bus_kafka]\na = 1\n[bus_rabbit]\nb = 2\n[delta]\nlegacy = 5\n");
    const { config, warnings } = readConfig(delta, { file: f, env: { RATEMESH_DELTA__LEGACY: "6" }, catalog: delta.sections });
    assert.equal(config.delta.legacy, undefined);
    assert.deepEqual(warnings, [
      `${f}: [DEFAULT] transport_url (line 2), debug (line 3): ignored: the old system's process-wide options`,
      `${f}: [bus_kafka] a (line 5): ignored: the old system's message bus`,
      `${f}: [bus_rabbit] b (line 7): ignored: the old system's message bus`,
      `${f}: [delta] legacy (line 9): ignored: the old system's knob; delta has none`,
      "environment: [delta] legacy: ignored: the old system's knob; delta has none",
    ]);
    // A file without any of them has no warning.
    assert.deepEqual(read("[delta]\nbackend = memory\n").warnings, []);
  });

  it("refuses a value it cannot honour, and a retired option whatever its value, saying what to use instead", () => {
    const f = file("[delta]\nbackend = tape\nscope = project\n");
    assert.deepEqual(
      problemsOf(() => readConfig(delta, { file: f, env: {}, catalog: delta.sections })),
      [
        `${f}:2: [delta] backend = tape: delta cannot use tape: use backend = disk`,
        `${f}:3: [delta] scope: delta cannot be scoped: set user instead`,
      ],
    );
  });

  it("reads the options a section reference takes from the section it names, and warns about the rest of that section", () => {
    const { config, warnings } = read("[delta]\nauth_from = creds\n[creds]\nuser = ann\npassword = s3cret\nprotocol = http\n");
    assert.equal(config.delta.user, "ann");
    assert.equal(config.delta.password, "s3cret");
    assert.equal(config.delta.auth_from, "creds");
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? "",
      /\[creds\] protocol \(line 6\): ignored: not read: \[delta\] auth_from takes only user, password from it$/,
    );
  });

  it("refuses a reference to a missing section, an option set both in a section and in the one it names, and a reference from the environment", () => {
    const f1 = file("[delta]\nauth_from = nowhere\n");
    assert.deepEqual(
      problemsOf(() => readConfig(delta, { file: f1, env: {}, catalog: delta.sections })),
      [`${f1}:2: [delta] auth_from: names [nowhere], which is not in the file`],
    );
    const f2 = file("[delta]\nuser = bob\nauth_from = creds\n[creds]\nuser = ann\n");
    assert.deepEqual(
      problemsOf(() => readConfig(delta, { file: f2, env: {}, catalog: delta.sections })),
      [`${f2}:5: [creds] user: also set in [delta] at line 2, and both are read as [delta] user: set it in one place`],
    );
    assert.deepEqual(
      problemsOf(() => read("", { RATEMESH_DELTA__AUTH_FROM: "creds" })),
      [
        "environment RATEMESH_DELTA__AUTH_FROM: [delta] auth_from: a section reference is read from the file only (the section it names is there)",
      ],
    );
  });

  it("leaves tolerated, retired and pattern sections out of the sample", () => {
    const sample = sampleConfig([delta]);
    assert.doesNotMatch(sample, /legacy|scope =|\[DEFAULT\]|bus_/);
    assert.match(sample, /^#auth_from = $/m);
  });
});

describe("sample config", () => {
  it("documents every option, and uncommented it is a valid config equal to the defaults", () => {
    const sample = sampleConfig([alpha]);
    const uncommented = sample
      .split("\n")
      .map((l) => (/^#\w+ = \S/.test(l) ? l.slice(1) : l))
      .join("\n");
    assert.deepEqual(load(file(uncommented)), load());
    for (const option of ["period", "mode", "names", "grace_period"]) {
      assert.match(sample, new RegExp(`^#${option} = `, "m"));
    }
    assert.match(sample, /# type: int 1\.\.86400; default: 3600/);
    assert.match(sample, /# type: string; default: \(none\); secret\n#token = \n/);
  });
});
