/**
 * Summary over a month of stored points, on each engine, through a real
 * storage process over gRPC: 50 scopes x 720 hourly periods x 278 points
 * (10,008,000 points, April 2026), loaded through the engine's own commit
 * path. The queries run twice: with the first 3 days loaded (1 million
 * points) and with the whole month (10 million), and the storage process's
 * memory is read during both, to show it does not grow with the points.
 * Target: grouped by scope and type, at most 100 ms. The same queries
 * "as billed at" a time (as_of) are timed too: at the end of the first 3
 * days (on the whole month, the 27 later days are periods first committed
 * after it, subtracted) and at the start of the queries (nothing after it).
 *
 * RATEMESH_BENCH_ENGINES=sqlite|postgresql picks the engines;
 * RATEMESH_BENCH_DAYS (default 30) shortens the month for a quick run.
 */
import { StorageServiceService, type SummaryRequest } from "../../../libs/gen/ratemesh/v1/storage.js";
import { commitInputFrom } from "../api/requests.js";
import type { StorageEngine } from "../domain.js";
import {
  type BenchDatabase,
  benchDatabase,
  commitRequest,
  conditions,
  type EngineName,
  enginesToRun,
  fmt,
  framePoints,
  median,
  memoryOf,
  PERIOD,
  startStorage,
} from "./support.js";

const SCOPES = 50;
const POINTS = 278;
const DAYS = Number(process.env.RATEMESH_BENCH_DAYS ?? 30);
const FIRST_DAYS = Math.min(3, DAYS);
const MONTH_BEGIN = new Date("2026-04-01T00:00:00Z");
const MONTH_END = new Date("2026-05-01T00:00:00Z");
const RUNS = 7;

interface Query {
  name: string;
  target?: number;
  req: SummaryRequest;
}

const month = { begin: MONTH_BEGIN, end: MONTH_END, filters: [], orderBy: [], pageSize: 0, pageToken: "" };
const QUERIES: Query[] = [
  { name: "group by scope_id, type", target: 100, req: { ...month, groupBy: ["scope_id", "type"] } },
  { name: "group by flavor, time-d", req: { ...month, groupBy: ["flavor", "time-d"] } },
  { name: "group by type, time-d", req: { ...month, groupBy: ["type", "time-d"] } },
  { name: "group by id (13,900 rows, 1st page)", req: { ...month, groupBy: ["id"] } },
  { name: "no group (the month's total)", req: { ...month, groupBy: [] } },
  {
    name: "one scope, group by flavor, time-d",
    req: { ...month, groupBy: ["flavor", "time-d"], filters: [{ key: "scope_id", values: ["scope-7"] }] },
  },
];

async function load(engine: StorageEngine, fromDay: number, toDay: number, concurrency: number): Promise<number> {
  const t0 = performance.now();
  let points = 0;
  const periods: number[] = [];
  for (let n = fromDay * 24; n < toDay * 24; n++) periods.push(n);
  for (const n of periods) {
    const begin = new Date(MONTH_BEGIN.getTime() + n * PERIOD * 1000);
    for (let s = 0; s < SCOPES; s += concurrency) {
      const batch: Array<Promise<unknown>> = [];
      for (let c = s; c < Math.min(SCOPES, s + concurrency); c++) {
        const scope = `scope-${c}`;
        batch.push(engine.commitPeriod(commitInputFrom(commitRequest(scope, begin, framePoints(scope, POINTS, n), n === 0), PERIOD)));
      }
      await Promise.all(batch);
      points += batch.length * POINTS;
    }
    if ((n + 1) % 72 === 0) {
      const s = (performance.now() - t0) / 1000;
      process.stdout.write(`    loaded day ${(n + 1) / 24}: ${fmt(points)} points in ${fmt(s, 1)} s (${fmt(points / s)} points/s)\n`);
    }
  }
  return (performance.now() - t0) / 1000;
}

/** The queries as billed at the end of the first days' load, and at the start of the queries. */
function asOfQueries(firstDaysLoaded: Date): Query[] {
  const now = new Date();
  const pick = (name: string) => QUERIES.find((q) => q.name === name) as Query;
  return [
    ...["group by scope_id, type", "group by flavor, time-d", "no group (the month's total)"].map((name) => ({
      name: `as_of day ${FIRST_DAYS}: ${name}`,
      req: { ...pick(name).req, asOf: firstDaysLoaded },
    })),
    ...["group by scope_id, type", "group by flavor, time-d"].map((name) => ({
      name: `as_of now: ${name}`,
      req: { ...pick(name).req, asOf: now },
    })),
  ];
}

async function measure(db: BenchDatabase, label: string, firstDaysLoaded: Date): Promise<void> {
  const storage = await startStorage(db, 300);
  const { proc, conn } = storage;
  const client = conn.client(StorageServiceService);
  let sampler: NodeJS.Timeout | undefined;
  try {
    const idle = memoryOf(proc.pid);
    let peakRss = idle.rss;
    sampler = setInterval(() => {
      peakRss = Math.max(peakRss, memoryOf(proc.pid).rss);
    }, 10);
    console.log(`  ${label}: storage process RSS ${fmt(idle.rss, 1)} MiB before the queries`);
    for (const q of [...QUERIES, ...asOfQueries(firstDaysLoaded)]) {
      const times: number[] = [];
      let rows = "";
      for (let r = 0; r <= RUNS; r++) {
        const t = performance.now();
        const res = await client.summary(q.req);
        const dt = performance.now() - t;
        rows = res.totalRows;
        if (r > 0) times.push(dt);
      }
      const m = median(times);
      const verdict = q.target === undefined ? "" : ` (target <= ${q.target} ms: ${m <= q.target ? "met" : "NOT met"})`;
      console.log(
        `    ${q.name.padEnd(44)} median ${fmt(m, 1).padStart(8)} ms  min ${fmt(Math.min(...times), 1).padStart(8)}  max ${fmt(Math.max(...times), 1).padStart(8)}  ${rows} rows${verdict}`,
      );
    }
    clearInterval(sampler);
    const end = memoryOf(proc.pid);
    console.log(
      `    storage process memory during the queries: peak RSS ${fmt(Math.max(peakRss, end.rss), 1)} MiB (VmHWM ${fmt(end.peak, 1)} MiB)`,
    );
  } finally {
    clearInterval(sampler);
    await storage.stop();
  }
}

async function run(backend: EngineName): Promise<void> {
  console.log(`\n== ${backend}`);
  const db = await benchDatabase(backend, 4);
  try {
    const concurrency = backend === "postgresql" ? 4 : 1;
    let engine = await db.open();
    const s1 = await load(engine, 0, FIRST_DAYS, concurrency);
    await engine.close();
    const firstDaysLoaded = new Date();
    console.log(`  loaded ${fmt(FIRST_DAYS * 24 * SCOPES * POINTS)} points in ${fmt(s1, 1)} s`);
    await measure(db, `${fmt(FIRST_DAYS * 24 * SCOPES * POINTS)} points`, firstDaysLoaded);
    if (DAYS > FIRST_DAYS) {
      engine = await db.open();
      const s2 = await load(engine, FIRST_DAYS, DAYS, concurrency);
      await engine.close();
      console.log(`  loaded ${fmt((DAYS - FIRST_DAYS) * 24 * SCOPES * POINTS)} more points in ${fmt(s2, 1)} s`);
      await measure(db, `${fmt(DAYS * 24 * SCOPES * POINTS)} points`, firstDaysLoaded);
    }
  } finally {
    await db.drop();
  }
}

console.log(`Summary over one month: ${SCOPES} scopes x ${DAYS * 24} hourly periods x ${POINTS} points (${conditions()})`);
for (const backend of enginesToRun()) await run(backend);
