/**
 * Tiered prices over the billing month and time-of-use prices end to end,
 * with real etcd, storage, rating and collector processes rating the
 * cluster workload (test/support/cluster.ts) over a month boundary:
 * every period's price is worked out by hand here from the workload's
 * quantities, with month-to-date counted per scope and month; exactly once
 * holds through a kill -9 of a collector; and re-rating one period
 * re-rates the later periods of its month.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CreateMappingRequest, HashmapServiceService, RatingServiceService, TierMode } from "../../libs/gen/ratemesh/v1/rating.js";
import { ReprocessServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import { Decimal } from "../../libs/money/decimal.js";
import { type Cluster, PERIOD, periodsDone, scopesDone, startCluster, verifyExactlyOnce } from "../support/cluster.js";
import { connect, eventually } from "../support/mesh.js";

// Friday 31 July 2026 00:00 UTC: 24 periods in July, then 24 on Saturday 1 August.
const BEGIN = new Date("2026-07-31T00:00:00Z");
const PERIODS = 48;
const AUGUST = 24;
/** GiB-hours of the month: up to 500 at 0.10, up to 1000 at 0.05, beyond at 0.02. */
const TIERS: Array<[number, string]> = [
  [0, "0.10"],
  [500, "0.05"],
  [1000, "0.02"],
];
const D = (s: string | number) => Decimal.parse(String(s));

/** Graduated price of the first x units of a month, tier by tier. */
function monthPrice(x: Decimal): Decimal {
  let total = Decimal.ZERO;
  TIERS.forEach(([from, price], i) => {
    const next = TIERS[i + 1]?.[0];
    const lo = D(from);
    if (!x.gt(lo)) return;
    const hi = next !== undefined && x.gt(D(next)) ? D(next) : x;
    total = total.add(hi.sub(lo).mul(D(price)));
  });
  return total;
}

/** The workload's volume quantity of scope si in period p (both volumes), plus any extra. */
function volumeQty(si: number, p: number, extra: Map<string, Decimal>): Decimal {
  let q = Decimal.ZERO;
  for (let v = 0; v < 2; v++) q = q.add(D(`${10 + ((si * 7 + p * 3 + v) % 50)}.25`));
  return q.add(extra.get(`${si}@${p}`) ?? Decimal.ZERO);
}

/** Expected volume price of each period of scope si: F(m + q) − F(m), m the month's quantity before it. */
function expectedVolume(si: number, extra = new Map<string, Decimal>()): Decimal[] {
  const out: Decimal[] = [];
  let m = Decimal.ZERO;
  for (let p = 0; p < PERIODS; p++) {
    if (p === AUGUST) m = Decimal.ZERO;
    const q = volumeQty(si, p, extra);
    out.push(monthPrice(m.add(q)).sub(monthPrice(m)));
    m = m.add(q);
  }
  return out;
}

/** Expected instance price: 1 running instance (NUMBOOL) at 0.10, off-peak 0.05 (22:00-06:00 and weekends). */
function expectedInstance(si: number, p: number): Decimal {
  const running = (si + p) % 5 !== 0;
  const hour = p % 24;
  const offPeak = p >= AUGUST || hour >= 22 || hour < 6;
  return running ? D(offPeak ? "0.05" : "0.10") : Decimal.ZERO;
}

async function priceList(cluster: Cluster, t: Parameters<typeof connect>[0]): Promise<void> {
  const conn = connect(t, cluster.rating.address);
  const hashmap = conn.client(HashmapServiceService);
  await conn.client(RatingServiceService).updateModule({ name: "hashmap", enabled: true });
  const start = new Date("2026-01-01T00:00:00Z");
  const volume = (await hashmap.createService({ name: "volume.size" })).service;
  await hashmap.createMapping(
    CreateMappingRequest.fromPartial({
      serviceId: volume?.serviceId ?? "",
      start,
      force: true,
      tiers: { mode: TierMode.TIER_MODE_GRADUATED, tiers: TIERS.map(([from, price]) => ({ from: String(from), price })) },
    }),
  );
  const instance = (await hashmap.createService({ name: "instance" })).service;
  await hashmap.createMapping(
    CreateMappingRequest.fromPartial({
      serviceId: instance?.serviceId ?? "",
      cost: "0.10",
      start,
      force: true,
      timeOfUse: {
        timeZone: "UTC",
        windows: [
          { from: "22:00", to: "06:00", cost: "0.05" },
          { days: ["sat", "sun"], cost: "0.05" },
        ],
      },
    }),
  );
}

/** The stored price of each period of a scope for a type. */
async function storedPrices(cluster: Cluster, scope: string, type: string): Promise<Decimal[]> {
  const res = await cluster.storageClient.summary({
    begin: BEGIN,
    end: new Date(BEGIN.getTime() + PERIODS * PERIOD * 1000),
    groupBy: ["time"],
    filters: [
      { key: "scope_id", values: [scope] },
      { key: "type", values: [type] },
    ],
    orderBy: [],
    pageSize: 1000,
    pageToken: "",
  });
  const begin = res.columns.indexOf("begin");
  const price = res.columns.indexOf("price");
  const out: Decimal[] = Array.from({ length: PERIODS }, () => Decimal.ZERO);
  for (const row of res.rows) {
    const p = (Date.parse(row.values[begin] ?? "") - BEGIN.getTime()) / (PERIOD * 1000);
    out[p] = D(row.values[price] ?? "0");
  }
  return out;
}

function sum(list: Decimal[]): Decimal {
  return list.reduce((s, x) => s.add(x), Decimal.ZERO);
}

/** Problems between stored and expected per-period prices of one scope. */
async function pricesProblems(cluster: Cluster, si: number, extra?: Map<string, Decimal>): Promise<string[]> {
  const scope = cluster.workload.scopes[si] as string;
  const problems: string[] = [];
  const volume = await storedPrices(cluster, scope, "volume.size");
  const want = expectedVolume(si, extra);
  for (let p = 0; p < PERIODS; p++) {
    if (!(volume[p] as Decimal).eq(want[p] as Decimal)) problems.push(`${scope} volume period ${p}: ${volume[p]}, expected ${want[p]}`);
  }
  const instance = await storedPrices(cluster, scope, "instance");
  for (let p = 0; p < PERIODS; p++) {
    const w = expectedInstance(si, p);
    if (!(instance[p] as Decimal).eq(w)) problems.push(`${scope} instance period ${p}: ${instance[p]}, expected ${w}`);
  }
  return problems;
}

/** Each month's volume bill equals the graduated price of the month's quantity. */
function monthTotals(si: number, extra = new Map<string, Decimal>()): { july: Decimal; august: Decimal } {
  let july = Decimal.ZERO;
  let august = Decimal.ZERO;
  for (let p = 0; p < PERIODS; p++) {
    if (p < AUGUST) july = july.add(volumeQty(si, p, extra));
    else august = august.add(volumeQty(si, p, extra));
  }
  return { july: monthPrice(july), august: monthPrice(august) };
}

describe("tiered and time-of-use prices through the collector", () => {
  it("prices every period by hand's numbers across a month boundary, exactly once through a kill -9", async (t) => {
    const scopes = Array.from({ length: 8 }, (_, i) => `tier-${i}`);
    const cluster = await startCluster(t, {
      workload: { scopes, begin: BEGIN, periods: PERIODS },
      collectors: 0,
      ttlSeconds: 2,
      sections: { collect: { batch_periods: 4, batch_scopes: 2 }, orchestrator: { max_workers: 8 } },
    });
    await priceList(cluster, t);
    await cluster.addCollector();
    await cluster.addCollector();
    await eventually(async () => (await periodsDone(cluster)) >= (scopes.length * PERIODS) / 4, 120_000, "a quarter of the work done");
    await cluster.collectors[0]?.stop("SIGKILL");
    const atKill = await periodsDone(cluster);
    assert.ok(atKill < scopes.length * PERIODS, `killed with work left (${atKill} of ${scopes.length * PERIODS} periods done)`);
    await eventually(async () => (await scopesDone(cluster)) === scopes.length, 180_000, "every scope rated to the end");

    assert.deepEqual(await verifyExactlyOnce(cluster), [], "no duplicate, no gap");
    const problems: string[] = [];
    for (let si = 0; si < scopes.length; si++) problems.push(...(await pricesProblems(cluster, si)));
    assert.deepEqual(problems, []);
    for (let si = 0; si < scopes.length; si++) {
      const stored = await storedPrices(cluster, scopes[si] as string, "volume.size");
      const { july, august } = monthTotals(si);
      assert.ok(sum(stored.slice(0, AUGUST)).eq(july), `${scopes[si]} July: ${sum(stored.slice(0, AUGUST))}, expected ${july}`);
      assert.ok(sum(stored.slice(AUGUST)).eq(august), `${scopes[si]} August: ${sum(stored.slice(AUGUST))}, expected ${august}`);
    }
    // The numbers themselves, for scope tier-0: July holds 1,472.00 GiB-hours → 500 × 0.10 + 500 × 0.05 + 472 × 0.02 = 84.44.
    const q0 = sum(Array.from({ length: AUGUST }, (_, p) => volumeQty(0, p, new Map())));
    assert.ok(q0.eq(D("1472.00")), `tier-0 July quantity ${q0}`);
    assert.ok(monthTotals(0).july.eq(D("84.44")));
  });

  it("re-rating one period re-rates the later periods of its month, in order, with the new month-to-date", async (t) => {
    const cluster = await startCluster(t, {
      workload: { scopes: ["rerate"], begin: BEGIN, periods: PERIODS },
      collectors: 0,
      ttlSeconds: 2,
      sections: { collect: { batch_periods: 6 } },
    });
    await priceList(cluster, t);
    const first = await cluster.addCollector();
    await eventually(async () => (await scopesDone(cluster)) === 1, 120_000, "rated to the end");
    assert.deepEqual(await pricesProblems(cluster, 0), []);
    const before = await storedPrices(cluster, "rerate", "volume.size");

    // The source corrects period 3: one volume was 400 GiB larger. A task over that period alone.
    await first.stop("SIGTERM");
    const usage = join(cluster.dir, "usage.jsonl");
    const p3 = new Date(BEGIN.getTime() + 3 * PERIOD * 1000).toISOString();
    const lines = readFileSync(usage, "utf8")
      .split("\n")
      .map((line) => {
        if (line === "") return line;
        const r = JSON.parse(line) as { metric: string; begin: string; qty: string; groupby: { id: string } };
        if (r.metric === "volume.size" && r.begin === p3 && r.groupby.id === "vol-0-0") r.qty = D(r.qty).add(D(400)).toString();
        return JSON.stringify(r);
      });
    writeFileSync(usage, lines.join("\n"));
    const extra = new Map([["0@3", D(400)]]);
    await cluster.addCollector();
    const reprocess = connect(t, cluster.storage.address).client(ReprocessServiceService);
    const { tasks } = await reprocess.createTask({
      scopeIds: ["rerate"],
      allScopes: false,
      begin: new Date(p3),
      end: new Date(BEGIN.getTime() + 4 * PERIOD * 1000),
      reason: "volume size corrected",
    });
    // Created as asked; its first re-rated period is priced by tiers, so storage moves its end on to the end of
    // July, the billing month of the period, and the task re-rates the rest of the month.
    assert.equal(tasks[0]?.end?.toISOString(), new Date(BEGIN.getTime() + 4 * PERIOD * 1000).toISOString());
    await eventually(
      async () =>
        (await reprocess.listTasks({ scopeIds: [], unfinishedOnly: true, ascending: true, pageSize: 10, pageToken: "" })).tasks.length ===
        0,
      120_000,
      "task finished",
    );
    const [done] = (
      await reprocess.listTasks({ scopeIds: ["rerate"], unfinishedOnly: false, ascending: true, pageSize: 10, pageToken: "" })
    ).tasks;
    assert.equal(done?.end?.toISOString(), "2026-08-01T00:00:00.000Z");
    assert.equal(done?.requestedEnd?.toISOString(), new Date(BEGIN.getTime() + 4 * PERIOD * 1000).toISOString());
    assert.equal(done?.periodsTotal, "21");
    assert.equal(done?.periodsDone, "21");
    assert.deepEqual(await pricesProblems(cluster, 0, extra), []);
    const after = await storedPrices(cluster, "rerate", "volume.size");
    // Periods before 3 and the whole of August keep their prices; period 3 and later July periods changed.
    assert.deepEqual(after.slice(0, 3).map(String), before.slice(0, 3).map(String));
    assert.deepEqual(after.slice(AUGUST).map(String), before.slice(AUGUST).map(String));
    const changed = after.slice(4, AUGUST).filter((x, i) => !x.eq(before[i + 4] as Decimal)).length;
    assert.ok(changed > 0, "later July periods were re-priced with the new month-to-date");
    assert.ok(sum(after.slice(0, AUGUST)).eq(monthTotals(0, extra).july), "July bills F(July's corrected quantity)");
  });
});
