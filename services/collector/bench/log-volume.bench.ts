/**
 * Log volume per 1,000 committed periods: storage, rating and a collector
 * as real processes at the default log level, rating a generated usage
 * file (20 scopes, one instance and two volumes each) in two ways: a
 * catch-up in batches ([collect] batch_periods 24, the default) and period
 * by period (batch_periods 1, what steady state looks like: one period per
 * scope whenever a period ends). Printed: the bytes each process wrote to
 * stdout, per 1,000 committed periods, next to what the same run wrote
 * before per-RPC access lines of hot RPCs went to debug and the per-batch
 * line became a per-scope progress line at a bounded rate (measured with
 * this benchmark at commit 3b80e1c, on the project's 2-core machine).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchContext } from "../../../test/support/bench.js";
import { METRICS_YML, PERIOD, workloadEnd, writeWorkload } from "../../../test/support/cluster.js";
import { fileCollectSections, startMesh, tempDir, waitRatedUpTo } from "../../../test/support/mesh.js";
import type { ServiceProcess } from "../../../test/support/service-process.js";

const SCOPES = Array.from({ length: 20 }, (_, i) => `p-${String(i).padStart(2, "0")}`);
const PERIODS = 100;
const BEGIN = new Date("2026-05-01T00:00:00Z");

/** Bytes per 1,000 periods (storage, rating, collector) before the change, by batch_periods. */
const BEFORE: Record<number, [number, number, number]> = { 24: [175208, 1755, 3293], 1: [174375, 24255, 38381] };

/** Bytes of the lines a process wrote to stdout (each line and its newline). */
function logBytes(p: ServiceProcess | undefined): number {
  return (p?.lines ?? []).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
}

process.stdout.write(
  `log bytes per 1,000 committed periods, default log level (info); ${SCOPES.length} scopes x ${PERIODS} hourly periods\n\n`,
);
process.stdout.write("mode                        periods  storage  rating  collector    total\n");
for (const batchPeriods of [24, 1]) {
  const ctx = benchContext();
  try {
    const dir = tempDir(ctx.t);
    const workload = { scopes: SCOPES, begin: BEGIN, periods: PERIODS };
    const { file } = writeWorkload(dir, workload);
    const metricsFile = join(dir, "metrics.yml");
    writeFileSync(metricsFile, METRICS_YML);
    const end = workloadEnd(workload);
    const mesh = await startMesh(ctx.t, {
      sections: {
        ...fileCollectSections({ metricsFile, usageFile: file, scopes: SCOPES, begin: BEGIN, end, period: PERIOD, batchPeriods }),
        log: { level: "info" },
      },
    });
    await waitRatedUpTo(mesh, SCOPES, end, 300_000);
    // Stopped here so that the shutdown lines count too, as in any real run.
    for (const p of [mesh.collector, mesh.rating, mesh.storage]) await p?.stop("SIGTERM");
    const periods = SCOPES.length * PERIODS;
    const per = (b: number) => Math.round((b * 1000) / periods);
    const [s, r, c] = [logBytes(mesh.storage), logBytes(mesh.rating), logBytes(mesh.collector)];
    const mode = batchPeriods === 1 ? "period by period" : `batched (${batchPeriods})`;
    const row = (label: string, b: [number, number, number]) =>
      `${label.padEnd(27)} ${String(periods).padStart(7)} ${String(b[0]).padStart(8)} ${String(b[1]).padStart(7)} ` +
      `${String(b[2]).padStart(10)} ${String(b[0] + b[1] + b[2]).padStart(8)}\n`;
    const before = BEFORE[batchPeriods] as [number, number, number];
    const after: [number, number, number] = [per(s), per(r), per(c)];
    process.stdout.write(row(`${mode}, before`, before));
    process.stdout.write(row(`${mode}, now`, after));
    const ratio = (before[0] + before[1] + before[2]) / (after[0] + after[1] + after[2]);
    process.stdout.write(`${"".padEnd(27)} ${ratio.toFixed(0)}x less\n`);
  } finally {
    await ctx.close();
  }
}
