/**
 * Keystone v3 password authentication against a real Keystone, in front of
 * a real Gnocchi that validates tokens with keystonemiddleware: the token
 * from /v3/auth/tokens, Gnocchi's endpoint from the token's catalog, the
 * token renewed before it expires, a new token when Gnocchi refuses a
 * revoked one, and errors that say what Keystone answered.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it, type TestContext } from "node:test";
import { systemClock } from "../../../libs/time/period.js";
import { type GnocchiServer, setupCloudKittyTypes, startGnocchi } from "../../../test/support/gnocchi.js";
import { type KeystoneServer, registerService, startKeystone } from "../../../test/support/keystone.js";
import { CollectError } from "../collectors/collector.js";
import type { GnocchiCollector } from "../collectors/gnocchi.js";
import { createCollector } from "../collectors/registry.js";
import { loadCollectorConfig } from "../config.js";
import { configFile, gnocchiCollectorEnv, gnocchiMetric, ManualClock, seedMeasure } from "../testkit.js";
import { HttpSource } from "./http.js";
import { KeystoneSession } from "./keystone.js";

let ks: KeystoneServer;
let g: GnocchiServer;
const project = `ks-${randomUUID()}`;
const T0 = Date.parse("2026-06-01T00:00:00Z");
const HOUR = 3_600_000;

before(async () => {
  ks = await startKeystone();
  g = await startGnocchi({ keystone: { authUrl: ks.authUrl, username: "admin", password: ks.adminPassword, project: "admin" } });
  await registerService(ks, "metric", "gnocchi", g.url);
  await setupCloudKittyTypes(g);
  await seedMeasure(
    g,
    "volume",
    { project_id: project, user_id: "u", volume_type: "ssd", started_at: new Date(T0 - 24 * HOUR).toISOString() },
    "volume.size",
    { timestamp: new Date(T0 + 60_000).toISOString(), value: 40 },
  );
});

after(async () => {
  await g?.stop();
  await ks?.stop();
});

const VOLUME = gnocchiMetric(
  "metrics:\n  volume.size:\n    unit: GiB\n    groupby: [id]\n    metadata: [volume_type]\n    extra_args: {resource_type: volume}\n",
  "m.yml",
);

function keystoneConfig(t: TestContext, extra = "") {
  const file = configFile(
    t,
    "[collect]\ncollector = gnocchi\n[fetcher]\nbackend = source\n[fetcher_source]\nsources = x\n[collector_gnocchi]\ngnocchi_auth_type = keystone\n" +
      `auth_url = ${ks.url}\nusername = admin\npassword = ${ks.adminPassword}\nuser_domain_name = Default\n` +
      `project_name = admin\nproject_domain_name = Default\ninterface = internalURL\nregion_name = RegionOne\nretry_backoff = 10ms\n${extra}`,
  );
  return loadCollectorConfig({ file });
}

/** A collector on Keystone as admin (the environment of the service), with these [collector_gnocchi] options changed. */
function keystoneCollector(options: Record<string, string>): GnocchiCollector {
  const env = gnocchiCollectorEnv({
    auth_url: ks.authUrl,
    username: "admin",
    password: ks.adminPassword,
    user_domain_name: "Default",
    project_name: "admin",
    project_domain_name: "Default",
    ...options,
  });
  return createCollector(loadCollectorConfig({ env }), { clock: systemClock }) as GnocchiCollector;
}

describe("Keystone authentication", () => {
  it("collects from Gnocchi with a Keystone token and the catalog's internal endpoint", async (t) => {
    const c = createCollector(keystoneConfig(t), { clock: systemClock }) as GnocchiCollector;
    t.after(() => c.close());
    const q = { metric: VOLUME, scopeId: project, begin: new Date(T0), end: new Date(T0 + HOUR) };
    const got = await c.collect(q);
    assert.deepEqual(
      got.map((m) => [m.value.normalize().toString(), m.metadata.volume_type]),
      [["40", "ssd"]],
    );
    // The request goes to the endpoint the catalog gave, and shows no credential.
    const described = (await c.describe(q)).join("\n");
    assert.ok(described.startsWith(`POST ${g.url}/v1/aggregates?`), described);
    assert.ok(!described.includes(ks.adminPassword));
  });

  it("renews the token before it expires, and the new one works", async () => {
    const clock = new ManualClock(Date.now());
    const http = new HttpSource({ name: "Keystone", connections: 2, timeoutSeconds: 30, retries: 1, retryBackoffSeconds: 0.01 });
    const session = new KeystoneSession(
      {
        authUrl: ks.authUrl,
        username: "admin",
        password: ks.adminPassword,
        userDomainName: "Default",
        projectName: "admin",
        projectDomainName: "Default",
      },
      { serviceType: "metric", interface: "internal", regionName: "RegionOne" },
      http,
      clock,
    );
    try {
      const first = await session.token();
      assert.equal(first.endpoint, g.url);
      assert.equal(session.issued, 1);
      // Still an hour to go: the same token.
      clock.t += 10 * 60_000;
      assert.equal((await session.token()).value, first.value);
      assert.equal(session.issued, 1);
      // Less than the renewal margin (5 minutes for a 1-hour token) left: a new one.
      clock.t = first.expiresAt - 4 * 60_000;
      const [a, b] = await Promise.all([session.token(), session.token()]);
      assert.equal(session.issued, 2, "concurrent callers share one renewal");
      assert.equal(a, b);
      // Keystone really accepts the new token.
      const check = await ks.api("GET", "/v3/auth/tokens", undefined, [200], { "x-auth-token": a.value, "x-subject-token": a.value });
      assert.equal(check.status, 200);
    } finally {
      await http.close();
    }
  });

  it("gets a new token when Gnocchi refuses a revoked one", async (t) => {
    const c = createCollector(keystoneConfig(t), { clock: systemClock }) as GnocchiCollector;
    t.after(() => c.close());
    const q = { metric: VOLUME, scopeId: project, begin: new Date(T0), end: new Date(T0 + HOUR) };
    await c.collect(q);
    const auth = (c.client as unknown as { auth: { session: KeystoneSession } }).auth;
    const old = await auth.session.token();
    const admin = await ks.adminToken();
    await ks.api("DELETE", "/v3/auth/tokens", undefined, [204], { "x-auth-token": admin, "x-subject-token": old.value });
    const got = await c.collect(q);
    assert.equal(got.length, 1);
    assert.equal(auth.session.issued, 2);
    assert.notEqual((await auth.session.token()).value, old.value);
  });

  it("says what Keystone answered when the password is wrong", async (t) => {
    const bad = keystoneCollector({ password: "wrong" });
    t.after(() => bad.close());
    await assert.rejects(
      bad.collect({ metric: VOLUME, scopeId: project, begin: new Date(T0), end: new Date(T0 + HOUR) }),
      (err: unknown) => {
        assert.ok(err instanceof CollectError);
        assert.equal(err.kind, "failed_precondition");
        assert.match(
          err.message,
          new RegExp(`^gnocchi: metric volume.size, scope ${project}, .*: Keystone POST ${ks.authUrl}/auth/tokens answered 401: `),
        );
        assert.ok(!err.message.includes("wrong"), "the password is not in the message");
        return true;
      },
    );
  });

  it("says so when the catalog has no metric endpoint for the region", async (t) => {
    const elsewhere = keystoneCollector({ region_name: "Elsewhere" });
    t.after(() => elsewhere.close());
    await assert.rejects(
      elsewhere.collect({ metric: VOLUME, scopeId: project, begin: new Date(T0), end: new Date(T0 + HOUR) }),
      /Keystone catalog failed: the token's catalog has no metric endpoint for the configured interface and region/,
    );
  });
});
