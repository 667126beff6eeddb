/**
 * The etcd coordinator against a real etcd 3.4: ownership, fencing tokens,
 * rendezvous, lease loss and recovery, progress-gated liveness, shutdown.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { Etcd3 } from "etcd3";
import { EtcdServer } from "../../test/support/etcd.js";
import { eventually } from "../../test/support/mesh.js";
import { sleep } from "../async/limit.js";
import { silentLogger } from "../logging/logger.js";
import { EtcdCoordinator } from "./etcd.js";
import { parseCoordinationUrl } from "./url.js";

const TTL = 2;

async function member(t: TestContext, etcd: EtcdServer, prefix: string, healthy?: () => boolean): Promise<EtcdCoordinator> {
  const c = new EtcdCoordinator({
    endpoints: [etcd.endpoint],
    prefix,
    ttlSeconds: TTL,
    logger: silentLogger(),
    ...(healthy && { healthy }),
  });
  await c.start();
  t.after(() => c.stop());
  return c;
}

const SCOPES = Array.from({ length: 40 }, (_, i) => `scope-${i}`);

describe("etcd coordinator", () => {
  it("parses coordination URLs", () => {
    assert.deepEqual(parseCoordinationUrl("etcd3+http://10.0.0.1:2379,10.0.0.2:2379/"), ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]);
    assert.throws(() => parseCoordinationUrl("http://x:1"), /is not an etcd URL/);
  });

  it("takes the etcd v3 URL forms tooz takes: etcd3:// (as Debian's CloudKitty uses), etcd3+http:// and etcd3+https://", () => {
    assert.deepEqual(parseCoordinationUrl("etcd3://10.0.0.1:2379"), ["http://10.0.0.1:2379"]);
    assert.deepEqual(parseCoordinationUrl("etcd3://etcd1,etcd2:2380"), ["http://etcd1:2379", "http://etcd2:2380"]);
    assert.deepEqual(parseCoordinationUrl("etcd3+https://[fd00::1]:2379"), ["https://[fd00::1]:2379"]);
    assert.deepEqual(parseCoordinationUrl("etcd3+http://a:1?"), ["http://a:1"]);
    assert.throws(
      () => parseCoordinationUrl("etcd3://a:2379?timeout=30"),
      /URL options \(timeout\) are not supported: the lease TTL is \[orchestrator\] lease_ttl/,
    );
    assert.throws(() => parseCoordinationUrl("file:///var/lib/cloudkitty/locks"), /is not an etcd URL/);
    assert.throws(() => parseCoordinationUrl("etcd3://a:b:c"), /each host must be host\[:port\]/);
  });

  it("members share one epoch, created once; a cluster that lost its keys gets a newer one, which members take when they rejoin", async (t) => {
    const etcd = await EtcdServer.start(t);
    const before = Date.now();
    const [a, b] = await Promise.all([member(t, etcd, "/ep"), member(t, etcd, "/ep")]);
    assert.equal(a.epoch, b.epoch, "one epoch for the group");
    assert.ok(a.epoch >= BigInt(before), `the clock at creation (${a.epoch})`);
    const admin = new Etcd3({ hosts: etcd.endpoint });
    t.after(() => admin.close());
    assert.equal(await admin.get("/ep/epoch").string(), a.epoch.toString());
    const old = await a.acquire("scope-0");
    assert.equal(old?.epoch, a.epoch, "ownerships carry it");
    if (old !== undefined) await a.release(old);

    await etcd.wipe();
    await eventually(async () => a.leaseHeld() && b.leaseHeld() && a.epoch > (old?.epoch ?? 0n), 15_000, "rejoined in a new epoch");
    assert.equal(a.epoch, b.epoch);
    const next = await eventually(async () => a.acquire("scope-0"), 5000, "owned again");
    assert.equal(next.epoch, a.epoch, "ownerships of the new epoch");
  });

  it("spreads scopes over the live members, one owner each, and fences with increasing tokens", async (t) => {
    const etcd = await EtcdServer.start(t);
    const [a, b, c] = await Promise.all([member(t, etcd, "/t1"), member(t, etcd, "/t1"), member(t, etcd, "/t1")]);
    await eventually(async () => [a, b, c].every((m) => m.members().length === 3), 5000, "every member sees the three");
    const owners = SCOPES.map((s) => [a, b, c].filter((m) => m.shouldOwn(s)).length);
    assert.deepEqual(new Set(owners), new Set([1]), "each scope has exactly one designated owner");
    for (const m of [a, b, c])
      assert.ok(
        SCOPES.some((s) => m.shouldOwn(s)),
        "every member gets some scopes",
      );

    const first = await a.acquire("scope-0");
    assert.ok(first !== undefined);
    assert.equal(await b.acquire("scope-0"), undefined, "a held scope cannot be taken");
    assert.equal(await a.acquire("scope-0"), undefined, "nor taken twice");
    await a.release(first);
    assert.ok(first.signal.aborted, "release aborts the ownership's signal");
    const second = await b.acquire("scope-0");
    assert.ok(second !== undefined);
    assert.ok(second.token > first.token, `token ${second.token} > ${first.token}`);
    assert.deepEqual(
      b.held().map((o) => o.scopeId),
      ["scope-0"],
    );
  });

  it("keeps ownership through work lasting several TTLs: keepalive runs in the background", async (t) => {
    const etcd = await EtcdServer.start(t);
    const a = await member(t, etcd, "/t2");
    const o = await a.acquire("s");
    assert.ok(o !== undefined);
    await sleep(3 * TTL * 1000 + 500);
    assert.equal(o.signal.aborted, false);
    assert.ok(a.leaseHeld());
    const peer = await member(t, etcd, "/t2");
    assert.equal(await peer.acquire("s"), undefined, "still held after 3 x TTL");
    await a.release(o);
    assert.ok((await peer.acquire("s")) !== undefined, "released without error, then taken");
  });

  it("hands scopes over in well under a second when a member stops", async (t) => {
    const etcd = await EtcdServer.start(t);
    const a = await member(t, etcd, "/t3");
    const b = await member(t, etcd, "/t3");
    await eventually(async () => a.members().length === 2 && b.members().length === 2, 5000, "both members seen");
    const mine = SCOPES.filter((s) => a.shouldOwn(s));
    const held = await Promise.all(mine.slice(0, 5).map((s) => a.acquire(s)));
    assert.ok(held.every((o) => o !== undefined));
    const t0 = Date.now();
    await a.stop();
    const taken = await eventually(
      async () => {
        if (!mine.every((s) => b.shouldOwn(s))) return undefined;
        const got = await Promise.all(mine.slice(0, 5).map((s) => b.acquire(s)));
        return got.every((o) => o !== undefined) ? Date.now() - t0 : undefined;
      },
      5000,
      "b owns a's scopes",
    );
    assert.ok(taken < 1000, `taken over in ${taken} ms`);
  });

  it("stops every ownership at once when the lease is lost, then rejoins with a new lease", async (t) => {
    const etcd = await EtcdServer.start(t);
    const a = await member(t, etcd, "/t4");
    const o = await a.acquire("s");
    assert.ok(o !== undefined);
    // Revoke a's lease behind its back, as etcd does when it expires.
    const admin = new Etcd3({ hosts: etcd.endpoint });
    t.after(() => admin.close());
    const leases = await admin.leaseClient.leaseLeases({});
    await Promise.all(leases.leases.map((l) => admin.leaseClient.leaseRevoke({ ID: l.ID })));
    await eventually(async () => o.signal.aborted, 2 * TTL * 1000, "ownership aborted");
    await eventually(async () => a.leaseHeld(), 5000, "rejoined");
    const again = await a.acquire("s");
    assert.ok(again !== undefined && again.token > o.token);
  });

  it("stops before etcd could expire the lease when etcd is down, and recovers when it is back", async (t) => {
    const etcd = await EtcdServer.start(t);
    const a = await member(t, etcd, "/t5");
    const o = await a.acquire("s");
    assert.ok(o !== undefined);
    const stoppedAt = Date.now();
    await etcd.stop();
    await eventually(async () => o.signal.aborted, 3 * TTL * 1000, "ownership aborted while etcd is down");
    const lostAfter = Date.now() - stoppedAt;
    assert.ok(lostAfter <= TTL * 1000 + 300, `stopped ${lostAfter} ms after the last keepalive, TTL is ${TTL} s`);
    assert.equal(a.leaseHeld(), false);
    assert.equal(await a.acquire("t"), undefined, "nothing can be acquired without a lease");
    await sleep(TTL * 1000);
    await etcd.run();
    await eventually(async () => a.leaseHeld(), 10_000, "rejoined after etcd came back");
    const again = await eventually(async () => a.acquire("s"), 10_000, "scope acquired again");
    assert.ok(again.token > o.token);
  });

  it("gives its scopes up when the processing loop stops making progress", async (t) => {
    const etcd = await EtcdServer.start(t);
    let healthy = true;
    const a = await member(t, etcd, "/t6", () => healthy);
    const b = await member(t, etcd, "/t6");
    const o = await a.acquire("s");
    assert.ok(o !== undefined);
    healthy = false;
    await eventually(async () => o.signal.aborted, 1000, "a's ownership aborted");
    const taken = await eventually(async () => b.acquire("s"), 2000, "b takes the scope at once");
    assert.ok(taken.token > o.token);
    await sleep(500);
    assert.equal(a.leaseHeld(), false, "no new lease while unhealthy");
    healthy = true;
    await eventually(async () => a.leaseHeld(), 5000, "rejoins once healthy");
  });

  it("lets the next member take a scope its owner stepped back from", async (t) => {
    const etcd = await EtcdServer.start(t);
    const a = await member(t, etcd, "/t7");
    const b = await member(t, etcd, "/t7");
    await eventually(async () => a.members().length === 2 && b.members().length === 2, 5000, "both members seen");
    const scope = SCOPES.find((s) => a.shouldOwn(s)) as string;
    assert.equal(b.shouldOwn(scope), false);
    await a.stepBack(scope, new Date(Date.now() + 1500));
    assert.equal(a.shouldOwn(scope), false);
    await eventually(async () => b.shouldOwn(scope), 2000, "b sees the step-back");
    await eventually(async () => a.shouldOwn(scope), 3000, "back to a when the step-back ends");
    assert.equal(b.shouldOwn(scope), false);
  });
});
