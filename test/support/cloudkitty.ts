/**
 * A real CloudKitty 17 API (Debian's python3-cloudkitty) for tests: its own
 * PostgreSQL database, `cloudkitty-dbsync upgrade`, the scope-state tables
 * (what `cloudkitty-storage-init` creates besides InfluxDB's database; the
 * API needs no InfluxDB to serve rating rules and scope states), a paste
 * pipeline, and `cloudkitty-api` under uWSGI on a free port with
 * `auth_strategy = noauth`. Stopped by process group id at the end.
 *
 * CloudKitty 17 cannot write scope states through its API on PostgreSQL
 * (`POST` and `PUT /v2/scope` fail with "operator does not exist: boolean =
 * integer"), so `addScopeState` writes the row as its processor does.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { SYSTEM_PYTHON } from "./cloudkitty-cli.js";
import { freePort } from "./ports.js";
import { serverHome } from "./server-home.js";

export interface CloudKittyServer {
  /** The API's URL, e.g. http://127.0.0.1:PORT. */
  url: string;
  /** The cloudkitty.conf it runs with, and its database URL. */
  configFile: string;
  databaseUrl: string;
  dir: string;
  /** A JSON request to the API; throws on an unexpected status. */
  api(method: string, path: string, body?: unknown, expect?: number[]): Promise<unknown>;
  /** A scope's state row, as CloudKitty's processor writes it (last_processed_timestamp: the begin of the last rated period). */
  addScopeState(s: { scopeId: string; lastProcessed: Date; active?: boolean; fetcher?: string; collector?: string }): Promise<void>;
  stop(): Promise<void>;
}

const API_PASTE = `[pipeline:cloudkitty+noauth]
pipeline = request_id ck_api

[pipeline:cloudkitty+keystone]
pipeline = request_id authtoken ck_api

[app:ck_api]
paste.app_factory = cloudkitty.api.app:app_factory

[filter:authtoken]
acl_public_routes = /, /v1, /v2, /healthcheck
paste.filter_factory = cloudkitty.api.middleware:AuthTokenMiddleware.factory

[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory
`;

/** The scope-state tables (CloudKitty's storage_state migrations), as cloudkitty-storage-init makes them. */
const STATE_INIT = `
import sys
from cloudkitty import service
service.prepare_service(['cloudkitty', '--config-file', sys.argv[1]])
from cloudkitty import storage_state
storage_state.StateManager().init()
`;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${(r.stderr || r.stdout).slice(-2000)}`);
}

/** Starts CloudKitty's API; `extraConf` lines are added to its cloudkitty.conf (e.g. a [collect] section). */
export async function startCloudKitty(opts: { extraConf?: string } = {}): Promise<CloudKittyServer> {
  const home = await serverHome("cloudkitty");
  const { dir, stop, databaseUrl } = home;
  let child: ChildProcess | undefined;
  try {
    const paste = join(dir, "api_paste.ini");
    writeFileSync(paste, API_PASTE);
    writeFileSync(join(dir, "metrics.yml"), "metrics:\n  cpu:\n    unit: instance\n    alt_name: instance\n    groupby: [id]\n");
    const conf = join(dir, "cloudkitty.conf");
    writeFileSync(
      conf,
      [
        "[DEFAULT]",
        "auth_strategy = noauth",
        `api_paste_config = ${paste}`,
        // No message bus: module changes cast to the processor through oslo.messaging's in-process driver.
        "transport_url = fake:/",
        "[database]",
        `connection = ${databaseUrl}`,
        "[storage]",
        "version = 2",
        "backend = influxdb",
        opts.extraConf ?? `[collect]\nmetrics_conf = ${join(dir, "metrics.yml")}`,
        "",
      ].join("\n"),
    );
    run("cloudkitty-dbsync", ["--config-file", conf, "upgrade"]);
    run(SYSTEM_PYTHON, ["-c", STATE_INIT, conf]);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const logs: string[] = [];
    child = spawn(
      "uwsgi",
      [
        "--plugins",
        "python3",
        "--http-socket",
        `127.0.0.1:${port}`,
        "--master",
        "--processes",
        "2",
        "--die-on-term",
        "--wsgi-file",
        "/usr/bin/cloudkitty-api",
        "--pyargv",
        `--config-file ${conf}`,
      ],
      { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout?.on("data", (d: Buffer) => logs.push(d.toString()));
    child.stderr?.on("data", (d: Buffer) => logs.push(d.toString()));
    home.adopt(child);
    const api = async (method: string, path: string, body?: unknown, expect: number[] = [200, 201, 202, 204]) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? null : JSON.stringify(body),
        redirect: "manual",
      });
      const text = await res.text();
      if (!expect.includes(res.status)) throw new Error(`CloudKitty ${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
      return text === "" ? undefined : JSON.parse(text);
    };
    const until = Date.now() + 60_000;
    for (;;) {
      try {
        await api("GET", "/v1/rating/modules");
        break;
      } catch (err) {
        if (child.exitCode !== null) throw new Error(`cloudkitty-api exited:\n${logs.join("").slice(-3000)}`);
        if (Date.now() > until) throw new Error(`cloudkitty-api not ready within 60 s: ${String(err)}\n${logs.join("").slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const addScopeState: CloudKittyServer["addScopeState"] = async (s) => {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      try {
        await c.query(
          `INSERT INTO cloudkitty_storage_states (identifier, scope_key, fetcher, collector, last_processed_timestamp, active, scope_activation_toggle_date)
           VALUES ($1, 'project_id', $2, $3, $4, $5, now() AT TIME ZONE 'UTC')`,
          [
            s.scopeId,
            s.fetcher ?? "keystone",
            s.collector ?? "gnocchi",
            s.lastProcessed.toISOString().replace("T", " ").replace("Z", ""),
            s.active ?? true,
          ],
        );
      } finally {
        await c.end();
      }
    };
    return { url, configFile: conf, databaseUrl, dir, api, addScopeState, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A cloudkitty.conf as CloudKitty's installation guide writes it (message
 * bus, Keystone credentials in [ks_auth] named by auth_section, its SQL
 * database, InfluxDB, the Keystone fetcher), with `storage` as the
 * [storage] backend line(s) and `metricsConf` as [collect] metrics_conf.
 */
export function installGuideConf(o: { storage: string; metricsConf: string }): string {
  return `[DEFAULT]
debug = True
log_dir = /var/log/cloudkitty
transport_url = rabbit://openstack:secret@controller
auth_strategy = keystone

[oslo_messaging_notifications]
topics = notifications

[ks_auth]
auth_type = v3password
auth_protocol = http
auth_url = http://controller:5000/
identity_uri = http://controller:5000/
username = cloudkitty
password = ck-secret
project_name = service
user_domain_name = default
project_domain_name = default

[keystone_authtoken]
auth_section = ks_auth

[database]
connection = mysql+pymysql://cloudkitty:secret@localhost/cloudkitty

[collect]
metrics_conf = ${o.metricsConf}
period = 3600
wait_periods = 2

[storage]
version = 2
${o.storage}

[storage_influxdb]
username = cloudkitty
password = cloudkitty
database = cloudkitty
host = localhost

[fetcher]
backend = keystone

[fetcher_keystone]
auth_section = ks_auth
keystone_version = 3

[collector_gnocchi]
auth_section = ks_auth
region_name = RegionOne

[orchestrator]
coordination_url = etcd3://controller:2379
max_workers = 4
max_workers_reprocessing = 2

[api]
port = 8889
`;
}
