/**
 * What-if over stored history, end to end: real storage and rating
 * processes, periods rated under one price list and committed, the price
 * list changed, and SimulationService/Simulate repricing the stored window:
 * billed, simulated and delta per group as computed by hand here, the same
 * bill a real re-rate commits to a copy of the storage, and nothing written
 * anywhere.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { status } from "@grpc/grpc-js";
import Database from "better-sqlite3";
import type { DataFrame } from "../../libs/gen/ratemesh/v1/common.js";
import { PriceListContent, PriceListServiceService } from "../../libs/gen/ratemesh/v1/pricelist.js";
import {
  CreateMappingRequest,
  HashmapServiceService,
  MappingType,
  RatingServiceService,
  TierMode,
} from "../../libs/gen/ratemesh/v1/rating.js";
import {
  SimulateRequest,
  type SimulateResponse,
  type SimulationRow,
  SimulationServiceService,
} from "../../libs/gen/ratemesh/v1/simulation.js";
import { StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import type { Client } from "../../libs/grpc/client.js";
import { Decimal } from "../../libs/money/decimal.js";
import { runCli } from "../support/cli.js";
import { connect, startService, tempDir, writeConfig } from "../support/mesh.js";
import { rejectsWith } from "../support/rating.js";

const HOUR = 3600_000;
const BEGIN = new Date("2026-11-01T00:00:00Z");
const END = new Date(BEGIN.getTime() + 3 * HOUR);
const YEAR_START = new Date("2026-01-01T00:00:00Z");

/** Raw usage, per scope and hour: 2 instances and 10 GiB for p-a, 1 instance and 5 GiB for p-b. */
function usage(scope: string, hour: number): DataFrame {
  const big = scope === "p-a";
  const begin = new Date(BEGIN.getTime() + hour * HOUR);
  return {
    scopeId: scope,
    begin,
    end: new Date(begin.getTime() + HOUR),
    points: [
      {
        type: "instance",
        unit: "instance",
        qty: big ? "2" : "1",
        price: "0",
        groupby: { id: `vm-${scope}`, flavor: big ? "m1.small" : "m1.large" },
        metadata: {},
      },
      { type: "volume", unit: "GiB", qty: big ? "10" : "5", price: "0", groupby: { id: `vol-${scope}` }, metadata: {} },
    ],
  };
}

const SCOPES = ["p-a", "p-b"];
const FRAMES = SCOPES.flatMap((s) => [0, 1, 2].map((h) => usage(s, h)));

interface Rig {
  dir: string;
  ratingAddress: string;
  storage: Client<typeof StorageServiceService>;
  copy: Client<typeof StorageServiceService>;
  rating: Client<typeof RatingServiceService>;
  hashmap: Client<typeof HashmapServiceService>;
  priceLists: Client<typeof PriceListServiceService>;
  simulation: Client<typeof SimulationServiceService>;
}

async function startRig(t: TestContext): Promise<Rig> {
  const dir = tempDir(t);
  const sections = {
    storage: { url: join(dir, "storage.sqlite"), listen: "127.0.0.1:0" },
    rating: { url: join(dir, "rating.sqlite"), listen: "127.0.0.1:0", simulation_max_groups: 6 },
    server: { grace_period: "2s", readiness_interval: "0.2s" },
  };
  const configFile = writeConfig(dir, sections);
  const copyFile = writeConfig(dir, { ...sections, storage: { url: join(dir, "copy.sqlite"), listen: "127.0.0.1:0" } }, "copy.conf");
  const [storage, copy] = await Promise.all([
    startService(t, { service: "storage", configFile }),
    startService(t, { service: "storage", configFile: copyFile }),
  ]);
  const rating = await startService(t, { service: "rating", configFile, env: { RATEMESH_STORAGE__ENDPOINT: storage.address } });
  const r = connect(t, rating.address);
  return {
    dir,
    ratingAddress: rating.address,
    storage: connect(t, storage.address).client(StorageServiceService),
    copy: connect(t, copy.address).client(StorageServiceService),
    rating: r.client(RatingServiceService),
    hashmap: r.client(HashmapServiceService),
    priceLists: r.client(PriceListServiceService),
    simulation: r.client(SimulationServiceService),
  };
}

/** A flat price per unit for a type, valid in [start, end). */
async function flat(rig: Rig, name: string, cost: string, start: Date, end?: Date): Promise<string> {
  const services = await rig.hashmap.listServices({ name, pageSize: 100, pageToken: "" });
  let id = services.services.find((s) => s.name === name)?.serviceId;
  if (id === undefined) id = (await rig.hashmap.createService({ name })).service?.serviceId ?? "";
  const { mapping } = await rig.hashmap.createMapping(
    CreateMappingRequest.fromPartial({ serviceId: id, type: MappingType.MAPPING_TYPE_FLAT, cost, start, end, force: true }),
  );
  return mapping?.mappingId ?? "";
}

/** Prices the raw usage with what rating has in force, and commits each period to a storage, in order. */
async function rateAndCommit(rig: Rig, storage: Client<typeof StorageServiceService>, frames = FRAMES): Promise<void> {
  const rated = await rig.rating.rate({ frames });
  const expected = new Map<string, Date>();
  for (const frame of rated.frames) {
    await storage.commitPeriod({
      frame,
      expectedState: expected.get(frame.scopeId),
      fencingToken: "1",
      fencingEpoch: "0",
      owner: "test",
      reprocessTaskId: "",
      scopeKey: "project_id",
      fetcher: "",
      collector: "",
      unpricedPoints: "0",
    });
    expected.set(frame.scopeId, frame.end as Date);
  }
}

async function simulate(rig: Rig, req: Partial<SimulateRequest>): Promise<SimulateResponse[]> {
  const out: SimulateResponse[] = [];
  for await (const m of rig.simulation.simulate(SimulateRequest.fromPartial({ begin: BEGIN, end: END, ...req }))) out.push(m);
  return out;
}

const rowsOf = (messages: SimulateResponse[]): SimulationRow[] => messages.flatMap((m) => m.rows);
const byGroup = (rows: SimulationRow[]) =>
  Object.fromEntries(rows.map((r) => [r.groups.join("/"), { billed: r.billed, simulated: r.simulated, delta: r.delta, qty: r.qty }]));

/** Row counts of every table of a SQLite file. */
function rowCounts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>;
    return Object.fromEntries(
      tables.map(({ name }) => [name, (db.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n]),
    );
  } finally {
    db.close();
  }
}

describe("SimulationService/Simulate", () => {
  it("reprices stored history under the price list in force, equal to a re-rate on a copy, writing nothing", async (t) => {
    const rig = await startRig(t);
    await rig.rating.updateModule({ name: "hashmap", enabled: true, priority: 10 });
    // Billed under: instance 1.25 per instance-hour, volume 0.10 per GiB-hour.
    const instanceOld = await flat(rig, "instance", "1.25", YEAR_START);
    const volumeOld = await flat(rig, "volume", "0.10", YEAR_START);
    await rateAndCommit(rig, rig.storage);

    // Nothing changed yet: the simulation bills what was billed.
    const same = await simulate(rig, { groupBy: ["scope_id", "type"] });
    assert.equal(same.at(-1)?.totals?.billed, "15.75");
    assert.equal(same.at(-1)?.totals?.delta, "0");

    // The price list is corrected: from 02:00 an instance costs 2; a GiB costs 0.12 all along.
    await rig.hashmap.deleteMapping({ mappingId: instanceOld });
    await rig.hashmap.deleteMapping({ mappingId: volumeOld });
    await flat(rig, "instance", "1.25", YEAR_START, new Date(BEGIN.getTime() + 2 * HOUR));
    await flat(rig, "instance", "2", new Date(BEGIN.getTime() + 2 * HOUR));
    await flat(rig, "volume", "0.12", YEAR_START);

    const storageFile = join(rig.dir, "storage.sqlite");
    const ratingFile = join(rig.dir, "rating.sqlite");
    const rowsBefore = { storage: rowCounts(storageFile), rating: rowCounts(ratingFile) };
    const totalBefore = await rig.storage.total({ begin: BEGIN, end: END, filters: [] });

    const messages = await simulate(rig, { groupBy: ["scope_id", "type"] });
    // By hand. p-a instance: 2 × 1.25 at 00:00 and 01:00, 2 × 2 at 02:00 = 2.5 + 2.5 + 4 = 9, billed 3 × 2.5 = 7.5.
    // p-a volume: 3 × 10 × 0.12 = 3.6, billed 3 × 10 × 0.10 = 3. p-b instance: 1.25 + 1.25 + 2 = 4.5, billed 3.75.
    // p-b volume: 3 × 5 × 0.12 = 1.8, billed 1.5.
    assert.deepEqual(byGroup(rowsOf(messages)), {
      "p-a/instance": { qty: "6", billed: "7.5", simulated: "9", delta: "1.5" },
      "p-a/volume": { qty: "30", billed: "3", simulated: "3.6", delta: "0.6" },
      "p-b/instance": { qty: "3", billed: "3.75", simulated: "4.5", delta: "0.75" },
      "p-b/volume": { qty: "15", billed: "1.5", simulated: "1.8", delta: "0.3" },
    });
    const totals = messages.at(-1)?.totals;
    assert.deepEqual(
      { billed: totals?.billed, simulated: totals?.simulated, delta: totals?.delta, points: totals?.points, frames: totals?.frames },
      { billed: "15.75", simulated: "18.9", delta: "3.15", points: "12", frames: "6" },
    );
    assert.equal(totals?.priceList, "in force");
    assert.equal(totals?.unpricedPoints, "0");

    await t.test("a time bucket, filters and scopes narrow and split the groups", async () => {
      const hours = rowsOf(await simulate(rig, { groupBy: ["time"], scopeIds: ["p-a"], filters: [{ key: "type", values: ["instance"] }] }));
      assert.deepEqual(
        hours.map((r) => [r.begin?.toISOString(), r.billed, r.simulated, r.delta]),
        [
          ["2026-11-01T00:00:00.000Z", "2.5", "2.5", "0"],
          ["2026-11-01T01:00:00.000Z", "2.5", "2.5", "0"],
          ["2026-11-01T02:00:00.000Z", "2.5", "4", "1.5"],
        ],
      );
      const flavors = rowsOf(await simulate(rig, { groupBy: ["flavor"], filters: [{ key: "type", values: ["instance"] }] }));
      assert.deepEqual(byGroup(flavors), {
        "m1.large": { qty: "3", billed: "3.75", simulated: "4.5", delta: "0.75" },
        "m1.small": { qty: "6", billed: "7.5", simulated: "9", delta: "1.5" },
      });
      const onlyB = await simulate(rig, { scopeIds: ["p-b"] });
      assert.deepEqual(
        rowsOf(onlyB).map((r) => [r.groups, r.billed, r.simulated, r.delta]),
        [[[], "5.25", "6.3", "1.05"]],
      );
    });

    await t.test("a real re-rate, committed to a copy of the storage, stores what the simulation said", async () => {
      await rateAndCommit(rig, rig.copy);
      const summary = await rig.copy.summary({
        begin: BEGIN,
        end: END,
        groupBy: ["scope_id", "type"],
        filters: [],
        orderBy: [],
        pageSize: 100,
        pageToken: "",
      });
      const col = (name: string) => summary.columns.indexOf(name);
      const stored = Object.fromEntries(
        summary.rows.map((r) => [`${r.values[col("scope_id")]}/${r.values[col("type")]}`, Decimal.parse(r.values[col("price")] ?? "")]),
      );
      for (const row of rowsOf(messages)) {
        const key = row.groups.join("/");
        assert.ok(stored[key]?.eq(Decimal.parse(row.simulated)), `${key}: re-rated ${stored[key]}, simulated ${row.simulated}`);
      }
      assert.equal(Object.keys(stored).length, 4);
    });

    await t.test("nothing was written: every table of storage and rating has the rows it had", async () => {
      assert.deepEqual({ storage: rowCounts(storageFile), rating: rowCounts(ratingFile) }, rowsBefore);
      assert.deepEqual(await rig.storage.total({ begin: BEGIN, end: END, filters: [] }), totalBefore);
    });

    await t.test("ratemesh simulate prints old, new and delta by project and type", async () => {
      const env = { RATEMESH_RATING_ENDPOINT: rig.ratingAddress };
      const window = ["--begin", BEGIN.toISOString(), "--end", END.toISOString()];
      const csv = await runCli(["simulate", ...window, "--format", "csv"], { env });
      assert.equal(csv.code, 0, csv.stderr);
      const w = `${BEGIN.toISOString()},${END.toISOString()}`;
      assert.deepEqual(csv.stdout.trim().split("\n"), [
        "begin,end,scope_id,type,qty,old,new,delta,points",
        `${w},p-a,instance,6,7.5,9,1.5,3`,
        `${w},p-a,volume,30,3,3.6,0.6,3`,
        `${w},p-b,instance,3,3.75,4.5,0.75,3`,
        `${w},p-b,volume,15,1.5,1.8,0.3,3`,
      ]);
      const table = await runCli(["simulate", ...window, "--scope", "p-b"], { env });
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /under the price list in force/);
      assert.match(table.stdout, /total: old 5\.25, new 6\.30, delta 1\.05 \(6 points repriced, nothing written\)/);
      const version = await runCli(["simulate", ...window, "--price-version", "999"], { env });
      assert.notEqual(version.code, 0);
      assert.match(version.stderr, /price-list version "999" not found/);
    });

    await t.test("bad requests are INVALID_ARGUMENT naming the field; drafts are not available yet", async () => {
      await rejectsWith(simulate(rig, { begin: undefined }), status.INVALID_ARGUMENT, /begin: is required/);
      await rejectsWith(simulate(rig, { end: BEGIN }), status.INVALID_ARGUMENT, /end: must be after begin/);
      await rejectsWith(
        simulate(rig, { end: new Date(BEGIN.getTime() + 401 * 24 * HOUR) }),
        status.INVALID_ARGUMENT,
        /end: the window is 401 days long; a simulation covers at most 400 days/,
      );
      await rejectsWith(simulate(rig, { groupBy: ["time", "time-d"] }), status.INVALID_ARGUMENT, /group_by\[1\]: only one time bucket/);
      await rejectsWith(
        simulate(rig, { groupBy: ["scope_id", "type", "time"] }),
        status.INVALID_ARGUMENT,
        /group_by: the simulation makes more than 6 groups/,
      );
      await rejectsWith(
        simulate(rig, { filters: [{ key: "type", values: [] }] }),
        status.INVALID_ARGUMENT,
        /filters\[0\]\.values: give at least one value/,
      );
      await rejectsWith(simulate(rig, { priceList: { $case: "draft", value: "nope" } }), status.NOT_FOUND, /draft "nope" not found/);
      await rejectsWith(simulate(rig, { priceList: { $case: "version", value: "999" } }), status.NOT_FOUND, /version "999" not found/);
      await rejectsWith(simulate(rig, { priceList: { $case: "version", value: "0" } }), status.INVALID_ARGUMENT, /^version: /);
    });

    await t.test("under a draft, then the version it is published as: 3 per instance-hour, 0.20 per GiB-hour", async () => {
      const flat = (cost: string) => ({
        value: "",
        type: MappingType.MAPPING_TYPE_FLAT,
        cost,
        group: "",
        tenant: "",
        name: "",
        description: "",
      });
      const content = PriceListContent.fromPartial({
        services: [
          { name: "instance", mappings: [flat("3")], thresholds: [], fields: [] },
          { name: "volume", mappings: [flat("0.20")], thresholds: [], fields: [] },
        ],
      });
      await rig.priceLists.createDraft({ name: "spring", content });
      // By hand: p-a instance 6 × 3 = 18, volume 30 × 0.20 = 6; p-b instance 3 × 3 = 9, volume 15 × 0.20 = 3.
      const expected = {
        "p-a/instance": { qty: "6", billed: "7.5", simulated: "18", delta: "10.5" },
        "p-a/volume": { qty: "30", billed: "3", simulated: "6", delta: "3" },
        "p-b/instance": { qty: "3", billed: "3.75", simulated: "9", delta: "5.25" },
        "p-b/volume": { qty: "15", billed: "1.5", simulated: "3", delta: "1.5" },
      };
      const draft = await simulate(rig, { groupBy: ["scope_id", "type"], priceList: { $case: "draft", value: "spring" } });
      assert.deepEqual(byGroup(rowsOf(draft)), expected);
      assert.deepEqual(
        [draft.at(-1)?.totals?.priceList, draft.at(-1)?.totals?.simulated, draft.at(-1)?.totals?.delta],
        ["draft spring", "36", "20.25"],
      );

      const { version } = await rig.priceLists.publishDraft({ name: "spring", force: false });
      const published = await simulate(rig, {
        groupBy: ["scope_id", "type"],
        priceList: { $case: "version", value: String(version?.number) },
      });
      assert.deepEqual(byGroup(rowsOf(published)), expected);
      assert.equal(published.at(-1)?.totals?.priceList, `version ${version?.number}`);
    });
  });

  it("prices tiered mappings with each period's month-to-date, from the month's start even when the window starts later", async (t) => {
    const rig = await startRig(t);
    await rig.rating.updateModule({ name: "hashmap", enabled: true, priority: 10 });
    // Billed at a flat 0.10 per GB-hour: 600 GB each hour, 00:00 to 03:00.
    const frames = [0, 1, 2].map((h) => {
      const begin = new Date(BEGIN.getTime() + h * HOUR);
      const points = [{ type: "storage.gb", unit: "GB", qty: "600", price: "0", groupby: { id: "bucket-1" }, metadata: {} }];
      return { scopeId: "t-a", begin, end: new Date(begin.getTime() + HOUR), points };
    });
    const plain = await flat(rig, "storage.gb", "0.10", YEAR_START);
    await rateAndCommit(rig, rig.storage, frames);
    // Then graduated tiers over the month: 0.10 up to 1000 GB, 0.08 above.
    await rig.hashmap.deleteMapping({ mappingId: plain });
    const services = await rig.hashmap.listServices({ name: "storage.gb", pageSize: 1, pageToken: "" });
    await rig.hashmap.createMapping(
      CreateMappingRequest.fromPartial({
        serviceId: services.services[0]?.serviceId ?? "",
        type: MappingType.MAPPING_TYPE_FLAT,
        cost: "0",
        tiers: {
          mode: TierMode.TIER_MODE_GRADUATED,
          tiers: [
            { from: "0", price: "0.10" },
            { from: "1000", price: "0.08" },
          ],
        },
        start: YEAR_START,
        force: true,
      }),
    );
    // The window starts at 01:00: the 600 GB of 00:00 are already in the month.
    // 01:00: units 600 to 1200 of the month: 400 × 0.10 + 200 × 0.08 = 56 (billed 60).
    // 02:00: units 1200 to 1800: 600 × 0.08 = 48 (billed 60).
    const hours = await simulate(rig, { begin: new Date(BEGIN.getTime() + HOUR), groupBy: ["time"] });
    assert.deepEqual(
      rowsOf(hours).map((r) => [r.begin?.toISOString(), r.billed, r.simulated, r.delta]),
      [
        ["2026-11-01T01:00:00.000Z", "60", "56", "-4"],
        ["2026-11-01T02:00:00.000Z", "60", "48", "-12"],
      ],
    );
    assert.deepEqual(
      [hours.at(-1)?.totals?.billed, hours.at(-1)?.totals?.simulated, hours.at(-1)?.totals?.delta, hours.at(-1)?.totals?.points],
      ["120", "104", "-16", "2"],
    );
  });
});
