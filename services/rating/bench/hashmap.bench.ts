/**
 * In-process hashmap throughput: 1,000,000 points (100 frames of 10,000, one
 * per project and hour) through the hashmap module, on the main thread, with
 * the price list of pricelist.ts. Two shapes of the same points:
 *
 * - as the server sees them: decoded from RateRequest bytes (before the
 *   clock starts), attributes read from the bytes, prices left as scaled
 *   integers whose digits the response encoder writes (that cost is in the
 *   gRPC benchmark);
 * - as plain objects with string prices (Quote, tests), every price a string.
 *
 * Prints points/s per run (wall time, and process CPU time, which on a
 * loaded machine is the better estimate of one core), and for comparison
 * the exact BigInt reference path alone. Run it alone with
 * `node --single-threaded` for one core and no GC helper threads.
 *
 *   node dist/services/rating/bench/hashmap.bench.js [points] [runs]
 */
import { RateRequest } from "../../../libs/gen/ratemesh/v1/rating.js";
import { decodeFrames } from "../codec/decode-frames.js";
import type { WireFrame } from "../codec/wire-frames.js";
import type { RatingFrame } from "../domain.js";
import { HashmapIndex } from "../modules/hashmap/hashmap-index.js";
import { HashmapModule } from "../modules/hashmap/module.js";
import { priceReference } from "../modules/hashmap/reference.js";
import { benchFrames, benchPriceList, toDataPoints } from "./pricelist.js";

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 7);
const PER_FRAME = 10_000;

const data = benchPriceList();
const plain = benchFrames(TOTAL, PER_FRAME);
const points = plain.reduce((n, f) => n + f.points.length, 0);
const wire: WireFrame[] = plain.flatMap(
  (f) =>
    decodeFrames(
      Buffer.from(
        RateRequest.encode({ frames: [{ scopeId: f.scopeId, begin: f.begin, end: f.end, points: toDataPoints(f.points) }] }).finish(),
      ),
    ).frames,
);
const plainFrames: RatingFrame[] = plain.map((f) => ({ scopeId: f.scopeId, at: f.begin, points: f.points }));

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function bench(label: string, frames: RatingFrame[]): number {
  // A fresh index per shape: plans and memos are built during the warm-up runs.
  const index = new HashmapIndex(data);
  const module = new HashmapModule(() => index);
  const runOnce = () => {
    for (const f of frames) for (const p of f.points) p.price = "0";
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const f of frames) module.rate(f);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  runOnce();
  runOnce();
  const wallRates: number[] = [];
  const cpuRates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = runOnce();
    wallRates.push((points / r.wallMs) * 1000);
    cpuRates.push((points / r.cpuMs) * 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(
    `  ${label}: median ${fmt(median(wallRates))} points/s wall (best ${fmt(Math.max(...wallRates))}), ` +
      `${fmt(median(cpuRates))} points per CPU-second (best ${fmt(Math.max(...cpuRates))})`,
  );
  return median(cpuRates);
}

console.log(
  `hashmap in-process: ${fmt(points)} points, ${plain.length} frames of ${PER_FRAME}; price list: ${data.services.length} services, ` +
    `${data.mappings.filter((m) => m.fieldId !== null && m.tenantId === null).length} global field mappings, ` +
    `${data.mappings.filter((m) => m.tenantId !== null).length + data.thresholds.filter((t) => t.tenantId !== null).length} project rules, ` +
    `${data.thresholds.length} thresholds, ${data.groups.length} groups; node ${process.version}, ${RUNS} runs after 2 warm-up runs`,
);
bench("points as decoded by the server", wire);
bench("plain points, string prices   ", plainFrames);

// Every price of a sample equals the exact path's, and how many came from fixed point.
const index = new HashmapIndex(data);
let fast = 0;
let checked = 0;
for (const f of plain.slice(0, 10)) {
  const view = index.view(f.scopeId, f.begin.getTime());
  for (const p of f.points) {
    const svc = view.get(p.type);
    if (svc === undefined) continue;
    const ref = priceReference(svc.entries, { ...p, price: "0" });
    const got = svc.price({ ...p, price: "0" });
    if (got !== ref) throw new Error(`fast path and reference disagree: ${got} != ${ref} for ${JSON.stringify(p)}`);
    if (svc.planFor(p).fast) fast++;
    checked++;
  }
}
console.log(
  `  ${((fast / checked) * 100).toFixed(1)}% of ${fmt(checked)} sampled points have a fixed-point plan; every sampled price equals the exact path's`,
);

const sample = plain.slice(0, 10).flatMap((f) => f.points.map((p) => ({ f, p })));
const t0 = performance.now();
for (const { f, p } of sample) priceReference(index.service(f.scopeId, f.begin.getTime(), p.type), { ...p, price: "0" });
console.log(`  the exact BigInt reference path alone: ${fmt((sample.length / (performance.now() - t0)) * 1000)} points/s`);
