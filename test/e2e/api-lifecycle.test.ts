/**
 * The api gateway as a process: configuration errors, readiness that
 * follows the services it calls, the Keystone token passed on as gRPC
 * metadata, and a SIGTERM that lets the request in flight finish. The
 * services it calls are gRPC servers in this test process.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it, type TestContext } from "node:test";
import { RatingServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import { GrpcServer } from "../../libs/grpc/server.js";
import { silentLogger } from "../../libs/logging/logger.js";
import { eventually, startService, tempDir, writeConfig } from "../support/mesh.js";
import { serviceEntry } from "../support/service-process.js";

interface FakeServices {
  storage: GrpcServer;
  rating: GrpcServer;
  storageAddress: string;
  ratingAddress: string;
  /** x-auth-token metadata of each ListModules call. */
  tokens: Array<string | undefined>;
}

/** Storage and rating stand-ins: health, and a ListModules that takes `delayMs`. */
async function fakeServices(t: TestContext, delayMs = 0): Promise<FakeServices> {
  const tokens: Array<string | undefined> = [];
  const storage = new GrpcServer({ logger: silentLogger(), maxMessageBytes: 4 << 20 });
  storage.add(StorageServiceService, {});
  const rating = new GrpcServer({ logger: silentLogger(), maxMessageBytes: 4 << 20 });
  rating.add(RatingServiceService, {
    async listModules(_req, ctx) {
      tokens.push(ctx.metadata.get("x-auth-token")[0]?.toString());
      await new Promise((r) => setTimeout(r, delayMs));
      return { modules: [{ name: "noop", description: "Dummy module.", enabled: true, priority: 1 }] };
    },
  });
  const storagePort = await storage.listen("127.0.0.1", 0);
  const ratingPort = await rating.listen("127.0.0.1", 0);
  storage.setServing(true);
  rating.setServing(true);
  t.after(async () => {
    await storage.shutdown(0);
    await rating.shutdown(0);
  });
  return { storage, rating, storageAddress: `127.0.0.1:${storagePort}`, ratingAddress: `127.0.0.1:${ratingPort}`, tokens };
}

async function startApi(t: TestContext, fake: FakeServices, api: Record<string, string> = {}) {
  const dir = tempDir(t);
  const configFile = writeConfig(dir, {
    api: { listen: "127.0.0.1:0", ...api },
    storage: { endpoint: fake.storageAddress },
    rating: { endpoint: fake.ratingAddress },
    // Nothing listens there: the collector is optional.
    collector: { endpoint: "127.0.0.1:1" },
    server: { readiness_interval: "0.1s", grace_period: "5s", force_period: "1s" },
    client: { retries: 0 },
  });
  const proc = await startService(t, { service: "api", configFile });
  return { proc, base: `http://${proc.address}` };
}

describe("api gateway process", () => {
  it("refuses a bad configuration at start, naming the option (exit status 2)", async (t) => {
    const dir = tempDir(t);
    const configFile = writeConfig(dir, { api: { auth_strategy: "basic", listen: "localhost" } });
    const r = spawnSync(process.execPath, [serviceEntry("api"), "--config", configFile], { encoding: "utf8", timeout: 15_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /\[api\] auth_strategy: "basic" is not one of noauth, keystone, jwt/);
    assert.match(r.stderr, /\[api\] listen/);
    const check = spawnSync(process.execPath, [serviceEntry("api"), "--check-config"], { encoding: "utf8", timeout: 15_000 });
    assert.equal(check.status, 0);
    assert.match(check.stdout, /configuration is valid for api/);
  });

  it("is ready only while storage and rating report SERVING", async (t) => {
    const fake = await fakeServices(t);
    const { base } = await startApi(t, fake);
    const ready = async (want: number) =>
      eventually(async () => ((await fetch(`${base}/ready`)).status === want ? true : undefined), 10_000, `/ready ${want}`);
    await ready(200);
    const body = (await (await fetch(`${base}/ready`)).json()) as { services: Record<string, string> };
    assert.deepEqual(body.services, { storage: "SERVING", rating: "SERVING", collector: "NOT_SERVING" });
    fake.rating.setServing(false);
    await ready(503);
    fake.rating.setServing(true);
    await ready(200);
  });

  it("with auth_strategy = keystone, passes the caller's token on as x-auth-token metadata", async (t) => {
    const fake = await fakeServices(t);
    const { base } = await startApi(t, fake, { auth_strategy: "keystone" });
    const refused = await fetch(`${base}/v1/rating/modules`);
    assert.equal(refused.status, 401);
    assert.deepEqual(fake.tokens, [], "a request without a token never reaches the services");
    const ok = await fetch(`${base}/v1/rating/modules`, { headers: { "X-Auth-Token": "gAAAAABk-caller-token" } });
    assert.equal(ok.status, 200);
    assert.deepEqual(((await ok.json()) as { modules: Array<{ module_id: string }> }).modules[0]?.module_id, "noop");
    assert.deepEqual(fake.tokens, ["gAAAAABk-caller-token"]);
  });

  it("on SIGTERM, finishes the request in flight, takes no new one, and exits 0", async (t) => {
    const fake = await fakeServices(t, 1500);
    const { proc, base } = await startApi(t, fake);
    await eventually(async () => ((await fetch(`${base}/ready`)).status === 200 ? true : undefined), 10_000);
    const inFlight = fetch(`${base}/v1/rating/modules`);
    await eventually(async () => (fake.tokens.length === 1 ? true : undefined), 5_000, "request reached rating");
    proc.child.kill("SIGTERM");
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { modules: unknown[] }).modules.length, 1);
    const exit = await proc.exited;
    assert.equal(exit.code, 0);
    await assert.rejects(fetch(`${base}/healthcheck`), "no longer listening");
    const logs = proc.logs().map((l) => l.msg);
    assert.ok(logs.includes("shutting down"));
    assert.ok(logs.includes("stopped"));
  });
});
