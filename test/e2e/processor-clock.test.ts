/**
 * The processor and the clock, with real storage, rating and collector
 * processes whose clocks are moved by Debian's faketime: a collector whose
 * clock runs ahead cannot rate periods that are not finished (their usage
 * would never be billed), and a new scope's start does not move with the
 * month while its first periods fail.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import { Decimal } from "../../libs/money/decimal.js";
import { alignDown, monthStart, nextMonthStart } from "../../libs/time/period.js";
import { PERIOD, startCluster, workloadEnd } from "../support/cluster.js";
import { startFaultRelay } from "../support/faults.js";
import { connect, eventually } from "../support/mesh.js";

const HOUR = PERIOD * 1000;

/** The environment that runs a process with its clock moved by `offset` (faketime's syntax: "+1d", "+3600"). */
function fakeTime(offset: string): Record<string, string> {
  return { LD_PRELOAD: "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1", FAKETIME: offset };
}

describe("processor and clocks", () => {
  it("a collector whose clock runs a day ahead is refused past storage's clock, naming the skew; no usage is lost", async (t) => {
    const begin = new Date(Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR);
    const cluster = await startCluster(t, {
      workload: { scopes: ["ahead"], begin, periods: 3 },
      collectors: 0,
      ttlSeconds: 2,
      // Embedded coordination, and no end: the collector rates up to what its clock says is finished.
      sections: { orchestrator: { coordination_url: undefined }, collect: { end: undefined } },
    });
    const collector = await cluster.addCollector(fakeTime("+1d"));
    const getScope = async () => (await cluster.scopesClient.getScope({ scopeId: "ahead" })).scope;
    // Storage's clock: periods may be rated up to the boundary at or before now + 5 min (the default tolerance), wait_periods being 0.
    const allowed = () => alignDown(new Date(Date.now() + 300_000), PERIOD).getTime();
    const seen = await eventually(
      async () => {
        const s = await getScope();
        return s !== undefined && (s.lastError.includes("clock skew") || (s.state?.getTime() ?? 0) > allowed()) ? s : undefined;
      },
      30_000,
      "a commit past storage's clock",
    );
    assert.ok((seen.state?.getTime() ?? 0) <= allowed(), `state ${seen.state?.toISOString()} is past storage's clock`);
    assert.match(seen.lastError, /^commit refused: clock skew: the period \[\S+, \S+\) of scope ahead is not finished by storage's clock/);
    // The finished periods were rated, with their usage.
    assert.ok((seen.state?.getTime() ?? 0) >= workloadEnd(cluster.workload).getTime(), `rated to ${seen.state?.toISOString()}`);
    const total = await cluster.storageClient.total({ begin, end: workloadEnd(cluster.workload), filters: [] });
    assert.ok(Decimal.parse(total.qty).eq(cluster.expected.get("ahead") as Decimal), `qty ${total.qty}`);
    const status = await connect(t, collector.address).client(CollectorServiceService).getStatus({});
    assert.match(status.scopes.find((s) => s.scopeId === "ahead")?.lastError ?? "", /clock skew/);
    // Later on, still nothing past storage's clock.
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(((await getScope())?.state?.getTime() ?? 0) <= allowed());
  });

  it("a new scope's start is fixed when first seen: first periods failing until the month is over skip nothing", async (t) => {
    // Every process's clock 25 s before the end of the month.
    const monthEnd = nextMonthStart(new Date());
    const offset = Math.round((monthEnd.getTime() - 25_000 - Date.now()) / 1000);
    const fakeNow = () => Date.now() + offset * 1000;
    const start = monthStart(new Date(monthEnd.getTime() - 1));
    const cluster = await startCluster(t, {
      workload: { scopes: ["newbie"], begin: start, periods: 2 },
      collectors: 0,
      ttlSeconds: 2,
      sections: { orchestrator: { coordination_url: undefined }, collect: { start: undefined, end: undefined } },
      env: fakeTime(`+${offset}`),
    });
    // Rating is unreachable until the month is over: the scope's first periods fail.
    const relay = await startFaultRelay(t, cluster.rating.port, { kind: "refuse" });
    await cluster.addCollector({ ...fakeTime(`+${offset}`), RATEMESH_RATING__ENDPOINT: `127.0.0.1:${relay.port}` });
    await eventually(
      async () => (await cluster.scopesClient.getScope({ scopeId: "newbie" })).scope?.lastError.includes("Rate"),
      20_000,
      "the first periods failed",
    );
    while (fakeNow() < monthEnd.getTime() + 2000) await new Promise((r) => setTimeout(r, 200));
    relay.set({ kind: "delay", ms: 0 });

    // The whole month it was first seen in is rated, not only from the next month on.
    const s = await eventually(
      async () => {
        const { scope } = await cluster.scopesClient.getScope({ scopeId: "newbie" });
        return scope?.state?.getTime() === monthEnd.getTime() ? scope : undefined;
      },
      90_000,
      `the scope rated from ${start.toISOString()} to ${monthEnd.toISOString()}`,
    );
    assert.equal(s.lastError, "");
    const total = await cluster.storageClient.total({ begin: start, end: monthEnd, filters: [] });
    assert.ok(Decimal.parse(total.qty).eq(cluster.expected.get("newbie") as Decimal), `qty ${total.qty}`);
  });
});
