/**
 * Catch-up end to end from a real Gnocchi 4.4: 24 hourly periods for 20
 * scopes of 10 resources with CloudKitty's default metrics.yml, through
 * real etcd, storage, rating and 1 or 2 collector processes, batched
 * ([collect] batch_periods 24, batch_scopes 10) and period by period
 * (batch_periods 1, batch_scopes 1). Printed: wall time from the first
 * scope taken to the last period committed, periods/s and points/s, the
 * requests Gnocchi answered, and Gnocchi's own CPU time (its uWSGI and
 * metricd processes) per rated point.
 */
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { benchContext } from "../../../test/support/bench.js";
import { acquisitions, scopesDone, startCluster } from "../../../test/support/cluster.js";
import { startFaultRelay } from "../../../test/support/faults.js";
import { startGnocchi } from "../../../test/support/gnocchi.js";
import { populateWorkload } from "../../../test/support/gnocchi-workload.js";
import { REPO_ROOT } from "../../../test/support/mesh.js";

const SCOPES = 20;
const PERIODS = 24;
const DAY = Date.parse("2026-08-01T00:00:00Z");
const TICK_MS = 1000 / 100; // USER_HZ

/** CPU time (ms) of every process whose command line mentions the Gnocchi test server's directory. */
function gnocchiCpuMs(dir: string): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime, stime, cutime, cstime are fields 14 to 17 of stat (12 to 15 after the name).
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // The process ended meanwhile.
    }
  }
  return ticks * TICK_MS;
}

const g = await startGnocchi();
try {
  const t0 = performance.now();
  const scopes = await populateWorkload(g, { scopes: SCOPES, periods: PERIODS, day: DAY });
  process.stdout.write(
    `catch-up of ${PERIODS} hourly periods x ${SCOPES} scopes (10 resources each), CloudKitty's default metrics.yml, ` +
      `real Gnocchi 4.4 (uWSGI 2x2, setup ${((performance.now() - t0) / 1000).toFixed(0)} s); ${cpus().length} cores, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}\n\n`,
  );
  process.stdout.write("collectors  mode             wall (s)  periods/s  points/s  Gnocchi requests  Gnocchi CPU/point  speed-up\n");
  const byPeriodWall = new Map<number, number>();
  for (const collectors of [1, 2]) {
    for (const batched of [false, true]) {
      const ctx = benchContext();
      try {
        const relay = await startFaultRelay(ctx.t, g.port, { kind: "delay", ms: 0 });
        const cluster = await startCluster(ctx.t, {
          workload: { scopes, begin: new Date(DAY), periods: PERIODS },
          collectors: 0,
          ttlSeconds: 10,
          sections: {
            log: { level: "debug" },
            collect: {
              collector: "gnocchi",
              metrics_conf: join(REPO_ROOT, "services/collector/bench/cloudkitty-metrics.yml"),
              batch_periods: batched ? PERIODS : 1,
              batch_scopes: batched ? 10 : 1,
            },
            collector_gnocchi: { gnocchi_auth_type: "basic", gnocchi_user: "admin", gnocchi_endpoint: relay.url },
            orchestrator: { max_workers: 20, collector_request_timeout: "600s" },
          },
        });
        const cpuBefore = gnocchiCpuMs(g.dir);
        await Promise.all(Array.from({ length: collectors }, () => cluster.addCollector()));
        while ((await scopesDone(cluster)) < scopes.length) await new Promise((r) => setTimeout(r, 100));
        const doneAt = Date.now();
        const cpu = gnocchiCpuMs(g.dir) - cpuBefore;
        const first = Math.min(...cluster.collectors.flatMap((c) => acquisitions(c).map((a) => a.time)));
        const wall = (doneAt - first) / 1000;
        const total = await cluster.storageClient.total({ begin: new Date(DAY), end: new Date(DAY + PERIODS * 3_600_000), filters: [] });
        const points = Number(total.points);
        if (!batched) byPeriodWall.set(collectors, wall);
        const speedup = batched ? `${((byPeriodWall.get(collectors) ?? Number.NaN) / wall).toFixed(1)}x` : "";
        process.stdout.write(
          `${String(collectors).padStart(10)}  ${(batched ? "batched" : "period by period").padEnd(15)}  ${wall.toFixed(1).padStart(8)}  ` +
            `${((SCOPES * PERIODS) / wall).toFixed(1).padStart(9)}  ${(points / wall).toFixed(0).padStart(8)}  ${String(relay.requests()).padStart(16)}  ` +
            `${`${(cpu / points).toFixed(2)} ms`.padStart(17)}  ${speedup.padStart(8)}\n`,
        );
      } finally {
        await ctx.close();
      }
    }
  }
} finally {
  await g.stop();
}
