/**
 * The trust boundary of a real mesh (storage, rating and a collector as
 * processes, TLS with client certificates required, the collector acting
 * as the service identity), once with a real Keystone and once with JWTs:
 * the policy matrix over every method × {anonymous, reader of project A,
 * member of A, admin, the service identity, a token of project B}; a
 * project-scoped caller reads only its own project's data on every read
 * path; refused changes change nothing; bad tokens are refused; a token
 * revoked in Keystone stops working within token_cache_time; Keystone down
 * is UNAVAILABLE, never an allow.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { AuditServiceService } from "../../libs/gen/ratemesh/v1/audit.js";
import { HashmapServiceService, RatingServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { SimulateRequest, SimulationServiceService } from "../../libs/gen/ratemesh/v1/simulation.js";
import { ReprocessServiceService, ScopeServiceService, StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import type { Connection } from "../../libs/grpc/client.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import { startKeystone } from "../support/keystone.js";
import { DEMO_METRICS, eventually, fileCollectSections, type IniSections, startService, tempDir, writeConfig } from "../support/mesh.js";
import { type CallerName, type Role, runMatrix } from "../support/policy-matrix.js";
import type { ServiceProcess } from "../support/service-process.js";
import { keystoneProject, keystoneUser, makePki, mergeSections, secureConnect, tlsSections } from "../support/trust.js";

const BEGIN = new Date("2026-11-01T00:00:00Z");
const END = new Date("2026-11-01T03:00:00Z");

type Tokens = Record<"readerA" | "memberA" | "admin" | "tokenB", string>;

interface SecuredMesh {
  pki: string;
  processes: Record<Role, ServiceProcess>;
  connect(role: Role, caller: CallerName): Connection;
}

function usageFile(dir: string, scopes: string[]): string {
  const lines: string[] = [];
  for (const scope of scopes) {
    for (let h = 0; h < 3; h++) {
      const begin = new Date(BEGIN.getTime() + h * 3600_000).toISOString();
      lines.push(JSON.stringify({ metric: "cpu", scope_id: scope, begin, qty: 1, groupby: { id: `vm-${scope}` }, metadata: {} }));
    }
  }
  const file = join(dir, "usage.jsonl");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

async function startSecuredMesh(t: TestContext, auth: IniSections, tokens: () => Tokens, scopes: string[]): Promise<SecuredMesh> {
  const dir = tempDir(t);
  const pki = makePki(dir);
  const configFile = writeConfig(
    dir,
    mergeSections(
      {
        storage: { url: join(dir, "storage.sqlite"), listen: "127.0.0.1:0" },
        rating: { url: join(dir, "rating.sqlite"), listen: "127.0.0.1:0" },
        collector: { listen: "127.0.0.1:0" },
        server: { grace_period: "2s", readiness_interval: "0.2s" },
      },
      fileCollectSections({ metricsFile: DEMO_METRICS, usageFile: usageFile(dir, scopes), scopes, begin: BEGIN, end: END }),
      tlsSections(pki),
      auth,
    ),
  );
  const storage = await startService(t, { service: "storage", configFile });
  // Rating reads stored points from storage for simulations, as their caller.
  const rating = await startService(t, { service: "rating", configFile, env: { RATEMESH_STORAGE__ENDPOINT: storage.address } });
  const collector = await startService(t, {
    service: "collector",
    configFile,
    env: { RATEMESH_STORAGE__ENDPOINT: storage.address, RATEMESH_RATING__ENDPOINT: rating.address },
  });
  const processes = { storage, rating, collector };
  const cache = new Map<string, Connection>();
  const connect = (role: Role, caller: CallerName) => {
    const key = `${role}/${caller}`;
    let c = cache.get(key);
    if (c === undefined) {
      const token = caller === "anonymous" || caller === "service" ? undefined : tokens()[caller];
      c = secureConnect(t, processes[role].address, pki, { cert: caller === "service" ? "ratemesh-collector" : "operator", token });
      cache.set(key, c);
    }
    return c;
  };
  return { pki, processes, connect };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof RemoteCallError) return err.message.split(": ")[1] ?? String(err.code);
    throw err;
  }
}

const LIST_SCOPES = { scopeIds: [], scopeKey: "", fetcher: "", collector: "", pageSize: 0, pageToken: "" };
const SUMMARY = { groupBy: ["scope_id"], filters: [], orderBy: [], pageSize: 0, pageToken: "", begin: BEGIN, end: END };

/** The matrix, then what confinement and refusals mean for the data. */
async function checkPolicy(t: TestContext, mesh: SecuredMesh, projectA: string, projectB: string): Promise<void> {
  const admin = mesh.connect("storage", "admin");
  // The real collector rated both projects through its mTLS service identity.
  await eventually(
    async () => {
      const { scopes } = await admin.client(ScopeServiceService).listScopes(LIST_SCOPES);
      return scopes.length === 2 && scopes.every((s) => s.state?.getTime() === END.getTime());
    },
    60_000,
    "both projects rated by the collector",
  );

  const { rows, wrong } = await runMatrix(mesh.connect, projectA);
  assert.ok(rows.length >= 6 * 50, `the matrix covers every method (${rows.length} calls)`);
  assert.deepEqual(wrong, [], "every caller gets what the policy says, on every method");
  const denial = rows.find((r) => r.method === "HashmapService/CreateService" && r.caller === "readerA");
  assert.equal(denial?.got, "PERMISSION_DENIED");

  await t.test("a caller scoped to a project reads only that project, whatever it asks for", async () => {
    const summaryOf = async (caller: CallerName, filters: Array<{ key: string; values: string[] }> = []) => {
      const res = await mesh
        .connect("storage", caller)
        .client(StorageServiceService)
        .summary({ ...SUMMARY, filters });
      return res.rows.map((r) => r.values[4]).sort();
    };
    assert.deepEqual(await summaryOf("readerA"), [projectA]);
    assert.deepEqual(await summaryOf("memberA"), [projectA]);
    assert.deepEqual(await summaryOf("tokenB"), [projectB]);
    assert.deepEqual(await summaryOf("admin"), [projectA, projectB].sort());
    assert.deepEqual(await summaryOf("readerA", [{ key: "scope_id", values: [projectB] }]), [], "asking for B gives nothing");

    const storageA = mesh.connect("storage", "readerA").client(StorageServiceService);
    const frames = await storageA.listDataFrames({ filters: [], pageSize: 0, pageToken: "", begin: BEGIN, end: END });
    assert.equal(frames.frames.length, 3);
    assert.ok(frames.frames.every((f) => f.scopeId === projectA));
    const streamed: string[] = [];
    for await (const m of mesh
      .connect("storage", "tokenB")
      .client(StorageServiceService)
      .streamDataFrames({ filters: [], begin: BEGIN, end: END })) {
      streamed.push(m.frame?.scopeId ?? "");
    }
    assert.deepEqual([...new Set(streamed)], [projectB]);
    const total = await storageA.total({ filters: [{ key: "scope_id", values: [projectB] }], begin: BEGIN, end: END });
    assert.equal(total.points, "0");
    const adjustments = { begin: BEGIN, end: END, types: [], taskId: "", pageSize: 0, pageToken: "" };
    assert.deepEqual((await storageA.listAdjustments({ ...adjustments, scopeIds: [projectB] })).lines, [], "B's adjustments: none for A");
    assert.equal(await code(storageA.listAdjustments({ ...adjustments, scopeIds: [] })), "OK");

    const scopesA = mesh.connect("storage", "readerA").client(ScopeServiceService);
    assert.deepEqual(
      (await scopesA.listScopes(LIST_SCOPES)).scopes.map((s) => s.scopeId),
      [projectA],
    );
    assert.deepEqual((await scopesA.listScopes({ ...LIST_SCOPES, scopeIds: [projectB] })).scopes, []);
    assert.equal((await scopesA.getScope({ scopeId: projectA })).scope?.scopeId, projectA);
    assert.equal(await code(scopesA.getScope({ scopeId: projectB })), "NOT_FOUND");
    assert.equal(await code(scopesA.getScope({ scopeId: "never-existed" })), "NOT_FOUND", "another project's scope looks like none");

    const simulated = async (caller: CallerName, scopeIds: string[] = []) => {
      const req = SimulateRequest.fromPartial({ begin: BEGIN, end: END, groupBy: ["scope_id"], scopeIds });
      const groups: string[] = [];
      for await (const m of mesh.connect("rating", caller).client(SimulationServiceService).simulate(req)) {
        groups.push(...m.rows.map((r) => r.groups[0] ?? ""));
      }
      return groups;
    };
    assert.deepEqual(await simulated("readerA"), [projectA], "a simulation reads the caller's project only");
    assert.deepEqual(await simulated("admin"), [projectA, projectB].sort());
    assert.equal(await code(simulated("readerA", [projectB])), "PERMISSION_DENIED", "nor simulates another project's bill");

    const point = { type: "instance", unit: "", qty: "1", price: "", groupby: {}, metadata: {} };
    const quoteB = mesh.connect("rating", "tokenB").client(RatingServiceService);
    assert.equal(await code(quoteB.quote({ points: [point], scopeId: "" })), "OK", "global prices are anyone's");
    assert.equal(await code(quoteB.quote({ points: [point], scopeId: projectB })), "OK");
    const asA = await code(quoteB.quote({ points: [point], scopeId: projectA }));
    assert.equal(asA, "PERMISSION_DENIED");
  });

  await t.test("a refused change changes nothing, and the refusal names the method and the role, not what exists", async () => {
    const before = await admin.client(ScopeServiceService).listScopes(LIST_SCOPES);
    const member = mesh.connect("storage", "memberA").client(ScopeServiceService);
    try {
      await member.resetScope({ scopeIds: [], allScopes: true, state: BEGIN });
      assert.fail("a member reset every scope");
    } catch (err) {
      assert.ok(err instanceof RemoteCallError);
      assert.match(err.details, /^ScopeService\/ResetScope: permission denied: needs role admin$/);
    }
    const forged = mesh.connect("storage", "admin").client(StorageServiceService);
    assert.equal(
      await code(
        forged.commitPeriod({
          frame: { scopeId: projectA, begin: BEGIN, end: new Date(BEGIN.getTime() + 3600_000), points: [] },
          fencingToken: "999999",
          fencingEpoch: "0",
          owner: "forger",
          reprocessTaskId: "",
          scopeKey: "",
          fetcher: "",
          collector: "",
          unpricedPoints: "0",
        }),
      ),
      "PERMISSION_DENIED",
      "not even an admin commits a period: only the service identity",
    );
    const reader = mesh.connect("rating", "readerA").client(HashmapServiceService);
    assert.equal(await code(reader.createService({ name: "forged" })), "PERMISSION_DENIED");
    assert.equal(
      await code(mesh.connect("rating", "memberA").client(RatingServiceService).updateModule({ name: "hashmap", enabled: true })),
      "PERMISSION_DENIED",
    );
    const after = await admin.client(ScopeServiceService).listScopes(LIST_SCOPES);
    assert.deepEqual(after.scopes, before.scopes);
    const services = await mesh
      .connect("rating", "admin")
      .client(HashmapServiceService)
      .listServices({ name: "", pageSize: 0, pageToken: "" });
    assert.deepEqual(services.services, []);
  });

  await t.test("every change is in the audit trail with who made it; refusals are not", async () => {
    const hashmap = mesh.connect("rating", "admin").client(HashmapServiceService);
    const created = await hashmap.createService({ name: "audited" });
    await hashmap.deleteService({ serviceId: created.service?.serviceId ?? "" });
    await mesh.connect("storage", "admin").client(ScopeServiceService).updateScope({ scopeId: projectB, active: true });
    const list = { method: "", actor: "", pageSize: 0, pageToken: "" };
    const rating = await mesh.connect("rating", "admin").client(AuditServiceService).listAuditEvents(list);
    assert.deepEqual(
      rating.events.map((e) => [e.method, e.target]),
      [
        ["HashmapService/DeleteService", `service ${created.service?.serviceId}`],
        ["HashmapService/CreateService", "service named audited"],
      ],
      "newest first; the refused CreateService and UpdateModule left no trace",
    );
    for (const e of rating.events) {
      assert.match(e.actor, /cloud-admin/);
      assert.ok(e.at !== undefined && Math.abs(e.at.getTime() - Date.now()) < 60_000);
    }
    const storage = await mesh.connect("storage", "admin").client(AuditServiceService).listAuditEvents(list);
    const byUsers = storage.events.filter((e) => e.method !== "ScopeService/CreateScope");
    assert.deepEqual(
      byUsers.map((e) => [e.method, e.target]),
      [["ScopeService/UpdateScope", `scope ${projectB}`]],
    );
    assert.match(byUsers[0]?.actor ?? "", /cloud-admin/);
    // The collector fixes each new scope's start by creating it: recorded as the service identity.
    const createdScopes = storage.events.filter((e) => e.method === "ScopeService/CreateScope");
    assert.ok(createdScopes.length > 0);
    for (const e of createdScopes) assert.match(e.actor, /collector/);
    assert.equal(await code(mesh.connect("storage", "readerA").client(AuditServiceService).listAuditEvents(list)), "PERMISSION_DENIED");
  });

  await t.test("a reprocessing task and a reset keep who made them, from the caller's token", async () => {
    const reprocess = mesh.connect("storage", "admin").client(ReprocessServiceService);
    const { tasks } = await reprocess.createTask({ scopeIds: [projectB], allScopes: false, begin: BEGIN, end: END, reason: "actor check" });
    assert.equal(tasks.length, 1);
    assert.match(tasks[0]?.actor ?? "", /cloud-admin/);
    const listed = await reprocess.listTasks({ scopeIds: [projectB], unfinishedOnly: false, ascending: false, pageSize: 0, pageToken: "" });
    assert.match(listed.tasks[0]?.actor ?? "", /cloud-admin/);
  });

  await t.test("without a client certificate nothing connects: mTLS is required", async () => {
    const bare = secureConnect(t, mesh.processes.storage.address, mesh.pki, { token: undefined });
    assert.equal(await code(bare.client(ScopeServiceService).listScopes(LIST_SCOPES)), "UNAVAILABLE");
  });
}

describe("trust boundary of a secured mesh", { concurrency: false }, () => {
  it("with Keystone tokens: the policy matrix, confinement, revocation within token_cache_time, Keystone down is UNAVAILABLE", async (t) => {
    const ks = await startKeystone();
    t.after(() => ks.stop());
    const projectA = await keystoneProject(ks, "project-a");
    const projectB = await keystoneProject(ks, "project-b");
    const adminProject = (
      (await ks.api("GET", "/v3/projects?name=admin", undefined, [200], { "x-auth-token": await ks.adminToken() })).body as {
        projects: Array<{ id: string }>;
      }
    ).projects[0]?.id as string;
    const readerA = await keystoneUser(ks, { name: "reader-a", project: projectA, role: "reader" });
    const memberA = await keystoneUser(ks, { name: "member-a", project: projectA, role: "member" });
    const adminU = await keystoneUser(ks, { name: "cloud-admin", project: adminProject, role: "admin" });
    const userB = await keystoneUser(ks, { name: "reader-b", project: projectB, role: "reader" });
    const tokens: Tokens = { readerA: readerA.token, memberA: memberA.token, admin: adminU.token, tokenB: userB.token };
    const mesh = await startSecuredMesh(
      t,
      {
        auth: { auth_strategy: "keystone" },
        keystone_authtoken: {
          auth_url: ks.authUrl,
          username: "admin",
          password: ks.adminPassword,
          project_name: "admin",
          token_cache_time: "2s",
        },
      },
      () => tokens,
      [projectA, projectB],
    );
    await checkPolicy(t, mesh, projectA, projectB);

    const storageAs = (token: string) =>
      secureConnect(t, mesh.processes.storage.address, mesh.pki, { cert: "operator", token }).client(StorageServiceService);
    await t.test("a forged token is refused", async () => {
      assert.equal(await code(storageAs("gAAAAABforged-token").total({ filters: [] })), "UNAUTHENTICATED");
    });
    await t.test("a revoked token stops working within token_cache_time", async () => {
      const victim = await keystoneUser(ks, { name: "revoked", project: projectA, role: "reader" });
      const client = storageAs(victim.token);
      assert.equal(await code(client.total({ filters: [] })), "OK");
      await ks.api("DELETE", "/v3/auth/tokens", undefined, [204], {
        "x-auth-token": await ks.adminToken(),
        "x-subject-token": victim.token,
      });
      await eventually(async () => (await code(client.total({ filters: [] }))) === "UNAUTHENTICATED", 10_000, "revocation seen");
    });
    await t.test("with Keystone stopped, an unknown token is UNAVAILABLE, never allowed", async () => {
      const fresh = await keystoneUser(ks, { name: "late", project: projectA, role: "admin" });
      await ks.stop();
      const t0 = Date.now();
      assert.equal(await code(storageAs(fresh.token).total({ filters: [] })), "UNAVAILABLE");
      assert.ok(Date.now() - t0 < 10_000);
    });
  });

  it("with JWTs: the policy matrix, confinement, expired and forged tokens refused", async (t) => {
    const dir = tempDir(t);
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const keysFile = join(dir, "jwt.pem");
    writeFileSync(keysFile, await exportSPKI(publicKey));
    const sign = (claims: Record<string, unknown>, o: { key?: typeof privateKey; exp?: string | number } = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256" })
        .setIssuer("test-issuer")
        .setAudience("ratemesh")
        .setIssuedAt()
        .setExpirationTime(o.exp ?? "10m")
        .sign(o.key ?? privateKey);
    const projectA = "jwt-project-a";
    const projectB = "jwt-project-b";
    const tokens: Tokens = {
      readerA: await sign({ sub: "reader-a", project_id: projectA, roles: ["reader"] }),
      memberA: await sign({ sub: "member-a", project_id: projectA, roles: ["member"] }),
      admin: await sign({ sub: "cloud-admin", project_id: "admin", roles: ["admin"] }),
      tokenB: await sign({ sub: "reader-b", project_id: projectB, roles: "reader" }),
    };
    const mesh = await startSecuredMesh(
      t,
      { auth: { auth_strategy: "jwt" }, jwt: { keys_file: keysFile, issuer: "test-issuer", audience: "ratemesh", algorithms: "RS256" } },
      () => tokens,
      [projectA, projectB],
    );
    await checkPolicy(t, mesh, projectA, projectB);

    const totalAs = (token: string) =>
      code(
        secureConnect(t, mesh.processes.storage.address, mesh.pki, { cert: "operator", token })
          .client(StorageServiceService)
          .total({ filters: [] }),
      );
    await t.test("expired, forged, wrongly addressed and malformed tokens are refused", async () => {
      const other = await generateKeyPair("RS256");
      const admin = { sub: "cloud-admin", project_id: "admin", roles: ["admin"] };
      assert.equal(await totalAs(await sign(admin, { exp: Math.floor(Date.now() / 1000) - 120 })), "UNAUTHENTICATED");
      assert.equal(await totalAs(await sign(admin, { key: other.privateKey })), "UNAUTHENTICATED");
      const wrongAudience = await new SignJWT(admin)
        .setProtectedHeader({ alg: "RS256" })
        .setIssuer("test-issuer")
        .setAudience("elsewhere")
        .setExpirationTime("5m")
        .sign(privateKey);
      assert.equal(await totalAs(wrongAudience), "UNAUTHENTICATED");
      assert.equal(await totalAs("not-a-jwt"), "UNAUTHENTICATED");
      assert.equal(await totalAs(tokens.admin), "OK");
    });
  });
});
