/**
 * CommitPeriod throughput with frames of 10,000 points, on each engine:
 *  - in process: the service's own work (validation, digest, the engine's
 *    transaction), timed around each commit;
 *  - end to end: one committer calling a storage process over gRPC, one
 *    call at a time (so protobuf encoding and decoding add to the time).
 * Targets: 250,000 points/s on SQLite, 100,000 points/s on PostgreSQL.
 */
import { createHash } from "node:crypto";
import { CommitPeriodRequest, StorageServiceService } from "../../../libs/gen/ratemesh/v1/storage.js";
import { commitInputFrom } from "../api/requests.js";
import type { StorageEngine } from "../domain.js";
import {
  benchDatabase,
  commitRequest,
  conditions,
  cpuOf,
  type EngineName,
  enginesToRun,
  fmt,
  framePoints,
  PERIOD,
  startStorage,
} from "./support.js";

const FRAME = 10_000;
const SCOPES = Number(process.env.RATEMESH_BENCH_COMMIT_SCOPES ?? 3);
const PERIODS = Number(process.env.RATEMESH_BENCH_COMMIT_PERIODS ?? 12);
const TARGET: Record<EngineName, number> = { sqlite: 250_000, postgresql: 100_000 };
const T0 = Date.UTC(2026, 3, 1) / 1000;

async function inProcess(backend: EngineName): Promise<void> {
  const db = await benchDatabase(backend);
  const engine = await db.open();
  try {
    let warm = 0;
    let warmCpu = 0;
    let warmPoints = 0;
    let cold = 0;
    let decode = 0;
    for (let n = 0; n < PERIODS; n++) {
      for (let s = 0; s < SCOPES; s++) {
        const scope = `bench-${s}`;
        // What the server receives: the bytes a client encoded (untimed), decoded as gRPC would (timed apart).
        const bytes = Buffer.from(
          CommitPeriodRequest.encode(
            commitRequest(scope, new Date((T0 + n * PERIOD) * 1000), framePoints(scope, FRAME, n), n === 0),
          ).finish(),
        );
        const d = performance.now();
        const req = CommitPeriodRequest.decode(bytes);
        const decoded = performance.now() - d;
        const t = performance.now();
        const c = process.cpuUsage();
        const digest = createHash("sha256").update(bytes).digest("hex");
        await engine.commitPeriod(commitInputFrom(req, PERIOD, digest));
        const dt = performance.now() - t;
        const used = process.cpuUsage(c);
        // A scope's first frame also fills the dictionary of its 10,000 groupby maps.
        if (n === 0) cold += dt;
        else {
          warm += dt;
          warmCpu += (used.user + used.system) / 1000;
          warmPoints += FRAME;
          decode += decoded;
        }
      }
    }
    const rate = (warmPoints / warm) * 1000;
    console.log(
      `  ${backend.padEnd(10)} in process : ${fmt(rate).padStart(9)} points/s (target ${fmt(TARGET[backend])}) ` +
        `${rate >= TARGET[backend] ? "met" : "NOT met"}; ${SCOPES * (PERIODS - 1)} commits, ${fmt(warm / (SCOPES * (PERIODS - 1)), 1)} ms each; ` +
        `a scope's first frame (new groupby maps): ${fmt(cold / SCOPES, 1)} ms`,
    );
    // Other processes share the cores: per CPU-second of this process is what the code does when it has a core.
    const perCpu = (warmPoints / warmCpu) * 1000;
    const note = backend === "postgresql" ? " (the client side only: the PostgreSQL server's own time is not counted)" : "";
    console.log(`  ${"".padEnd(10)} per CPU-second of the committing process: ${fmt(perCpu).padStart(9)} points${note}`);
    console.log(`  ${"".padEnd(10)} protobuf decoding of a frame, before all this: ${fmt(decode / (SCOPES * (PERIODS - 1)), 1)} ms`);
    await rerating(engine);
  } finally {
    await engine.close();
    await db.drop();
  }
}

/**
 * Re-rating: a reprocessing task over one scope's periods, every point's
 * price changed, so each commit records an adjustment (a reversal and a
 * re-rating line per groupby map: 20,000 lines a frame) and keeps the
 * billed points.
 */
async function rerating(engine: StorageEngine): Promise<void> {
  const periods = PERIODS - 1;
  const [task] = await engine.createTasks(
    {
      scopes: { all: false, scopeIds: ["bench-0"] },
      begin: new Date(T0 * 1000),
      end: new Date((T0 + periods * PERIOD) * 1000),
      reason: "bench",
      actor: "bench",
    },
    new Date(),
  );
  let time = 0;
  let cpu = 0;
  for (let n = 0; n < periods; n++) {
    const req = commitRequest("bench-0", new Date((T0 + n * PERIOD) * 1000), framePoints("bench-0", FRAME, n + 1), false);
    const bytes = Buffer.from(CommitPeriodRequest.encode({ ...req, reprocessTaskId: task?.taskId ?? "" }).finish());
    const decoded = CommitPeriodRequest.decode(bytes);
    const t = performance.now();
    const c = process.cpuUsage();
    await engine.commitPeriod(commitInputFrom(decoded, PERIOD, createHash("sha256").update(bytes).digest("hex")));
    time += performance.now() - t;
    const used = process.cpuUsage(c);
    cpu += (used.user + used.system) / 1000;
  }
  console.log(
    `  ${"".padEnd(10)} re-rating every price of a frame (an adjustment of ${fmt(2 * FRAME)} lines, the billed points kept): ` +
      `${fmt(((periods * FRAME) / time) * 1000).padStart(9)} points/s, ${fmt(time / periods, 1)} ms a frame; ` +
      `${fmt(((periods * FRAME) / cpu) * 1000)} points per CPU-second of the committing process`,
  );
}

async function endToEnd(backend: EngineName): Promise<void> {
  const db = await benchDatabase(backend);
  const storage = await startStorage(db, 60);
  const { proc, conn } = storage;
  const client = conn.client(StorageServiceService);
  try {
    const periods = Math.max(3, Math.floor(PERIODS / 2));
    let total = 0;
    let points = 0;
    let serverCpu = 0;
    for (let n = 0; n < periods; n++) {
      for (let s = 0; s < 2; s++) {
        const scope = `e2e-${s}`;
        const req = commitRequest(scope, new Date((T0 + n * PERIOD) * 1000), framePoints(scope, FRAME, n), n === 0);
        const t = performance.now();
        const c = cpuOf(proc.pid);
        await client.commitPeriod(req);
        if (n > 0) {
          total += performance.now() - t;
          serverCpu += cpuOf(proc.pid) - c;
          points += FRAME;
        }
      }
    }
    console.log(
      `  ${backend.padEnd(10)} over gRPC  : ${fmt((points / total) * 1000).padStart(9)} points/s, one call at a time (${fmt(total / (points / FRAME), 1)} ms per frame); ` +
        `the storage process used ${fmt(serverCpu / (points / FRAME), 1)} ms of CPU per frame (${fmt((points / serverCpu) * 1000)} points per CPU-second, protobuf decoding included)`,
    );
  } finally {
    await storage.stop();
    await db.drop();
  }
}

console.log(`CommitPeriod throughput, frames of ${fmt(FRAME)} points (${conditions()})`);
for (const backend of enginesToRun()) {
  await inProcess(backend);
  await endToEnd(backend);
}
