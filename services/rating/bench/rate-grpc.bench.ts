/**
 * Rate over gRPC between two processes: a real rating process (SQLite, the
 * benchmark price list created through HashmapService, hashmap enabled)
 * rates frames of 10,000 points sent by this process; the same request bytes
 * are then sent to a plain grpc-js echo server (echo-server.ts, its own
 * process) that answers with them unchanged. Both figures are printed with
 * their ratio: what rating costs on top of moving the bytes.
 *
 * The client sends pre-encoded requests and keeps responses as bytes, so
 * the figures measure the servers, not this client's protobuf code.
 *
 *   node dist/services/rating/bench/rate-grpc.bench.js [points] [inflight]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { RateRequest, RateResponse } from "../../../libs/gen/ratemesh/v1/rating.js";
import { ServiceProcess } from "../../../test/support/service-process.js";
import { loadPriceList } from "./load-price-list.js";
import { benchFrames, toDataPoints } from "./pricelist.js";

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const INFLIGHT = Number(process.argv[3] ?? 2);
const PER_FRAME = 10_000;
const ROUNDS = 3;

const raw = (b: Buffer) => b;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function call(client: grpc.Client, body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/ratemesh.v1.RatingService/Rate",
      raw,
      raw,
      body,
      new grpc.Metadata(),
      { deadline: Date.now() + 120_000 },
      (err, res) => (err ? reject(err) : resolve(res as Buffer)),
    );
  });
}

/** CPU seconds a process has used so far (user + system, from /proc; Linux clock ticks are 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Sends every request, INFLIGHT at a time; returns points/s by wall time and per CPU-second of the server. */
async function drive(client: grpc.Client, serverPid: number, requests: Buffer[], points: number): Promise<{ wall: number; cpu: number }> {
  const cpu0 = cpuSeconds(serverPid);
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < requests.length) await call(client, requests[next++] as Buffer);
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const wall = (points / (performance.now() - t0)) * 1000;
  return { wall, cpu: points / Math.max(0.01, cpuSeconds(serverPid) - cpu0) };
}

const dir = mkdtempSync(join(tmpdir(), "ratemesh-bench-"));
const configFile = join(dir, "ratemesh.conf");
writeFileSync(configFile, `[rating]\nlisten = 127.0.0.1:0\nurl = ${join(dir, "rating.sqlite")}\n`);
const rating = await ServiceProcess.start({ service: "rating", configFile });
const echo = spawn(process.execPath, [fileURLToPath(new URL("./echo-server.js", import.meta.url))], {
  stdio: ["ignore", "pipe", "inherit"],
});
const echoPort = await new Promise<number>((resolve) => echo.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
try {
  await loadPriceList(rating.address);
  const frames = benchFrames(TOTAL, PER_FRAME);
  const requests = frames.map((f) =>
    Buffer.from(
      RateRequest.encode({ frames: [{ scopeId: f.scopeId, begin: f.begin, end: f.end, points: toDataPoints(f.points) }] }).finish(),
    ),
  );
  const points = frames.reduce((n, f) => n + f.points.length, 0);
  const bytes = requests.reduce((n, r) => n + r.length, 0);
  // A large receive window for responses (both servers alike); the servers keep Node's default 64 KiB.
  const options = {
    "grpc.max_receive_message_length": 256 << 20,
    "grpc.max_send_message_length": 256 << 20,
    "grpc-node.flow_control_window": 16 << 20,
  };
  const ratingClient = new grpc.Client(rating.address, grpc.credentials.createInsecure(), options);
  const echoClient = new grpc.Client(`127.0.0.1:${echoPort}`, grpc.credentials.createInsecure(), options);

  // The rating answer is a real price list's result.
  const sample = RateResponse.decode(await call(ratingClient, requests[0] as Buffer));
  const priced = sample.frames[0]?.points.filter((p) => p.price !== "0").length ?? 0;
  console.log(
    `Rate over gRPC: ${fmt(points)} points in ${requests.length} frames of ${PER_FRAME} (${(bytes / requests.length / 1024).toFixed(0)} KiB each), ` +
      `${INFLIGHT} calls in flight, client and servers on this machine (${process.version}); ${priced} of ${PER_FRAME} points of a frame priced non-zero`,
  );
  // Warm up both servers, then alternate runs so that both see the same machine load.
  const echoPid = echo.pid ?? -1;
  await drive(ratingClient, rating.pid, requests.slice(0, 10), 10 * PER_FRAME);
  await drive(echoClient, echoPid, requests.slice(0, 10), 10 * PER_FRAME);
  const r: Array<{ wall: number; cpu: number }> = [];
  const e: Array<{ wall: number; cpu: number }> = [];
  for (let i = 0; i < ROUNDS; i++) {
    const ri = await drive(ratingClient, rating.pid, requests, points);
    const ei = await drive(echoClient, echoPid, requests, points);
    r.push(ri);
    e.push(ei);
    console.log(
      `  round ${i + 1}: rating ${fmt(ri.wall)} points/s (${fmt(ri.cpu)} per server CPU-second), ` +
        `plain grpc-js echo ${fmt(ei.wall)} points/s (${fmt(ei.cpu)} per server CPU-second)`,
    );
  }
  const best = (xs: Array<{ wall: number; cpu: number }>, k: "wall" | "cpu") => Math.max(...xs.map((x) => x[k]));
  console.log(
    `  best: rating ${fmt(best(r, "wall"))} points/s, echo ${fmt(best(e, "wall"))} points/s: rating at ${((best(r, "wall") / best(e, "wall")) * 100).toFixed(0)}% of the echo's rate; ` +
      `per server CPU-second ${fmt(best(r, "cpu"))} against ${fmt(best(e, "cpu"))} (${((best(r, "cpu") / best(e, "cpu")) * 100).toFixed(0)}%)`,
  );
  ratingClient.close();
  echoClient.close();
} finally {
  echo.kill("SIGTERM");
  await rating.stop("SIGTERM", 10_000);
  rmSync(dir, { recursive: true, force: true });
}
