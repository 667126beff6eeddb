/**
 * Tiered prices over the billing month and time-of-use prices, in process:
 * every expected bill is worked out by hand in the test.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Decimal } from "../../../../libs/money/decimal.js";
import type { RatingPoint } from "../../domain.js";
import { HashmapIndex } from "./hashmap-index.js";
import type { HashmapData, MappingRow } from "./model.js";
import { HashmapModule } from "./module.js";
import { mappingRow } from "./test-fixtures.js";
import { localTime, monthAmount, parseTiers, type Tiers, type TimeOfUse } from "./tiers.js";

function priceList(...mappings: MappingRow[]): HashmapData {
  return {
    services: [{ serviceId: "s1", name: "storage.gb", seq: 1 }],
    fields: [{ fieldId: "f1", serviceId: "s1", name: "flavor", seq: 1 }],
    groups: [{ groupId: "g1", name: "extra", seq: 1 }],
    mappings,
    thresholds: [],
  };
}

function point(qty: string, groupby: Record<string, string> = {}): RatingPoint {
  return { type: "storage.gb", unit: "GB", qty, price: "0", groupby, metadata: {} };
}

const GRADUATED: Tiers = {
  mode: "graduated",
  tiers: [
    { from: "0", price: "0.10" },
    { from: "1000", price: "0.08" },
  ],
};
const VOLUME: Tiers = { ...GRADUATED, mode: "volume" };
const AT = new Date("2026-03-10T12:00:00Z");

function rate(data: HashmapData, points: RatingPoint[], monthToDate: string | undefined, at = AT): string[] {
  const module = new HashmapModule(() => new HashmapIndex(data));
  module.rate({
    scopeId: "acme",
    at,
    points,
    ...(monthToDate === undefined ? {} : { monthToDate: new Map([["storage.gb", monthToDate]]) }),
  });
  return points.map((p) => p.price);
}

function sum(prices: string[]): string {
  return prices.reduce((s, p) => s.add(Decimal.parse(p)), Decimal.ZERO).toString();
}

describe("graduated tiers over the month", () => {
  const data = priceList(mappingRow({ tiers: GRADUATED }));

  it("splits the period that crosses a boundary: 990 before, 30 now → 10 × 0.10 + 20 × 0.08 = 2.60", () => {
    assert.equal(Decimal.parse(rate(data, [point("30")], "990")[0] as string).eq(Decimal.parse("2.60")), true);
  });

  it("splits across the points of one period in their order: 990 before, 6 then 24 → 0.60, then 4 × 0.10 + 20 × 0.08 = 2.00", () => {
    const prices = rate(data, [point("6"), point("24")], "990");
    assert.deepEqual(
      prices.map((p) => Decimal.parse(p).toString()),
      ["0.60", "2.00"].map((p) => Decimal.parse(p).toString()),
    );
    assert.ok(Decimal.parse(sum(prices)).eq(Decimal.parse("2.60")));
  });

  it("prices a period wholly in the first tier at 0.10 and wholly above at 0.08", () => {
    assert.ok(Decimal.parse(rate(data, [point("30")], "0")[0] as string).eq(Decimal.parse("3.00")));
    assert.ok(Decimal.parse(rate(data, [point("30")], "1500")[0] as string).eq(Decimal.parse("2.40")));
  });

  it("starts the month at 0 when no month-to-date is given (the first period of a month)", () => {
    assert.ok(Decimal.parse(rate(data, [point("1200")], undefined)[0] as string).eq(Decimal.parse("116.00")));
  });

  it("leaves other groups to CloudKitty's arithmetic and adds them: + 2 × 0.5 flat in group extra", () => {
    const both = priceList(mappingRow({ tiers: GRADUATED }), mappingRow({ mappingId: "m2", groupId: "g1", cost: "0.5", seq: 2 }));
    // 2 units from 999: 1 × 0.10 + 1 × 0.08 = 0.18, plus the extra group's 2 × 0.5 = 1.0.
    assert.ok(Decimal.parse(rate(both, [point("2")], "999")[0] as string).eq(Decimal.parse("1.18")));
  });

  it("explains the split", () => {
    const module = new HashmapModule(() => new HashmapIndex(data));
    const p = point("30");
    const steps = module.explain(p, "acme", AT, "990");
    assert.ok(Decimal.parse(p.price).eq(Decimal.parse("2.60")));
    const tiers = steps.find((s) => s.kind === "tiers");
    assert.ok(tiers !== undefined);
    assert.match(tiers.detail, /10 × 0\.10 \+ 20 × 0\.08/);
  });
});

describe("volume tiers over the month", () => {
  const data = priceList(mappingRow({ tiers: VOLUME }));

  it("bills the crossing period so that the month equals volume pricing: 990 then 30 → 1020 × 0.08 − 990 × 0.10 = −17.40", () => {
    assert.ok(Decimal.parse(rate(data, [point("30")], "990")[0] as string).eq(Decimal.parse("-17.40")));
    // The month: 990 units in earlier periods billed 99.00, then −17.40: 81.60 = 1020 × 0.08.
    assert.ok(Decimal.parse("99.00").add(Decimal.parse("-17.40")).eq(Decimal.parse("81.60")));
  });

  it("bills a period below the first boundary at 0.10 and one after it at 0.08", () => {
    assert.ok(Decimal.parse(rate(data, [point("500")], "0")[0] as string).eq(Decimal.parse("50.00")));
    assert.ok(Decimal.parse(rate(data, [point("500")], "1500")[0] as string).eq(Decimal.parse("40.00")));
  });

  it("makes 1000 units exactly still the first tier (from is exclusive)", () => {
    assert.ok(monthAmount(parseTiers(VOLUME), Decimal.parse("1000")).eq(Decimal.parse("100")));
    assert.ok(monthAmount(parseTiers(GRADUATED), Decimal.parse("1000")).eq(Decimal.parse("100")));
  });
});

describe("time of use", () => {
  // Off-peak 0.05 from 22:00 to 06:00 and all weekend, 0.10 otherwise.
  const tou: TimeOfUse = {
    timeZone: "UTC",
    windows: [
      { days: [], from: 22 * 60, to: 6 * 60, cost: "0.05" },
      { days: [0, 6], from: 0, to: 0, cost: "0.05" },
    ],
  };
  const data = priceList(mappingRow({ cost: "0.10", timeOfUse: tou }));

  it("prices a weekday 21:00 period at 0.10 and the 22:00 one at 0.05 (10 units: 1.00, 0.50)", () => {
    // 2026-03-10 is a Tuesday.
    assert.equal(rate(data, [point("10")], undefined, new Date("2026-03-10T21:00:00Z"))[0], "1.00");
    assert.equal(rate(data, [point("10")], undefined, new Date("2026-03-10T22:00:00Z"))[0], "0.50");
    assert.equal(rate(data, [point("10")], undefined, new Date("2026-03-11T05:00:00Z"))[0], "0.50");
    assert.equal(rate(data, [point("10")], undefined, new Date("2026-03-11T06:00:00Z"))[0], "1.00");
  });

  it("explains which window gave the cost", () => {
    const module = new HashmapModule(() => new HashmapIndex(data));
    const p = point("10");
    const steps = module.explain(p, "acme", new Date("2026-03-10T22:00:00Z"));
    assert.equal(p.price, "0.50");
    assert.match(steps[0]?.detail ?? "", /\(time of use in UTC: window 1\): flat 0\.05/);
    const day = module.explain(point("10"), "acme", new Date("2026-03-10T12:00:00Z"));
    assert.match(day[0]?.detail ?? "", /outside every window, its own cost\): flat 0\.10/);
  });

  it("prices a Saturday noon period at 0.05", () => {
    assert.equal(rate(data, [point("10")], undefined, new Date("2026-03-14T12:00:00Z"))[0], "0.50");
  });

  it("reads hours and days in the configured time zone: 21:00 UTC is 22:00 in Paris (winter)", () => {
    const paris = priceList(mappingRow({ cost: "0.10", timeOfUse: { ...tou, timeZone: "Europe/Paris" } }));
    assert.deepEqual(localTime(Date.parse("2026-03-10T21:00:00Z"), "Europe/Paris"), { day: 2, minute: 22 * 60 });
    assert.equal(rate(paris, [point("10")], undefined, new Date("2026-03-10T21:00:00Z"))[0], "0.50");
    assert.equal(rate(paris, [point("10")], undefined, new Date("2026-03-10T20:00:00Z"))[0], "1.00");
  });

  it("applies to field mappings too: flavor m1.small 2.00 by day, 1.00 at night", () => {
    const byField = priceList(
      mappingRow({
        serviceId: null,
        fieldId: "f1",
        value: "m1.small",
        cost: "2.00",
        timeOfUse: { timeZone: "UTC", windows: [{ days: [], from: 22 * 60, to: 6 * 60, cost: "1.00" }] },
      }),
    );
    const small = { flavor: "m1.small" };
    const night = rate(byField, [point("1", small)], undefined, new Date("2026-03-10T23:00:00Z"));
    const day = rate(byField, [point("1", small)], undefined, new Date("2026-03-10T12:00:00Z"));
    assert.deepEqual([night[0], day[0]], ["1.00", "2.00"]);
  });
});
