/**
 * A soak of several thousand periods through real etcd, storage, rating and
 * two collector processes: file descriptors and memory of every process
 * stay flat once warmed up.
 *
 * The service processes run with a capped V8 heap. Without a cap V8 grows
 * its heap lazily for as long as it has room, so resident memory climbs for
 * a while even when nothing leaks; with one, garbage is collected before the
 * heap grows, a leak ends in an out-of-memory crash (which fails the test),
 * and the resident-memory comparison below measures what is really kept.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sleep } from "../../libs/async/limit.js";
import { periodsDone, scopesDone, startCluster, verifyExactlyOnce } from "../support/cluster.js";
import { type ProcSample, sampleProcess } from "../support/procstat.js";

/** Enough for the file collector's index of the whole usage file, with room to spare. */
const HEAP_MIB = 96;

describe("soak", () => {
  it("rates 12,000 periods with flat file descriptors and memory in every process", async (t) => {
    const scopes = Array.from({ length: 10 }, (_, i) => `soak-${i}`);
    const periods = 1200;
    const total = scopes.length * periods;
    const cluster = await startCluster(t, {
      workload: { scopes, begin: new Date("2026-01-01T00:00:00Z"), periods },
      collectors: 2,
      ttlSeconds: 5,
      env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_MIB}` },
      sections: { collect: { batch_periods: 2, batch_scopes: 2 }, orchestrator: { max_workers: 4 } },
    });
    const procs = [cluster.storage, cluster.rating, ...cluster.collectors];
    const samples: Array<{ progress: number; byProc: Array<ProcSample | undefined> }> = [];
    for (;;) {
      const done = await periodsDone(cluster);
      samples.push({ progress: done / total, byProc: procs.map((p) => sampleProcess(p.pid)) });
      // A process that ran out of memory fails the soak at once (a collector's scopes would go to the other one).
      for (const p of procs) {
        const gone = p.child.exitCode ?? p.child.signalCode;
        assert.equal(gone, null, `${p.service} pid ${p.pid} exited during the soak (${gone}): ${p.stderr.slice(-5).join("\n")}`);
      }
      if ((await scopesDone(cluster)) === scopes.length) break;
      if (samples.length > 2400) assert.fail(`soak did not finish (${done}/${total} periods)`);
      await sleep(250);
    }
    assert.deepEqual(await verifyExactlyOnce(cluster), []);

    const window = (from: number, to: number) => samples.filter((s) => s.progress >= from && s.progress < to);
    const early = window(0.2, 0.5);
    const late = window(0.5, 1.01);
    assert.ok(early.length >= 3 && late.length >= 3, `enough samples (${early.length}, ${late.length}) over the run`);
    procs.forEach((p, i) => {
      const max = (list: typeof samples, f: (s: ProcSample) => number) =>
        Math.max(
          ...list
            .map((s) => s.byProc[i])
            .filter((x): x is ProcSample => x !== undefined)
            .map(f),
        );
      const fdsEarly = max(early, (s) => s.fds);
      const fdsLate = max(late, (s) => s.fds);
      const rssEarly = max(early, (s) => s.rssKiB);
      const rssLate = max(late, (s) => s.rssKiB);
      t.diagnostic(`${p.service} pid ${p.pid}: fds ${fdsEarly} -> ${fdsLate}, RSS ${rssEarly} -> ${rssLate} KiB`);
      assert.ok(fdsLate <= fdsEarly + 2, `${p.service}: file descriptors grew from ${fdsEarly} to ${fdsLate}`);
      assert.ok(rssLate <= rssEarly * 1.25 + 16 * 1024, `${p.service}: memory grew from ${rssEarly} to ${rssLate} KiB`);
    });
  });
});
