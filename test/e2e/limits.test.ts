/**
 * Limits on every input, against real storage and rating processes: each
 * oversized or malformed input is refused with INVALID_ARGUMENT (the
 * 2.5-million-digit decimal in milliseconds, before anything parses it),
 * nothing of a huge value is echoed back or logged whole, and the services
 * are still SERVING afterwards. Also: a server on a non-loopback address
 * without TLS refuses to start, and credentials inside URL options never
 * reach the log.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { RatingServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { ScopeServiceService, StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import type { Connection } from "../../libs/grpc/client.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import type { MethodDef } from "../../libs/grpc/types.js";
import { connect, startMesh, startService, tempDir, waitServing, writeConfig } from "../support/mesh.js";
import { serviceEntry } from "../support/service-process.js";

async function refusal(p: Promise<unknown>): Promise<{ code: string; details: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RemoteCallError) return { code: err.message.split(": ")[1] ?? "", details: err.details };
    throw err;
  }
  return { code: "OK", details: "" };
}

/** Sends these exact bytes as the request of `method`. */
function raw(conn: Connection, method: MethodDef, bytes: Uint8Array): Promise<unknown> {
  const def = { m: { ...method, requestSerialize: () => Buffer.from(bytes) } };
  return (conn.client(def).m as (req: unknown) => Promise<unknown>)({});
}

const HOUR = 3600_000;
const BEGIN = new Date("2026-11-01T00:00:00Z");

describe("limits on every input", () => {
  it("refuses each oversized or malformed input with INVALID_ARGUMENT, quoting little of it, and stays SERVING", async (t) => {
    const mesh = await startMesh(t, { withCollector: false, sections: { storage: { max_message_size: "1MiB" } } });
    const { rating, scopes, storage } = mesh.clients;
    const point = (qty: string) => ({ type: "instance", unit: "", qty, price: "", groupby: {}, metadata: {} });

    // The request that froze rating for 12 s.
    const huge = "9".repeat(2_500_000);
    let t0 = performance.now();
    const quote = await refusal(rating.quote({ points: [point(huge)], scopeId: "" }));
    const quoteMs = performance.now() - t0;
    assert.equal(quote.code, "INVALID_ARGUMENT");
    assert.match(quote.details, /^points\[0\]\.qty: has 2500000 characters/);
    assert.ok(quoteMs < 1000, `refused in ${quoteMs.toFixed(0)} ms`);
    t0 = performance.now();
    const rate = await refusal(
      rating.rate({ frames: [{ scopeId: "p1", begin: BEGIN, end: new Date(BEGIN.getTime() + HOUR), points: [point(`1.${huge}`)] }] }),
    );
    assert.equal(rate.code, "INVALID_ARGUMENT");
    assert.match(rate.details, /^frames\[0\]\.points\[0\]\.qty/);
    assert.ok(performance.now() - t0 < 1000);
    assert.equal((await refusal(rating.quote({ points: [point(`${"1".repeat(41)}.5`)], scopeId: "" }))).code, "INVALID_ARGUMENT");
    assert.equal((await refusal(rating.quote({ points: [point(`${"1".repeat(40)}.5`)], scopeId: "" }))).code, "OK");

    // A 200 KB id: refused, never echoed whole (nor logged whole).
    const longId = "s".repeat(200_000);
    const get = await refusal(scopes.getScope({ scopeId: longId }));
    assert.equal(get.code, "INVALID_ARGUMENT");
    assert.equal(get.details, "scope_id: is 200000 characters long; at most 255");
    const longKey = "k".repeat(300);
    const commit = await refusal(
      storage.commitPeriod({
        frame: {
          scopeId: "p1",
          begin: BEGIN,
          end: new Date(BEGIN.getTime() + HOUR),
          points: [{ ...point("1"), groupby: { [longKey]: "v" } }],
        },
        fencingToken: "1",
        fencingEpoch: "0",
        owner: "",
        reprocessTaskId: "",
        scopeKey: "",
        fetcher: "",
        collector: "",
        unpricedPoints: "0",
      }),
    );
    assert.equal(commit.code, "INVALID_ARGUMENT");
    assert.match(commit.details, /^frame\.points\[0\]\.groupby: a key is 300 characters long; at most 255$/);
    const filter = await refusal(storage.total({ filters: [{ key: "type", values: ["v".repeat(2000)] }] }));
    assert.match(filter.details, /^filters\[0\]\.values\[0\]: is 2000 characters long; at most 1024$/);

    // An error on an unknown scope does not create it; a huge message is refused.
    const unknown = await refusal(
      scopes.recordScopeError({ scopeId: "never-seen", message: "boom", fencingToken: "0", fencingEpoch: "0" }),
    );
    assert.equal(unknown.code, "NOT_FOUND");
    const bigMessage = await refusal(
      scopes.recordScopeError({ scopeId: "never-seen", message: "m".repeat(100_000), fencingToken: "0", fencingEpoch: "0" }),
    );
    assert.equal(bigMessage.code, "INVALID_ARGUMENT");
    assert.match(bigMessage.details, /^message: is 100000 characters long; at most 4096$/);
    const list = await scopes.listScopes({ scopeIds: [], scopeKey: "", fetcher: "", collector: "", pageSize: 0, pageToken: "" });
    assert.deepEqual(list.scopes, []);

    // Bytes the contracts cannot describe.
    const direct = connect(t, mesh.storage.address);
    const badUtf8 = await refusal(raw(direct, ScopeServiceService.getScope, Uint8Array.from([0x0a, 0x02, 0xff, 0xfe])));
    assert.equal(badUtf8.code, "INVALID_ARGUMENT");
    assert.match(badUtf8.details, /not valid UTF-8/);
    const ts = new BinaryWriter();
    ts.uint32(0x0a).fork().uint32(0x08).int64(1).uint32(0x10).int32(2_000_000_000).join();
    const badNanos = await refusal(raw(direct, StorageServiceService.total, ts.finish()));
    assert.equal(badNanos.code, "INVALID_ARGUMENT");
    assert.match(badNanos.details, /nanos 2000000000/);
    const ratingDirect = connect(t, mesh.rating.address);
    const rateBytes = new BinaryWriter();
    rateBytes
      .uint32(0x0a)
      .fork()
      .uint32(0x0a)
      .bytes(Uint8Array.from([0xc3, 0x28]))
      .join();
    const badRate = await refusal(raw(ratingDirect, RatingServiceService.rate, rateBytes.finish()));
    assert.equal(badRate.code, "INVALID_ARGUMENT");

    // A message over [storage] max_message_size (1 MiB here) never reaches a handler.
    const big = await refusal(storage.total({ filters: Array.from({ length: 3000 }, () => ({ key: "type", values: ["x".repeat(500)] })) }));
    assert.equal(big.code, "RESOURCE_EXHAUSTED");

    assert.equal(await waitServing(t, mesh.storage.address, 2000), "SERVING");
    assert.equal(await waitServing(t, mesh.rating.address, 2000), "SERVING");
    const longest = Math.max(...[...mesh.storage.lines, ...mesh.rating.lines].map((l) => l.length));
    assert.ok(longest < 4096, `the longest log line is ${longest} characters`);
  });

  it("refuses plaintext on a non-loopback address unless allowed, and keeps URL credentials out of the log", async (t) => {
    const dir = tempDir(t);
    const open = writeConfig(dir, { storage: { listen: "0.0.0.0:0", url: ":memory:" } }, "open.conf");
    const check = spawnSync(process.execPath, [serviceEntry("storage"), "--config", open, "--check-config"], { encoding: "utf8" });
    assert.equal(check.status, 2);
    assert.match(check.stderr, /\[storage\] listen: 0\.0\.0\.0:0 is not a loopback address and the server has no TLS/);
    const allowed = writeConfig(
      dir,
      { storage: { listen: "0.0.0.0:0", url: ":memory:" }, server: { allow_insecure_bind: "true" } },
      "ok.conf",
    );
    const ok = spawnSync(process.execPath, [serviceEntry("storage"), "--config", allowed, "--check-config"], { encoding: "utf8" });
    assert.equal(ok.status, 0, ok.stderr);

    const secret = writeConfig(
      dir,
      { storage: { listen: "127.0.0.1:0", url: ":memory:" }, tracing: { endpoint: "http://tracer:hunter2@127.0.0.1:1/?token=tok3n" } },
      "secret.conf",
    );
    const proc = await startService(t, { service: "storage", configFile: secret });
    const starting = proc.lines.find((l) => l.includes('"starting"')) ?? "";
    assert.match(starting, /tracer:\*\*\*@127\.0\.0\.1/);
    assert.ok(!proc.lines.join("\n").includes("hunter2") && !proc.lines.join("\n").includes("tok3n"));
  });
});
