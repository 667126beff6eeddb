/**
 * A real Keystone (Debian's python3-keystone) for tests: its own PostgreSQL
 * database (SQLite locks under uWSGI's threads), fernet keys in a temp dir, `keystone-manage db_sync`, `fernet_setup`,
 * `credential_setup` and `bootstrap` (admin user, project and role, the
 * identity endpoints), then the public WSGI app under uWSGI on a free port.
 * Stopped by process group id at the end.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "undici";
import { freePort } from "./ports.js";
import { serverHome } from "./server-home.js";

export interface KeystoneServer {
  url: string;
  /** The identity URL clients are configured with (…/v3). */
  authUrl: string;
  adminPassword: string;
  /** An admin token, for setting things up. */
  adminToken(): Promise<string>;
  api(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
    expect?: number[],
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }>;
  stop(): Promise<void>;
}

export interface KeystoneOptions {
  /** [token] expiration in seconds. */
  tokenExpiration?: number;
}

function manage(conf: string, args: string[]): void {
  const r = spawnSync("keystone-manage", ["--config-file", conf, ...args], { encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) throw new Error(`keystone-manage ${args[0]} failed (${r.status}): ${(r.stderr || r.stdout).slice(-2000)}`);
}

export async function startKeystone(opts: KeystoneOptions = {}): Promise<KeystoneServer> {
  const home = await serverHome("keystone");
  const { dir, stop } = home;
  let child: ChildProcess | undefined;
  try {
    const dbUrl = home.databaseUrl;
    for (const d of ["fernet", "credential"]) mkdirSync(join(dir, d));
    const conf = join(dir, "keystone.conf");
    writeFileSync(
      conf,
      [
        "[DEFAULT]",
        "debug = false",
        "[database]",
        `connection = ${dbUrl}`,
        "[token]",
        "provider = fernet",
        `expiration = ${opts.tokenExpiration ?? 3600}`,
        "[fernet_tokens]",
        `key_repository = ${join(dir, "fernet")}`,
        "[fernet_receipts]",
        `key_repository = ${join(dir, "fernet")}`,
        "[credential]",
        `key_repository = ${join(dir, "credential")}`,
        "",
      ].join("\n"),
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const adminPassword = "admin-secret";
    manage(conf, ["db_sync"]);
    manage(conf, ["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"]);
    manage(conf, ["credential_setup", "--keystone-user", "root", "--keystone-group", "root"]);
    manage(conf, [
      "bootstrap",
      "--bootstrap-password",
      adminPassword,
      "--bootstrap-admin-url",
      `${url}/v3`,
      "--bootstrap-internal-url",
      `${url}/v3`,
      "--bootstrap-public-url",
      `${url}/v3`,
      "--bootstrap-region-id",
      "RegionOne",
    ]);
    const logs: string[] = [];
    child = spawn(
      "uwsgi",
      [
        "--plugins",
        "http,python3",
        "--http",
        `127.0.0.1:${port}`,
        "--master",
        "--processes",
        "1",
        "--threads",
        "4",
        "--die-on-term",
        "--http-keepalive",
        "--wsgi-file",
        "/usr/bin/keystone-wsgi-public",
      ],
      { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OS_KEYSTONE_CONFIG_FILES: conf } },
    );
    child.stdout?.on("data", (d: Buffer) => logs.push(d.toString()));
    child.stderr?.on("data", (d: Buffer) => logs.push(d.toString()));
    home.adopt(child);
    // A connection per request: Keystone's uWSGI closes kept-alive ones
    // under a client that would then reuse them.
    const api = async (
      method: "GET" | "POST" | "PUT" | "DELETE",
      path: string,
      body?: unknown,
      expect: number[] = [200, 201, 204],
      headers: Record<string, string> = {},
    ) => {
      const res = await request(`${url}${path}`, {
        method,
        reset: true,
        headers: {
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
      const text = await res.body.text();
      if (!expect.includes(res.statusCode)) throw new Error(`Keystone ${method} ${path}: ${res.statusCode} ${text.slice(0, 500)}`);
      return { status: res.statusCode, body: text === "" ? undefined : JSON.parse(text), headers: res.headers };
    };
    const until = Date.now() + 60_000;
    for (;;) {
      try {
        await api("GET", "/v3");
        break;
      } catch (err) {
        if (child.exitCode !== null) throw new Error(`Keystone exited:\n${logs.join("").slice(-3000)}`);
        if (Date.now() > until) throw new Error(`Keystone not ready within 60 s: ${String(err)}\n${logs.join("").slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const adminToken = async () => {
      const res = await api("POST", "/v3/auth/tokens", {
        auth: {
          identity: { methods: ["password"], password: { user: { name: "admin", domain: { name: "Default" }, password: adminPassword } } },
          scope: { project: { name: "admin", domain: { name: "Default" } } },
        },
      });
      return String(res.headers["x-subject-token"] ?? "");
    };
    return { url, authUrl: `${url}/v3`, adminPassword, adminToken, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Registers a service of `type` with internal and public endpoints at `url` in RegionOne. */
export async function registerService(ks: KeystoneServer, type: string, name: string, url: string): Promise<void> {
  const auth = { "x-auth-token": await ks.adminToken() };
  const svc = (await ks.api("POST", "/v3/services", { service: { type, name, enabled: true } }, [201], auth)).body as {
    service: { id: string };
  };
  for (const iface of ["internal", "public"]) {
    await ks.api(
      "POST",
      "/v3/endpoints",
      {
        endpoint: {
          service_id: svc.service.id,
          interface: iface,
          url: iface === "internal" ? url : `${url}/public-not-used`,
          region_id: "RegionOne",
        },
      },
      [201],
      auth,
    );
  }
}
