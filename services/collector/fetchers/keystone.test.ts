/**
 * The Keystone fetcher against a real Keystone: the projects on which the
 * rating user holds the rating role (not through a group, not inherited),
 * every project with ignore_rating_role, disabled ones left out with
 * ignore_disabled_tenants; the same answers as CloudKitty's own fetcher
 * (Debian's python3-cloudkitty) on the same Keystone. Paging and a
 * truncated listing against a stub.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { systemClock } from "../../../libs/time/period.js";
import { SYSTEM_PYTHON } from "../../../test/support/cloudkitty-cli.js";
import { type KeystoneServer, startKeystone } from "../../../test/support/keystone.js";
import { tempDir } from "../../../test/support/mesh.js";
import { loadCollectorConfig } from "../config.js";
import { configFile } from "../testkit.js";
import type { KeystoneFetcher } from "./keystone.js";
import { createFetcher } from "./registry.js";

let ks: KeystoneServer;
const tag = randomUUID().slice(0, 8);
/** Project ids by name. */
const projects = new Map<string, string>();
const PASSWORD = "rater-secret";

async function admin(method: "GET" | "POST" | "DELETE" | "PUT", path: string, body?: unknown): Promise<Record<string, { id: string }>> {
  const token = await ks.adminToken();
  const res = await ks.api(method as "GET", path, body, [200, 201, 204], { "x-auth-token": token });
  return (res.body ?? {}) as Record<string, { id: string }>;
}

before(async () => {
  ks = await startKeystone();
  const role = async (name: string) => {
    const found = (await admin("GET", `/v3/roles?name=${name}`)) as unknown as { roles: Array<{ id: string }> };
    return found.roles[0]?.id ?? (await admin("POST", "/v3/roles", { role: { name } })).role?.id ?? "";
  };
  const [rating, adminRole] = [await role("rating"), await role("admin")];
  const user =
    (await admin("POST", "/v3/users", { user: { name: `rater-${tag}`, password: PASSWORD, domain_id: "default" } })).user?.id ?? "";
  for (const [name, enabled] of [
    ["service", true],
    ["p-one", true],
    ["p-two", true],
    ["p-other", true],
    ["p-disabled", false],
    ["p-group", true],
    ["p-parent", true],
  ] as const) {
    const p = await admin("POST", "/v3/projects", { project: { name: `${name}-${tag}`, domain_id: "default", enabled } });
    projects.set(name, p.project?.id ?? "");
  }
  const id = (name: string) => projects.get(name) ?? "";
  // The rating user is admin of its own project (to list projects and assignments), as CloudKitty's installation guide has it.
  await admin("PUT", `/v3/projects/${id("service")}/users/${user}/roles/${adminRole}`);
  for (const p of ["p-one", "p-two", "p-disabled"]) await admin("PUT", `/v3/projects/${id(p)}/users/${user}/roles/${rating}`);
  // Through a group, and inherited to the children only: neither counts, for CloudKitty as here.
  const group = (await admin("POST", "/v3/groups", { group: { name: `raters-${tag}`, domain_id: "default" } })).group?.id ?? "";
  await admin("PUT", `/v3/groups/${group}/users/${user}`);
  await admin("PUT", `/v3/projects/${id("p-group")}/groups/${group}/roles/${rating}`);
  await admin("PUT", `/v3/OS-INHERIT/projects/${id("p-parent")}/users/${user}/roles/${rating}/inherited_to_projects`);
});

after(async () => {
  await ks?.stop();
});

/** The [fetcher_keystone] section, credentials through auth_section as CloudKitty's guide writes it. */
function conf(extra: string): string {
  return [
    "[fetcher]",
    "backend = keystone",
    "[fetcher_keystone]",
    "auth_section = ks_auth",
    "keystone_version = 3",
    extra,
    "[ks_auth]",
    "auth_type = v3password",
    `auth_url = ${ks.url}`,
    `username = rater-${tag}`,
    `password = ${PASSWORD}`,
    `project_name = service-${tag}`,
    "user_domain_name = Default",
    "project_domain_name = Default",
    "",
  ].join("\n");
}

async function ours(t: TestContext, extra: string): Promise<string[]> {
  const fetcher = createFetcher(
    loadCollectorConfig({ file: configFile(t, `[collect]\ncollector = file\n[collector_file]\npath = /dev/null\n${conf(extra)}`) }),
    {
      clock: systemClock,
    },
  );
  t.after(() => fetcher.close());
  return fetcher.listScopes();
}

/** CloudKitty 17's KeystoneFetcher.get_tenants() on the same file. */
function cloudkitty(t: TestContext, extra: string): string[] {
  const file = join(tempDir(t), "cloudkitty.conf");
  writeFileSync(file, conf(extra));
  const script = [
    "import json, sys",
    "from oslo_config import cfg",
    "cfg.CONF(['--config-file', sys.argv[1]], project='cloudkitty')",
    // Imported once the file is read, as CloudKitty loads its fetcher: keystoneauth then registers auth_section's options.
    "from cloudkitty.fetcher import keystone",
    "print(json.dumps(sorted(keystone.KeystoneFetcher().get_tenants())))",
  ].join("\n");
  const r = spawnSync(SYSTEM_PYTHON, ["-c", script, file], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

const ids = (...names: string[]) => names.map((n) => projects.get(n) ?? "").sort();

describe("Keystone fetcher", () => {
  it("lists the projects on which the user holds the rating role itself, as CloudKitty's fetcher does", async (t) => {
    const got = await ours(t, "");
    assert.deepEqual(got, ids("p-one", "p-two", "p-disabled"));
    assert.deepEqual(got, cloudkitty(t, ""));
  });

  it("leaves disabled projects out with ignore_disabled_tenants", async (t) => {
    const got = await ours(t, "ignore_disabled_tenants = true");
    assert.deepEqual(got, ids("p-one", "p-two"));
    assert.deepEqual(got, cloudkitty(t, "ignore_disabled_tenants = true"));
  });

  it("lists every project with ignore_rating_role (every enabled one with ignore_disabled_tenants too)", async (t) => {
    const all = await ours(t, "ignore_rating_role = true");
    for (const name of projects.keys()) assert.ok(all.includes(projects.get(name) ?? ""), name);
    assert.deepEqual(all, cloudkitty(t, "ignore_rating_role = true"));
    const enabled = await ours(t, "ignore_rating_role = true\nignore_disabled_tenants = true");
    assert.ok(!enabled.includes(projects.get("p-disabled") ?? ""));
    assert.deepEqual(enabled, cloudkitty(t, "ignore_rating_role = true\nignore_disabled_tenants = true"));
  });

  it("keeps its token and the role's id between cycles: a second listing is one request", async (t) => {
    const fetcher = createFetcher(
      loadCollectorConfig({ file: configFile(t, `[collect]\ncollector = file\n[collector_file]\npath = /dev/null\n${conf("")}`) }),
      {
        clock: systemClock,
      },
    ) as KeystoneFetcher;
    t.after(() => fetcher.close());
    await fetcher.listScopes();
    const first = fetcher.requests;
    assert.equal(first, 2, "the role, then its assignments");
    await fetcher.listScopes();
    assert.equal(fetcher.requests - first, 1, "the assignments only");
  });
});

describe("Keystone fetcher listings", () => {
  /** A stub identity API: a token, and the projects in pages of two with links.next; truncated when asked. */
  async function stub(t: TestContext, truncate: boolean): Promise<{ url: string; seen: string[] }> {
    const seen: string[] = [];
    const all = ["a", "b", "c", "d", "e"].map((id) => ({ id, enabled: true }));
    const server = createServer((req, res) => {
      seen.push(req.url ?? "");
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (req.method === "POST") {
        res.writeHead(201, { "content-type": "application/json", "x-subject-token": "tok" });
        res.end(JSON.stringify({ token: { expires_at: new Date(Date.now() + 3_600_000).toISOString(), user: { id: "u" } } }));
        return;
      }
      const page = Number(new URL(req.url ?? "", base).searchParams.get("page") ?? "0");
      const rows = all.slice(page * 2, page * 2 + 2);
      const more = (page + 1) * 2 < all.length;
      const body = truncate
        ? { projects: rows, links: { next: null }, truncated: true }
        : { projects: rows, links: { next: more ? `${base}/v3/projects?page=${page + 1}` : null } };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`, seen };
  }

  function fetcherOn(t: TestContext, url: string) {
    const env = {
      RATEMESH_COLLECT__COLLECTOR: "file",
      RATEMESH_COLLECTOR_FILE__PATH: "/dev/null",
      RATEMESH_FETCHER_KEYSTONE__AUTH_URL: url,
      RATEMESH_FETCHER_KEYSTONE__USERNAME: "u",
      RATEMESH_FETCHER_KEYSTONE__PASSWORD: "p",
      RATEMESH_FETCHER_KEYSTONE__PROJECT_ID: "x",
      RATEMESH_FETCHER_KEYSTONE__DEFAULT_DOMAIN_ID: "default",
      RATEMESH_FETCHER_KEYSTONE__IGNORE_RATING_ROLE: "true",
      RATEMESH_FETCHER_KEYSTONE__RETRIES: "0",
    };
    const f = createFetcher(loadCollectorConfig({ env }), { clock: systemClock });
    t.after(() => f.close());
    return f;
  }

  it("follows links.next page after page", async (t) => {
    const s = await stub(t, false);
    assert.deepEqual(await fetcherOn(t, s.url).listScopes(), ["a", "b", "c", "d", "e"]);
    assert.deepEqual(
      s.seen.filter((u) => u.startsWith("/v3/projects")),
      ["/v3/projects", "/v3/projects?page=1", "/v3/projects?page=2"],
    );
  });

  it("refuses a listing Keystone truncated at its list_limit rather than rate fewer projects", async (t) => {
    const s = await stub(t, true);
    await assert.rejects(
      fetcherOn(t, s.url).listScopes(),
      /truncated at 2 projects \(Keystone's list_limit\) with no next page: raise \[DEFAULT\] list_limit/,
    );
  });
});
