/**
 * A cloudkitty.conf as it is: every section and option of CloudKitty 17 is
 * known to the mesh (read, accepted with a warning, or refused with what to
 * use instead), and an installation guide's file works once its storage
 * backend is ratemesh's.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, type LoadResult, readConfig, type Sections, type ServiceConfig } from "../../libs/config/config.js";
import { CONFIG_CATALOG } from "../../libs/gen/config-catalog.js";
import { apiAuthStrategy, apiConfig, loadApiConfig } from "../../services/api/config.js";
import { collectorConfig, loadCollectorConfig } from "../../services/collector/config.js";
import { ratingConfig } from "../../services/rating/config.js";
import { storageConfig } from "../../services/storage/config.js";
import { installGuideConf } from "../support/cloudkitty.js";
import { SYSTEM_PYTHON } from "../support/cloudkitty-cli.js";
import { serviceEntry } from "../support/service-process.js";

const dir = mkdtempSync(join(tmpdir(), "ratemesh-ckconf-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const f = join(dir, `c${n++}.conf`);
  writeFileSync(f, text);
  return f;
}

const SERVICES: Array<ServiceConfig<Sections>> = [storageConfig, ratingConfig, collectorConfig, apiConfig];

function read(spec: ServiceConfig<Sections>, f: string): { problems: string[]; result?: LoadResult<Sections> } {
  try {
    return { problems: [], result: readConfig(spec, { file: f, env: {}, catalog: CONFIG_CATALOG }) };
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems };
    throw err;
  }
}

/** CloudKitty 17's full sample configuration, made by oslo-config-generator from Debian's python3-cloudkitty. */
function cloudkittySample(): string {
  const out = join(dir, "cloudkitty.conf.sample");
  const namespaces = [
    "cloudkitty.common.config",
    "oslo.concurrency",
    "oslo.db",
    "oslo.log",
    "oslo.messaging",
    "oslo.policy",
    "keystonemiddleware.auth_token",
    "oslo.middleware.cors",
    "oslo.middleware.http_proxy_to_wsgi",
  ];
  assert.ok(existsSync("/usr/bin/oslo-config-generator"), "Debian's python3-cloudkitty (scripts/ensure-system-deps.sh) is needed");
  const r = spawnSync(
    SYSTEM_PYTHON,
    ["/usr/bin/oslo-config-generator", ...namespaces.flatMap((ns) => ["--namespace", ns]), "--output-file", out],
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(out, "utf8");
}

describe("CloudKitty 17's configuration", () => {
  it("has every section and option of CloudKitty 17 known: read, accepted with a warning, or refused with what to use instead", () => {
    const sample = cloudkittySample();
    // Every option set to its default, as a file that spells out everything would.
    const everything = sample
      .split("\n")
      .map((l) => (/^#\w+ = /.test(l) && !/ = <[^>]*>$/.test(l) ? l.slice(1) : l))
      .join("\n");
    const sections = [...everything.matchAll(/^\[(\w+)\]$/gm)].map((m) => m[1]);
    assert.ok(sections.length >= 28, `sections of the sample: ${sections.join(", ")}`);
    const f = file(everything);
    for (const spec of SERVICES) {
      const { problems } = read(spec, f);
      assert.deepEqual(
        problems.filter((p) => /unknown (section|option)/.test(p)),
        [],
        `${spec.service} knows every section and option`,
      );
      // What cannot be honoured is refused, saying what to use instead.
      assert.ok(
        problems.some((p) =>
          /\[storage\] backend = influxdb: ratemesh keeps rated data in its storage service.*use backend = postgresql/.test(p),
        ),
        problems.join("\n"),
      );
    }
    const collector = read(collectorConfig, f).problems;
    assert.ok(
      collector.some((p) =>
        /\[orchestrator\] coordination_url: "file:\/\/\/var\/lib\/cloudkitty\/locks" is not an etcd URL.*etcd3:\/\/host:2379/.test(p),
      ),
      collector.join("\n"),
    );
    // Once the storage backend and coordination are ratemesh's, the file is valid for storage, with warnings for the rest.
    const fixed = file(
      everything
        .replace("\nbackend = influxdb\n", "\nbackend = sqlite\n")
        .replace("coordination_url = file:///var/lib/cloudkitty/locks", "coordination_url = etcd3://127.0.0.1:2379"),
    );
    const storage = read(storageConfig, fixed);
    assert.deepEqual(storage.problems, []);
    const warned = (storage.result?.warnings ?? []).map((w) => /\[([^\]]+)\]/.exec(w)?.[1]);
    for (const s of [
      "DEFAULT",
      "database",
      "keystone_authtoken",
      "oslo_messaging_rabbit",
      "oslo_policy",
      "storage_influxdb",
      "output",
      "state",
    ]) {
      assert.ok(warned.includes(s), `a warning for [${s}]: ${warned.join(", ")}`);
    }
    // One warning per section and reason, listing its options.
    assert.match(
      storage.result?.warnings.find((w) => w.includes("[database]")) ?? "",
      /\[database\] sqlite_synchronous \(line \d+\), backend \(line \d+\), .*: ignored: CloudKitty's SQL database/,
    );
  });

  it("runs an installation guide's cloudkitty.conf as it is once [storage] names ratemesh's backend, credentials through auth_section", () => {
    const text = (backend: string) => installGuideConf({ storage: backend, metricsConf: "/etc/cloudkitty/metrics.yml" });
    const original = file(text("backend = influxdb"));
    const refused = read(storageConfig, original).problems;
    assert.deepEqual(refused.length, 1, refused.join("\n"));
    assert.match(refused[0] ?? "", new RegExp(`^${original}:\\d+: \\[storage\\] backend = influxdb: .*use backend = postgresql`));

    const f = file(text("backend = postgresql\nurl = postgresql://ratemesh@db/ratemesh"));
    const c = loadCollectorConfig({ file: f });
    assert.equal(c.fetcher.backend, "keystone");
    assert.equal(c.fetcher_keystone.username, "cloudkitty");
    assert.equal(c.fetcher_keystone.auth_url, "http://controller:5000/");
    assert.equal(c.collector_gnocchi.password, "ck-secret");
    assert.equal(c.collector_gnocchi.project_domain_name, "default");
    assert.equal(c.orchestrator.coordination_url, "etcd3://controller:2379");
    assert.equal(apiAuthStrategy(loadApiConfig({ file: f })), "keystone");
    const { warnings } = read(collectorConfig, f).result ?? { warnings: [] };
    assert.deepEqual(
      warnings.map((w) => w.replace(`${f}: `, "")),
      [
        "[DEFAULT] debug (line 2): ignored: use [log] level = debug",
        "[DEFAULT] log_dir (line 3): ignored: CloudKitty's process-wide options (oslo.log, host, the message bus); ratemesh logs JSON lines to stdout",
        "[DEFAULT] transport_url (line 4): ignored: CloudKitty's message bus; ratemesh's services call each other over gRPC at the addresses of [storage], [rating] and [collector]",
        "[oslo_messaging_notifications] topics (line 8): ignored: oslo.messaging and oslo.concurrency; ratemesh has no message bus and no file locks",
        "[keystone_authtoken] auth_type (line 11, in [ks_auth]): ignored: keystonemiddleware's other options; ratemesh does not read it",
        "[ks_auth] auth_protocol (line 12), identity_uri (line 14): ignored: not read: [keystone_authtoken] auth_section, [fetcher_keystone] auth_section, [collector_gnocchi] auth_section take only auth_type, auth_url, username, password, project_name, user_domain_name, project_domain_name, user_id, user_domain_id, project_id, project_domain_id, default_domain_id, default_domain_name, domain_id, domain_name, system_scope, trust_id from it",
        "[database] connection (line 25): ignored: CloudKitty's SQL database; ratemesh keeps price lists and module states in [rating] url and scope states in [storage] url (`ratemesh migrate from-cloudkitty` copies them)",
        "[storage] version (line 33): ignored: CloudKitty's storage API version; ratemesh's storage answers both of CloudKitty's APIs through the REST gateway",
        "[storage_influxdb] username (line 38), password (line 39), database (line 40), host (line 41): ignored: CloudKitty's storage backend options; ratemesh's storage is [storage] backend and url",
        "[orchestrator] max_workers_reprocessing (line 57): ignored: reprocessing takes the worker slots that rating leaves free ([orchestrator] max_workers)",
        "[api] port (line 60): ignored: CloudKitty's API port; the gateway's address is [api] listen (host:port, default 127.0.0.1:8889)",
      ],
    );
    // The services validate callers' tokens with the service user [keystone_authtoken] auth_section names.
    assert.equal(c.keystone_authtoken.username, "cloudkitty");
    assert.equal(c.keystone_authtoken.auth_url, "http://controller:5000/");
  });

  it("prints the warnings with --check-config", () => {
    const f = file("[DEFAULT]\ntransport_url = rabbit://x\n[database]\nconnection = sqlite://\n[storage]\nurl = :memory:\n");
    const r = spawnSync(process.execPath, [serviceEntry("storage"), "--config", f, "--check-config"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /configuration is valid for storage\n/);
    assert.match(r.stdout, /^warning: .*\[DEFAULT\] transport_url \(line 2\): ignored: CloudKitty's message bus/m);
    assert.match(r.stdout, /^warning: .*\[database\] connection \(line 4\): ignored: CloudKitty's SQL database/m);
  });
});
