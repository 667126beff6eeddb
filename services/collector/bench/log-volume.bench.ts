/**
 * Log volume per 1,000 committed periods: storage, rating and a collector
 * as real processes at the default log level, rating a generated usage
 * file (20 scopes, one instance and two volumes each) in two ways: a
 * catch-up in batches ([collect] batch_periods 24, the default) and period
 * by period (batch_periods 1, what steady state looks like: one period per
 * scope whenever a period ends). Printed: the bytes each process wrote to
 * stdout, per 1,000 committed periods.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchContext } from "../../../test/support/bench.js";
import { METRICS_YML, PERIOD, workloadEnd, writeWorkload } from "../../../test/support/cluster.js";
import { eventually, startMesh, tempDir } from "../../../test/support/mesh.js";
import type { ServiceProcess } from "../../../test/support/service-process.js";

const SCOPES = Array.from({ length: 20 }, (_, i) => `p-${String(i).padStart(2, "0")}`);
const PERIODS = 100;
const BEGIN = new Date("2026-05-01T00:00:00Z");

/** Bytes of the lines a process wrote to stdout (each line and its newline). */
function logBytes(p: ServiceProcess | undefined): number {
  return (p?.lines ?? []).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
}

process.stdout.write(
  `log bytes per 1,000 committed periods, default log level (info); ${SCOPES.length} scopes x ${PERIODS} hourly periods\n\n`,
);
process.stdout.write("mode                 periods  storage  rating  collector    total\n");
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
        collect: {
          collector: "file",
          metrics_conf: metricsFile,
          period: PERIOD,
          wait_periods: 0,
          start: BEGIN.toISOString(),
          end: end.toISOString(),
          batch_periods: batchPeriods,
        },
        collector_file: { path: file },
        fetcher: { backend: "source" },
        fetcher_source: { sources: SCOPES.join(", ") },
        log: { level: "info" },
      },
    });
    await eventually(
      async () => {
        const { scopes } = await mesh.clients.scopes.listScopes({
          scopeIds: SCOPES,
          scopeKey: "",
          fetcher: "",
          collector: "",
          pageSize: 0,
          pageToken: "",
        });
        return scopes.length === SCOPES.length && scopes.every((s) => s.state?.getTime() === end.getTime());
      },
      300_000,
      "every scope rated",
    );
    // Stopped here so that the shutdown lines count too, as in any real run.
    for (const p of [mesh.collector, mesh.rating, mesh.storage]) await p?.stop("SIGTERM");
    const periods = SCOPES.length * PERIODS;
    const per = (b: number) => Math.round((b * 1000) / periods);
    const [s, r, c] = [logBytes(mesh.storage), logBytes(mesh.rating), logBytes(mesh.collector)];
    const mode = batchPeriods === 1 ? "period by period" : `batched (${batchPeriods})`;
    process.stdout.write(
      `${mode.padEnd(20)} ${String(periods).padStart(7)} ${String(per(s)).padStart(8)} ${String(per(r)).padStart(7)} ` +
        `${String(per(c)).padStart(10)} ${String(per(s + r + c)).padStart(8)}\n`,
    );
  } finally {
    await ctx.close();
  }
}
