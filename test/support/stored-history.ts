/**
 * A storage file holding a large rated history, for the simulation
 * benchmark: the benchmark's usage (services/rating/bench/pricelist.ts: 50
 * projects, resources shaped like a Gnocchi collection) stored hour after
 * hour, each project's resources the same every hour, committed through
 * storage's own engine (so the file is what the storage service writes).
 * Made once per size and kept in the temp dir: loading 10 million points
 * takes about a minute, and later runs reuse the file.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { benchFrames, PROJECTS, toDataPoints } from "../../services/rating/bench/pricelist.js";
import { commitInputFrom } from "../../services/storage/api/requests.js";
import { openSqliteEngine } from "../../services/storage/sqlite/dialect.js";

const PERIOD = 3600;
/** Bump when the shape of the history changes: older files are not reused. */
const LAYOUT = 1;

export interface StoredHistory {
  file: string;
  begin: Date;
  end: Date;
  points: number;
  frames: number;
  /** Seconds spent loading (0: reused). */
  loadSeconds: number;
}

/** The price each point was billed at: a few values, so sums are not trivial. */
function billed(i: number): string {
  return ["0.0125", "0.25", "1.5", "0.003"][i % 4] as string;
}

export async function storedHistory(points: number, perFrame = 10_000, begin = new Date("2026-03-01T00:00:00Z")): Promise<StoredHistory> {
  const dir = join(tmpdir(), "ratemesh-simulate-bench");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `history-v${LAYOUT}-${points}-${perFrame}.sqlite`);
  const frames = Math.ceil(points / perFrame);
  const hours = Math.ceil(frames / PROJECTS.length);
  const end = new Date(begin.getTime() + hours * PERIOD * 1000);
  if (existsSync(file)) return { file, begin, end, points, frames, loadSeconds: 0 };

  // Each project's resources, the same every hour.
  const resources: DataPoint[][] = benchFrames(PROJECTS.length * perFrame, perFrame).map((f) =>
    toDataPoints(f.points).map((p, i) => ({ ...p, price: billed(i) })),
  );
  const partial = `${file}.partial`;
  for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
  const t0 = performance.now();
  const engine = openSqliteEngine(partial, { periodSeconds: PERIOD });
  try {
    for (let f = 0; f < frames; f++) {
      const project = f % PROJECTS.length;
      const hour = Math.floor(f / PROJECTS.length);
      const scopeId = PROJECTS[project] as string;
      const b = new Date(begin.getTime() + hour * PERIOD * 1000);
      const all = resources[project] as DataPoint[];
      const n = Math.min(perFrame, points - f * perFrame);
      const req = {
        frame: { scopeId, begin: b, end: new Date(b.getTime() + PERIOD * 1000), points: n === all.length ? all : all.slice(0, n) },
        expectedState: hour === 0 ? undefined : b,
        fencingToken: "1",
        fencingEpoch: "0",
        owner: "bench",
        reprocessTaskId: "",
        scopeKey: "project_id",
        fetcher: "source",
        collector: "gnocchi",
        unpricedPoints: "0",
      };
      await engine.commitPeriod(commitInputFrom(req, PERIOD));
      if (f % 100 === 99) process.stdout.write(`  loading the history: ${((f + 1) * perFrame).toLocaleString("en-US")} points\n`);
    }
  } finally {
    await engine.close();
  }
  renameSync(partial, file);
  return { file, begin, end, points, frames, loadSeconds: (performance.now() - t0) / 1000 };
}
