/**
 * A real Gnocchi 4.4 (Debian's python3-gnocchi) for tests and benchmarks:
 * its own PostgreSQL database as indexer, file storage in a temp dir, the
 * API under uWSGI on a free port (basic auth) and gnocchi-metricd to
 * aggregate pushed measures. One server per test file: start it in a
 * `before` hook, stop it in `after` (by process group id: uWSGI and
 * metricd both fork workers). Each test uses its own project ids.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { adminQuery, adminUrl } from "./postgres.js";
import { stopProcessGroup } from "./processes.js";
import { type Watchdog, watchdog } from "./watchdog.js";

export interface GnocchiOptions {
  /** [api] max_limit: the largest page Gnocchi returns (small values exercise paging). */
  maxLimit?: number;
  /** uWSGI processes and threads per process. */
  processes?: number;
  threads?: number;
  /** Keystone authentication (auth_mode = keystone, keystonemiddleware) instead of basic. */
  keystone?: { authUrl: string; username: string; password: string; project: string };
}

export interface GnocchiServer {
  url: string;
  port: number;
  user: string;
  dir: string;
  /** A request to the API as admin; throws on an unexpected status. */
  api(method: string, path: string, body?: unknown, expect?: number[]): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startGnocchi(opts: GnocchiOptions = {}): Promise<GnocchiServer> {
  const dir = mkdtempSync(join(tmpdir(), "ratemesh-gnocchi-"));
  const db = `rm_gnocchi_${randomBytes(5).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${db}`);
  const dbUrl = new URL(adminUrl());
  dbUrl.pathname = `/${db}`;
  const conf = join(dir, "gnocchi.conf");
  const ks = opts.keystone;
  let keystoneLines: string[] = [];
  if (ks !== undefined) {
    // keystonemiddleware reads its options from Gnocchi's default config
    // files unless the paste pipeline names ours.
    const paste = join(dir, "api-paste.ini");
    writeFileSync(
      paste,
      readFileSync("/usr/lib/python3/dist-packages/gnocchi/rest/api-paste.ini", "utf8").replace(
        "oslo_config_project = gnocchi\n",
        `oslo_config_project = gnocchi\noslo_config_file = ${conf}\n`,
      ),
    );
    keystoneLines = [
      `paste_config = ${paste}`,
      "[keystone_authtoken]",
      `www_authenticate_uri = ${ks.authUrl}`,
      `auth_url = ${ks.authUrl}`,
      "auth_type = password",
      `username = ${ks.username}`,
      `password = ${ks.password}`,
      `project_name = ${ks.project}`,
      "user_domain_name = Default",
      "project_domain_name = Default",
      // Every request is checked with Keystone: a revoked token is refused at once.
      "token_cache_time = -1",
    ];
  }
  writeFileSync(
    conf,
    [
      "[DEFAULT]",
      "debug = false",
      "[api]",
      `auth_mode = ${ks === undefined ? "basic" : "keystone"}`,
      `max_limit = ${opts.maxLimit ?? 1000}`,
      ...keystoneLines,
      "[indexer]",
      `url = ${dbUrl.toString()}`,
      "[storage]",
      "driver = file",
      `file_basepath = ${join(dir, "data")}`,
      "[incoming]",
      "driver = file",
      `file_basepath = ${join(dir, "data")}`,
      "[metricd]",
      "workers = 1",
      "metric_processing_delay = 1",
      "",
    ].join("\n"),
  );
  const children: ChildProcess[] = [];
  let guard: Watchdog | undefined;
  const cleanup = async () => {
    await Promise.all(children.map((c) => stopProcessGroup(c)));
    guard?.release();
    await adminQuery(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const up = spawnSync("gnocchi-upgrade", ["--config-file", conf], { encoding: "utf8", timeout: 120_000 });
    if (up.status !== 0) throw new Error(`gnocchi-upgrade failed (${up.status}): ${up.stderr.slice(-2000)}`);
    const port = await freePort();
    const logs: string[] = [];
    const keep = (c: ChildProcess) => {
      c.stdout?.on("data", (d: Buffer) => logs.push(d.toString()));
      c.stderr?.on("data", (d: Buffer) => logs.push(d.toString()));
      children.push(c);
    };
    keep(
      spawn(
        "uwsgi",
        [
          "--plugins",
          "http,python3",
          "--http",
          `127.0.0.1:${port}`,
          "--master",
          "--enable-threads",
          "--processes",
          String(opts.processes ?? 2),
          "--threads",
          String(opts.threads ?? 2),
          "--lazy-apps",
          "--die-on-term",
          "--http-keepalive",
          "--wsgi",
          "gnocchi.rest.wsgi",
          "--pyargv",
          `--config-file ${conf}`,
        ],
        { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] },
      ),
    );
    keep(spawn("gnocchi-metricd", ["--config-file", conf], { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] }));
    guard = watchdog(
      children.flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
      { database: db, dir },
    );
    const url = `http://127.0.0.1:${port}`;
    const basic = `Basic ${Buffer.from("admin:").toString("base64")}`;
    let token: { value: string; at: number } | undefined;
    const authHeaders = async (): Promise<Record<string, string>> => {
      if (ks === undefined) return { authorization: basic };
      if (token === undefined || Date.now() - token.at > 60_000) {
        const res = await fetch(`${ks.authUrl}/auth/tokens`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            auth: {
              identity: {
                methods: ["password"],
                password: { user: { name: ks.username, domain: { name: "Default" }, password: ks.password } },
              },
              scope: { project: { name: ks.project, domain: { name: "Default" } } },
            },
          }),
        });
        await res.text();
        token = { value: res.headers.get("x-subject-token") ?? "", at: Date.now() };
      }
      return { "x-auth-token": token.value };
    };
    const api = async (method: string, path: string, body?: unknown, expect: number[] = [200, 201, 202, 204]): Promise<unknown> => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(await authHeaders()),
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!expect.includes(res.status)) throw new Error(`Gnocchi ${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
      return text === "" ? undefined : JSON.parse(text);
    };
    const until = Date.now() + 60_000;
    for (;;) {
      try {
        await api("GET", "/v1/status");
        break;
      } catch (err) {
        if (Date.now() > until) throw new Error(`Gnocchi did not answer within 60 s: ${String(err)}\n${logs.join("").slice(-3000)}`);
        if (children.some((c) => c.exitCode !== null)) throw new Error(`Gnocchi exited:\n${logs.join("").slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { url, port, user: "admin", dir, api, stop: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Waits until metricd has processed every pushed measure. */
export async function waitProcessed(g: GnocchiServer, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = (await g.api("GET", "/v1/status")) as { storage: { summary: { measures: number; metrics: number } } };
    if (s.storage.summary.measures === 0 && s.storage.summary.metrics === 0) return;
    if (Date.now() > until) throw new Error(`Gnocchi measures not processed within ${timeoutMs} ms: ${JSON.stringify(s.storage.summary)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The resource types and archive policy the tests and the benchmark use:
 * the types CloudKitty's default metrics.yml names, with the attributes it
 * takes metadata from, and a policy with 5-minute and hourly aggregates of
 * the methods CloudKitty asks for.
 */
export async function setupCloudKittyTypes(g: GnocchiServer): Promise<void> {
  const str = { type: "string", required: false };
  const num = { type: "number", required: false };
  const types: Record<string, Record<string, unknown>> = {
    instance: { flavor_name: str, flavor_id: str, vcpus: num, display_name: str },
    image: { container_format: str, disk_format: str, name: str },
    volume: { volume_type: str, display_name: str },
    instance_network_interface: { instance_id: str, name: str },
    network: { state: str, name: str },
    ceph_account: {},
  };
  for (const [name, attributes] of Object.entries(types)) {
    await g.api("POST", "/v1/resource_type", { name, attributes }, [201, 409]);
  }
  await g.api(
    "POST",
    "/v1/archive_policy",
    {
      name: "ratemesh",
      back_window: 0,
      aggregation_methods: ["mean", "max", "min", "sum", "count", "last"],
      definition: [
        { granularity: "300s", timespan: "400 days" },
        { granularity: "3600s", timespan: "400 days" },
      ],
    },
    [201, 409],
  );
}

export interface Measure {
  timestamp: string;
  value: number | string;
}

/** Pushes measures for many resources at once: {resourceId: {metric: [measures]}}. */
export async function pushMeasures(g: GnocchiServer, batch: Record<string, Record<string, Measure[]>>): Promise<void> {
  await g.api("POST", "/v1/batch/resources/metrics/measures", batch, [202]);
}
