/**
 * What-if over stored history, end to end: a storage process holding a
 * rated history (10 million points by default, SQLite), a rating process
 * with the benchmark price list, and SimulationService/Simulate over the
 * whole history from this process, over gRPC: storage streams the stored
 * points to rating, rating reprices them through the pipeline and answers
 * the groups. Printed: points repriced per second and the time for the
 * whole history (target: 10 million in under 30 s), beside the
 * Rate-over-gRPC figure of the same rating process and price list (frames
 * of 10,000 points sent by this process), and how fast storage alone
 * streams the points (what the simulation cannot beat).
 *
 *   RATEMESH_BENCH_SIMULATE_POINTS=1000000 node dist/services/rating/bench/simulate.bench.js
 *   RATEMESH_BENCH_STORAGE_NODE_OPTIONS=--max-semi-space-size=64 node dist/services/rating/bench/simulate.bench.js
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { RatingServiceService } from "../../../libs/gen/ratemesh/v1/rating.js";
import { SimulateRequest, SimulationServiceService } from "../../../libs/gen/ratemesh/v1/simulation.js";
import { StorageServiceService } from "../../../libs/gen/ratemesh/v1/storage.js";
import { Connection } from "../../../libs/grpc/client.js";
import { ServiceProcess } from "../../../test/support/service-process.js";
import { storedHistory } from "../../../test/support/stored-history.js";
import { loadPriceList } from "./load-price-list.js";
import { benchFrames, toDataPoints } from "./pricelist.js";

const POINTS = Number(process.env.RATEMESH_BENCH_SIMULATE_POINTS ?? 10_000_000);
const PER_FRAME = 10_000;
const TARGET_SECONDS_PER_10M = 30;
const RATE_POINTS = 500_000;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** CPU seconds a process has used so far (user + system, from /proc; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const history = await storedHistory(POINTS, PER_FRAME);
console.log(
  `Simulate over stored history: ${fmt(history.points)} points in ${fmt(history.frames)} frames of ${fmt(PER_FRAME)}, ` +
    `${history.begin.toISOString()} to ${history.end.toISOString()}, SQLite ` +
    (history.loadSeconds > 0 ? `(loaded in ${history.loadSeconds.toFixed(0)} s)` : "(reused from an earlier run)"),
);

const dir = mkdtempSync(join(tmpdir(), "ratemesh-bench-"));
const configFile = join(dir, "ratemesh.conf");
writeFileSync(
  configFile,
  `[storage]\nlisten = 127.0.0.1:0\nurl = ${history.file}\n\n[rating]\nlisten = 127.0.0.1:0\nurl = ${join(dir, "rating.sqlite")}\n`,
);
// Node options of the storage process only, e.g. "--max-semi-space-size=64" (a larger young generation: reading millions of rows makes short-lived garbage).
const storageNodeOptions = process.env.RATEMESH_BENCH_STORAGE_NODE_OPTIONS ?? "";
const storage = await ServiceProcess.start({
  service: "storage",
  configFile,
  ...(storageNodeOptions === "" ? {} : { env: { NODE_OPTIONS: storageNodeOptions } }),
});
if (storageNodeOptions !== "") console.log(`  storage started with NODE_OPTIONS=${storageNodeOptions}`);
const rating = await ServiceProcess.start({ service: "rating", configFile, env: { RATEMESH_STORAGE__ENDPOINT: storage.address } });
const options = { deadlineSeconds: 900, retries: 0, retryBackoffSeconds: 0.1, keepaliveSeconds: 30, maxMessageBytes: 256 << 20 };
const ratingConn = new Connection(rating.address, options);
const storageConn = new Connection(storage.address, options);
try {
  await loadPriceList(rating.address);
  const simulation = ratingConn.client(SimulationServiceService);
  const window = { begin: history.begin, end: history.end };

  // Storage alone: the stored points streamed to this process (as Simulate reads them) and dropped.
  let t0 = performance.now();
  let streamed = 0;
  const storageCpu0 = cpuSeconds(storage.pid);
  for await (const m of storageConn.client(StorageServiceService).streamPointColumns({ ...window, filters: [] })) {
    for (const f of m.frames) streamed += f.qty.length;
  }
  const streamSeconds = (performance.now() - t0) / 1000;
  console.log(
    `  storage alone, StreamPointColumns to a client: ${fmt(streamed / streamSeconds)} points/s (${streamSeconds.toFixed(1)} s; ` +
      `${fmt(streamed / (cpuSeconds(storage.pid) - storageCpu0))} points per storage CPU-second)`,
  );

  t0 = performance.now();
  const cpu0 = { storage: cpuSeconds(storage.pid), rating: cpuSeconds(rating.pid) };
  let rows = 0;
  let totals: { points: string; billed: string; simulated: string; delta: string } | undefined;
  const req = SimulateRequest.fromPartial({ ...window, groupBy: ["scope_id", "type"] });
  for await (const m of simulation.simulate(req, { deadlineSeconds: 1800 })) {
    rows += m.rows.length;
    totals = m.totals ?? totals;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = { storage: cpuSeconds(storage.pid) - cpu0.storage, rating: cpuSeconds(rating.pid) - cpu0.rating };
  const repriced = Number(totals?.points ?? 0);
  const simRate = repriced / seconds;
  const per10M = (10_000_000 / simRate).toFixed(1);
  console.log(
    `  Simulate (in force, by scope and type): ${fmt(simRate)} points repriced/s end to end; ${fmt(repriced)} points in ${seconds.toFixed(1)} s, ` +
      `${rows} rows; billed ${totals?.billed}, simulated ${totals?.simulated}, delta ${totals?.delta}`,
  );
  console.log(
    `    CPU: storage ${cpu.storage.toFixed(1)} s, rating ${cpu.rating.toFixed(1)} s (${fmt(repriced / cpu.rating)} points per rating CPU-second, ` +
      `${fmt(repriced / cpu.storage)} per storage CPU-second); load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores`,
  );

  // Rate over gRPC on the same process and price list: frames of 10,000 points, two calls in flight.
  const rateClient = ratingConn.client(RatingServiceService);
  const frames = benchFrames(RATE_POINTS, PER_FRAME).map((f) => ({ ...f, points: toDataPoints(f.points) }));
  await rateClient.rate({ frames: frames.slice(0, 2) });
  t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < frames.length) await rateClient.rate({ frames: [frames[next++] as (typeof frames)[number]] });
  };
  await Promise.all([worker(), worker()]);
  const rateRate = RATE_POINTS / ((performance.now() - t0) / 1000);
  console.log(`  Rate over gRPC (same process and price list, frames of ${fmt(PER_FRAME)}, 2 in flight): ${fmt(rateRate)} points/s`);
  console.log(
    `  => simulation ${fmt(simRate)} points/s = ${((simRate / rateRate) * 100).toFixed(0)}% of Rate over gRPC; ` +
      `10M points in ${per10M} s (target ${TARGET_SECONDS_PER_10M} s: ${Number(per10M) <= TARGET_SECONDS_PER_10M ? "met" : "NOT met"})`,
  );
} finally {
  ratingConn.close();
  storageConn.close();
  await rating.stop("SIGTERM", 10_000);
  await storage.stop("SIGTERM", 10_000);
  rmSync(dir, { recursive: true, force: true });
}
