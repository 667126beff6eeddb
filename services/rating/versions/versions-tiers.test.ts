/**
 * Versioned price lists with tiered and time-of-use mappings, over gRPC
 * against a real rating process (SQLite and PostgreSQL): a draft copied from
 * what is in force keeps a graduated tiered mapping and a time-of-use one;
 * bad tiers and windows in a draft are refused naming their path; a change
 * of a tier shows in the diff; publishing it from a future date E, Quote
 * with a month-to-date gives the old tiered price before E and the new one
 * from E, and the time-of-use mapping still prices by the hour; the pricer
 * of the version and of a draft price a tier crossing with the month-to-date
 * the caller gives, a volume draft too. Every bill is worked out by hand here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import type { DataPoint } from "../../../libs/gen/ratemesh/v1/common.js";
import { PriceListChangeType, type PriceListContent, PriceListServiceService } from "../../../libs/gen/ratemesh/v1/pricelist.js";
import { CreateMappingRequest, ListMappingsRequest, type MappingTiers, TierMode } from "../../../libs/gen/ratemesh/v1/rating.js";
import { connect } from "../../../test/support/mesh.js";
import { fromNow, HOUR } from "../../../test/support/price-lists.js";
import { BACKENDS, type Backend, ratingDatabase, rejectsWith, startRating } from "../../../test/support/rating.js";
import type { RatingFrame } from "../domain.js";
import { loadSnapshot } from "../state.js";
import { PostgresRatingDatabase } from "../store/postgres.js";
import type { SqlDatabase } from "../store/sql.js";
import { SqliteRatingDatabase } from "../store/sqlite.js";
import { PriceListPricers } from "./pricer.js";

const PAST = new Date("2026-01-01T00:00:00Z");
const tiers = (second: string): MappingTiers => ({
  mode: TierMode.TIER_MODE_GRADUATED,
  tiers: [
    { from: "0", price: "0.10" },
    { from: "1000", price: second },
  ],
});
// ip: 0.10 per unit, 0.05 from 22:00 to 06:00 and all weekend (UTC).
const TOU = {
  timeZone: "UTC",
  windows: [
    { days: [], from: "22:00", to: "06:00", cost: "0.05" },
    { days: ["sun", "sat"], from: "00:00", to: "00:00", cost: "0.05" },
  ],
};
// 2030-01-07 is a Monday, 2030-01-05 a Saturday: long after any E of this test.
const MONDAY_NOON = new Date("2030-01-07T12:00:00Z");
const MONDAY_NIGHT = new Date("2030-01-07T23:00:00Z");
const SATURDAY_NOON = new Date("2030-01-05T12:00:00Z");

function gb(qty: string): DataPoint {
  return { type: "storage.gb", unit: "GB", qty, price: "0", groupby: {}, metadata: {} };
}

function ip(qty: string): DataPoint {
  return { type: "ip", unit: "ip", qty, price: "0", groupby: {}, metadata: {} };
}

async function openDb(db: { backend: Backend; url: string }): Promise<SqlDatabase> {
  return db.backend === "postgresql" ? PostgresRatingDatabase.open(db.url) : new SqliteRatingDatabase(db.url);
}

/** The draft's service named `name`. */
function service(c: PriceListContent | undefined, name: string) {
  const s = c?.services.find((x) => x.name === name);
  assert.ok(s !== undefined, `service ${name} in the content`);
  return s;
}

for (const backend of BACKENDS) {
  describe(`versioned price lists with tiers and time of use on ${backend}`, () => {
    it("a copy keeps them, the diff shows a tier's change, publishing from E changes the tiered price from E only", async (t) => {
      const db = await ratingDatabase(t, backend);
      const [r] = await startRating(t, backend, { sections: { rating: { backend: db.backend, url: db.url } } });
      assert.ok(r !== undefined);
      const { rating, hashmap } = r.clients;
      const lists = connect(t, r.proc.address).client(PriceListServiceService);

      // In force: storage.gb tiered 0:0.10, 1000:0.09 (graduated); ip 0.10 with its time-of-use windows.
      const storage = (await hashmap.createService({ name: "storage.gb" })).service?.serviceId ?? "";
      const ipService = (await hashmap.createService({ name: "ip" })).service?.serviceId ?? "";
      await hashmap.createMapping(CreateMappingRequest.fromPartial({ serviceId: storage, tiers: tiers("0.09"), start: PAST, force: true }));
      const timed = (
        await hashmap.createMapping(
          CreateMappingRequest.fromPartial({ serviceId: ipService, cost: "0.10", timeOfUse: TOU, start: PAST, force: true }),
        )
      ).mapping;
      await rating.updateModule({ name: "hashmap", enabled: true, priority: 10 });

      // A copy of what is in force keeps both, as GetDraft shows.
      await lists.createDraft({ name: "tiers", content: undefined });
      const copy = (await lists.getDraft({ name: "tiers" })).draft?.content;
      const [tiered] = service(copy, "storage.gb").mappings;
      assert.deepEqual([tiered?.cost, tiered?.tiers, tiered?.timeOfUse], ["0", tiers("0.09"), undefined]);
      const [windowed] = service(copy, "ip").mappings;
      assert.deepEqual([windowed?.cost, windowed?.tiers, windowed?.timeOfUse], ["0.10", undefined, timed?.timeOfUse]);
      assert.deepEqual(windowed?.timeOfUse?.windows[1]?.days, ["sun", "sat"]);
      assert.deepEqual((await lists.diffDraft({ name: "tiers", at: undefined })).changes, [], "an untouched copy changes nothing");
      assert.ok(copy !== undefined && tiered !== undefined);

      // Bad tiers and windows are refused as the hashmap API refuses them, the path named.
      const bad = async (change: (c: PriceListContent) => void, field: string | RegExp) => {
        const c = structuredClone(copy);
        change(c);
        await rejectsWith(lists.updateDraft({ name: "tiers", content: c }), status.INVALID_ARGUMENT, field);
      };
      const at = (c: PriceListContent, name: string) => service(c, name).mappings[0] as NonNullable<typeof tiered>;
      const storageAt = `content.services[${copy.services.findIndex((s) => s.name === "storage.gb")}].mappings[0]`;
      const ipAt = `content.services[${copy.services.findIndex((s) => s.name === "ip")}].mappings[0]`;
      await bad((c) => {
        at(c, "storage.gb").tiers = {
          mode: TierMode.TIER_MODE_GRADUATED,
          tiers: [
            { from: "0", price: "1" },
            { from: "0", price: "2" },
          ],
        };
      }, `${storageAt}.tiers.tiers[1].from`);
      await bad((c) => {
        at(c, "storage.gb").tiers = {
          mode: TierMode.TIER_MODE_GRADUATED,
          tiers: [
            { from: "0", price: "1" },
            { from: "0", price: "2" },
          ],
        };
      }, /^content\.services\[\d\]\.mappings\[0\]\.tiers\.tiers\[1\]\.from: 0 is not above the previous tier's 0$/);
      await bad((c) => {
        at(c, "storage.gb").tiers = { mode: TierMode.TIER_MODE_GRADUATED, tiers: [{ from: "0", price: "ten" }] };
      }, `${storageAt}.tiers.tiers[0].price`);
      await bad((c) => {
        at(c, "storage.gb").timeOfUse = TOU;
      }, `${storageAt}.time_of_use`);
      await bad((c) => {
        at(c, "ip").timeOfUse = { timeZone: "Mars/Olympus", windows: [{ days: [], from: "", to: "", cost: "1" }] };
      }, `${ipAt}.time_of_use.time_zone`);
      await bad((c) => {
        at(c, "ip").timeOfUse = { timeZone: "", windows: [{ days: [], from: "25:00", to: "06:00", cost: "1" }] };
      }, `${ipAt}.time_of_use.windows[0].from`);
      await bad(
        (c) => {
          service(c, "ip").fields.push({
            name: "kind",
            mappings: [{ ...at(c, "ip"), value: "v4", timeOfUse: undefined, tiers: tiers("0.08") }],
            thresholds: [],
          });
        },
        `${ipAt.replace(".mappings[0]", ".fields[0].mappings[0]")}.tiers`,
      );

      // The second tier from 0.09 to 0.08: the diff says so.
      const changed = structuredClone(copy);
      at(changed, "storage.gb").tiers = tiers("0.08");
      await lists.updateDraft({ name: "tiers", content: changed });
      assert.deepEqual(
        (await lists.diffDraft({ name: "tiers", at: undefined })).changes.map((c) => [c.kind, c.key, c.change, c.old, c.new]),
        [
          [
            "mapping",
            "storage.gb",
            PriceListChangeType.PRICE_LIST_CHANGE_TYPE_CHANGED,
            "flat 0 tiers graduated 0:0.10, 1000:0.09",
            "flat 0 tiers graduated 0:0.10, 1000:0.08",
          ],
        ],
      );

      // The draft's pricer, before publishing: month-to-date 990, 30 GB → 10 × 0.10 + 20 × 0.08 = 1.00 + 1.60 = 2.60.
      const local = await openDb(db);
      t.after(() => local.close());
      const pricers = new PriceListPricers(local, { current: await loadSnapshot(local), caughtUp: async () => {} }, { frameTimeout: 2 });
      const frame = (points: DataPoint[], when: Date, monthToDate?: string): RatingFrame => ({
        scopeId: "acme",
        at: when,
        points: points.map((p) => ({ ...p, groupby: {}, metadata: {} })),
        ...(monthToDate === undefined ? {} : { monthToDate: new Map([["storage.gb", monthToDate]]) }),
      });
      const draftPricer = await pricers.forDraft("tiers");
      const crossing = frame([gb("30")], MONDAY_NOON, "990");
      assert.equal(draftPricer.priceFrame(crossing), 0);
      assert.equal(crossing.points[0]?.price, "2.60");

      // Published from E, an hour from now.
      const effective = fromNow(HOUR);
      const { version } = await lists.publishDraft({ name: "tiers", effective, force: false });
      assert.deepEqual([version?.number, version?.summary], ["1", "1 changed"]);
      assert.deepEqual(service(version?.content, "storage.gb").mappings[0]?.tiers, tiers("0.08"));
      assert.deepEqual(service(version?.content, "ip").mappings[0]?.timeOfUse, timed?.timeOfUse);
      const ipRows = (await hashmap.listMappings(ListMappingsRequest.fromPartial({ serviceId: ipService }))).mappings;
      assert.deepEqual(
        ipRows.map((m) => [m.mappingId, m.end]),
        [[timed?.mappingId, undefined]],
        "the unchanged time-of-use mapping is kept as it is, not ended and made again",
      );

      // Quote with the month-to-date: before E 10 × 0.10 + 20 × 0.09 = 1.00 + 1.80 = 2.80; from E 2.60.
      const quote = (points: DataPoint[], when: Date, monthToDate?: string) =>
        rating.quote({
          points,
          scopeId: "acme",
          at: when,
          monthToDate: monthToDate === undefined ? undefined : { qty: { "storage.gb": monthToDate } },
        });
      const before = await quote([gb("30")], new Date(effective.getTime() - 1000), "990");
      assert.deepEqual([before.total, before.priceListVersion], ["2.80", "0"]);
      const after = await quote([gb("30")], effective, "990");
      assert.deepEqual([after.total, after.priceListVersion], ["2.60", "1"]);
      // Past the boundary already (1200 before): 30 × 0.08 = 2.40; none before: 30 × 0.10 = 3.00.
      assert.equal((await quote([gb("30")], effective, "1200")).total, "2.40");
      assert.equal((await quote([gb("30")], effective)).total, "3.00");

      // The time-of-use mapping still prices by the hour after E: 10 × 0.10 = 1.00 on a Monday noon, 10 × 0.05 = 0.50 at night and on Saturday.
      assert.equal((await quote([ip("10")], MONDAY_NOON)).total, "1.00");
      assert.equal((await quote([ip("10")], MONDAY_NIGHT)).total, "0.50");
      assert.equal((await quote([ip("10")], SATURDAY_NOON)).total, "0.50");

      // The pricer of version 1 prices as Quote from E, with the month-to-date the caller gives.
      const pricer = await pricers.forVersion(1);
      const priced = (points: DataPoint[], when: Date, monthToDate?: string) => {
        const f = frame(points, when, monthToDate);
        assert.equal(pricer.priceFrame(f), 0);
        return f.points.map((p) => p.price);
      };
      assert.deepEqual(priced([gb("30")], MONDAY_NOON, "990"), ["2.60"]);
      assert.deepEqual(priced([gb("30")], MONDAY_NOON, "1200"), ["2.40"]);
      assert.deepEqual(priced([gb("30")], MONDAY_NOON), ["3.00"]);
      // Two points of one frame, as Rate prices them: the second starts where the first ended (1020), 30 × 0.08 = 2.40.
      assert.deepEqual(priced([gb("30"), gb("30")], MONDAY_NOON, "990"), ["2.60", "2.40"]);
      assert.deepEqual(priced([ip("10")], MONDAY_NOON), ["1.00"]);
      assert.deepEqual(priced([ip("10")], MONDAY_NIGHT), ["0.50"]);
      assert.deepEqual(priced([ip("10")], SATURDAY_NOON), ["0.50"]);
      // A volume draft, diffed at E against what version 1 put in force there, and priced by its pricer:
      // 990 before, 30 now → 1020 × 0.08 − 990 × 0.10 = 81.60 − 99.00 = −17.40 (the month re-priced at 0.08).
      const volume = structuredClone(changed);
      at(volume, "storage.gb").tiers = { ...tiers("0.08"), mode: TierMode.TIER_MODE_VOLUME };
      await lists.createDraft({ name: "volume", content: volume });
      assert.deepEqual(
        (await lists.diffDraft({ name: "volume", at: effective })).changes.map((c) => [c.key, c.old, c.new]),
        [["storage.gb", "flat 0 tiers graduated 0:0.10, 1000:0.08", "flat 0 tiers volume 0:0.10, 1000:0.08"]],
      );
      const volumeFrame = frame([gb("30")], MONDAY_NOON, "990");
      (await pricers.forDraft("volume")).priceFrame(volumeFrame);
      assert.equal(volumeFrame.points[0]?.price, "-17.40");

      const explained = pricer.explain(gb("30"), "acme", MONDAY_NOON, "990");
      const steps = explained.flatMap((m) => m.steps.map((s) => s.detail));
      assert.ok(
        steps.some((d) => d.includes("10 × 0.10 + 20 × 0.08 = 2.60")),
        `Explain shows the split: ${JSON.stringify(steps)}`,
      );
    });
  });
}
