/**
 * Time from kill -9 of a collector process to another member owning its
 * scopes, for lease TTLs of 2, 5 and 10 s, with real etcd, storage, rating
 * and collector processes. Printed: the first and the last of the killed
 * member's scopes to be taken over, after the kill.
 */
import { sleep } from "../../../libs/async/limit.js";
import { benchContext } from "../../../test/support/bench.js";
import { memberId, ownersInEtcd, periodsDone, startCluster } from "../../../test/support/cluster.js";

const TTLS = [2, 5, 10];
const RUNS = 2;

process.stdout.write("takeover after kill -9 (2 collectors, 10 scopes in progress)\n");
process.stdout.write("  TTL   first takeover   last takeover   last - TTL\n");
for (const ttl of TTLS) {
  for (let run = 0; run < RUNS; run++) {
    const ctx = benchContext();
    try {
      const cluster = await startCluster(ctx.t, {
        workload: { scopes: Array.from({ length: 10 }, (_, i) => `s${i}`), begin: new Date("2026-01-01T00:00:00Z"), periods: 5000 },
        collectors: 2,
        ttlSeconds: ttl,
        sections: { log: { level: "info" }, collect: { batch_periods: 1, batch_scopes: 1 }, orchestrator: { max_workers: 32 } },
      });
      while ((await periodsDone(cluster)) < 200) await sleep(100);
      const [victim, survivor] = cluster.collectors;
      if (victim === undefined || survivor === undefined) throw new Error("two collectors expected");
      const owners = await ownersInEtcd(cluster);
      const victimId = memberId(victim);
      const victimScopes = [...owners].filter(([, m]) => m === victimId).map(([s]) => s);
      const killedAt = Date.now();
      await victim.stop("SIGKILL");
      const takenAt = new Map<string, number>();
      while (takenAt.size < victimScopes.length && Date.now() - killedAt < (ttl + 10) * 1000) {
        const now = await ownersInEtcd(cluster);
        const t = Date.now();
        for (const s of victimScopes) {
          const m = now.get(s);
          if (!takenAt.has(s) && m !== undefined && m !== victimId) takenAt.set(s, t - killedAt);
        }
        await sleep(20);
      }
      const times = [...takenAt.values()].sort((a, b) => a - b);
      const first = times[0] ?? Number.NaN;
      const last = times[times.length - 1] ?? Number.NaN;
      process.stdout.write(
        `  ${String(ttl).padStart(2)} s  ${`${first} ms`.padStart(14)}  ${`${last} ms`.padStart(14)}  ${`${last - ttl * 1000} ms`.padStart(11)}` +
          `   (${takenAt.size}/${victimScopes.length} scopes)\n`,
      );
    } finally {
      await ctx.close();
    }
  }
}
