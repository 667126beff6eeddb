/**
 * Tiered and time-of-use mappings over gRPC against a real rating process
 * (SQLite and PostgreSQL): created, shown and listed, refused with the field
 * named, and priced by Rate (month-to-date per frame, as the collector sends
 * it), Quote and Explain. Every expected bill is worked out by hand here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { CreateMappingRequest, MappingType, TierMode } from "../../libs/gen/ratemesh/v1/rating.js";
import { Decimal } from "../../libs/money/decimal.js";
import { BACKENDS, rejectsWith, startRating } from "../../test/support/rating.js";

const PAST = new Date("2026-01-01T00:00:00Z");
const TIERS = {
  mode: TierMode.TIER_MODE_GRADUATED,
  tiers: [
    { from: "0", price: "0.10" },
    { from: "1000", price: "0.08" },
  ],
};

function point(qty: string): DataPoint {
  return { type: "storage.gb", unit: "GB", qty, price: "0", groupby: {}, metadata: {} };
}

function same(a: string | undefined, b: string): boolean {
  return a !== undefined && Decimal.parse(a).eq(Decimal.parse(b));
}

for (const backend of BACKENDS) {
  describe(`tiered and time-of-use mappings on ${backend}`, () => {
    it("creates, shows and prices them; refuses bad ones naming the field", async (t) => {
      const [r] = await startRating(t, backend);
      assert.ok(r !== undefined);
      const c = r.clients;
      await c.rating.updateModule({ name: "hashmap", enabled: true, priority: undefined });
      const svc = (await c.hashmap.createService({ name: "storage.gb" })).service;
      const ip = (await c.hashmap.createService({ name: "ip" })).service;
      assert.ok(svc !== undefined && ip !== undefined);
      const field = (await c.hashmap.createField({ serviceId: svc.serviceId, name: "tier" })).field;
      assert.ok(field !== undefined);
      const base = { serviceId: svc.serviceId, start: PAST, force: true };

      // Refusals, each naming its field.
      await rejectsWith(
        c.hashmap.createMapping(CreateMappingRequest.fromPartial({ ...base, tiers: { ...TIERS, tiers: [{ from: "5", price: "1" }] } })),
        status.INVALID_ARGUMENT,
        "tiers.tiers[0].from",
      );
      await rejectsWith(
        c.hashmap.createMapping(
          CreateMappingRequest.fromPartial({
            ...base,
            tiers: {
              tiers: [
                { from: "0", price: "1" },
                { from: "0", price: "2" },
              ],
            },
          }),
        ),
        status.INVALID_ARGUMENT,
        "tiers.tiers[1].from",
      );
      await rejectsWith(
        c.hashmap.createMapping(CreateMappingRequest.fromPartial({ ...base, tiers: { tiers: [{ from: "0", price: "ten" }] } })),
        status.INVALID_ARGUMENT,
        "tiers.tiers[0].price",
      );
      await rejectsWith(
        c.hashmap.createMapping(
          CreateMappingRequest.fromPartial({ ...base, serviceId: "", fieldId: field.fieldId, value: "gold", tiers: TIERS }),
        ),
        status.INVALID_ARGUMENT,
        "tiers",
      );
      await rejectsWith(
        c.hashmap.createMapping(CreateMappingRequest.fromPartial({ ...base, type: MappingType.MAPPING_TYPE_RATE, tiers: TIERS })),
        status.INVALID_ARGUMENT,
        "tiers",
      );
      await rejectsWith(
        c.hashmap.createMapping(
          CreateMappingRequest.fromPartial({ ...base, cost: "1", timeOfUse: { timeZone: "Mars/Olympus", windows: [{ cost: "1" }] } }),
        ),
        status.INVALID_ARGUMENT,
        "time_of_use.time_zone",
      );
      await rejectsWith(
        c.hashmap.createMapping(
          CreateMappingRequest.fromPartial({ ...base, cost: "1", timeOfUse: { windows: [{ from: "25:00", to: "06:00", cost: "1" }] } }),
        ),
        status.INVALID_ARGUMENT,
        "time_of_use.windows[0].from",
      );
      await rejectsWith(
        c.hashmap.createMapping(
          CreateMappingRequest.fromPartial({ ...base, cost: "1", timeOfUse: { windows: [{ days: ["someday"], cost: "1" }] } }),
        ),
        status.INVALID_ARGUMENT,
        "time_of_use.windows[0].days[0]",
      );
      assert.equal((await c.hashmap.listMappings({ ...emptyList() })).mappings.length, 0, "nothing was created");

      // A tiered mapping, and a time-of-use one: off-peak 0.05 from 22:00 to 06:00 and on weekends, 0.10 otherwise.
      const tiered = (await c.hashmap.createMapping(CreateMappingRequest.fromPartial({ ...base, tiers: TIERS }))).mapping;
      assert.deepEqual(tiered?.tiers, TIERS);
      const tou = {
        timeZone: "UTC",
        windows: [
          { days: [], from: "22:00", to: "06:00", cost: "0.05" },
          { days: ["sat", "sun"], from: "00:00", to: "00:00", cost: "0.05" },
        ],
      };
      const timed = (
        await c.hashmap.createMapping(
          CreateMappingRequest.fromPartial({ serviceId: ip.serviceId, cost: "0.10", start: PAST, force: true, timeOfUse: tou }),
        )
      ).mapping;
      assert.ok(timed !== undefined);
      const shown = (await c.hashmap.getMapping({ mappingId: timed.mappingId })).mapping;
      assert.deepEqual(shown?.timeOfUse, {
        timeZone: "UTC",
        windows: [
          { days: [], from: "22:00", to: "06:00", cost: "0.05" },
          { days: ["sun", "sat"], from: "00:00", to: "00:00", cost: "0.05" },
        ],
      });

      // Rate: two periods of one scope in one call, the second's month-to-date given as the collector does.
      const rated = await c.rating.rate({
        frames: [
          {
            scopeId: "acme",
            begin: new Date("2026-03-10T21:00:00Z"),
            end: new Date("2026-03-10T22:00:00Z"),
            points: [point("30"), { ...point("10"), type: "ip" }],
          },
          {
            scopeId: "acme",
            begin: new Date("2026-03-10T22:00:00Z"),
            end: new Date("2026-03-10T23:00:00Z"),
            points: [point("30"), { ...point("10"), type: "ip" }],
          },
          {
            scopeId: "acme",
            begin: new Date("2026-03-14T12:00:00Z"),
            end: new Date("2026-03-14T13:00:00Z"),
            points: [{ ...point("10"), type: "ip" }],
          },
        ],
        monthToDate: {
          frames: [
            { frame: 0, qty: { "storage.gb": "990" } },
            { frame: 1, qty: { "storage.gb": "1020" } },
          ],
        },
      });
      const prices = rated.frames.map((f) => f.points.map((p) => p.price));
      // 990 before, 30 now: 10 × 0.10 + 20 × 0.08 = 2.60; Tuesday 21:00: 10 × 0.10 = 1.00.
      assert.ok(same(prices[0]?.[0], "2.60"), `crossing: ${prices[0]?.[0]}`);
      assert.ok(same(prices[0]?.[1], "1.00"));
      // 1020 before: 30 × 0.08 = 2.40; Tuesday 22:00: 10 × 0.05 = 0.50.
      assert.ok(same(prices[1]?.[0], "2.40"));
      assert.ok(same(prices[1]?.[1], "0.50"));
      // Saturday noon: 10 × 0.05 = 0.50.
      assert.ok(same(prices[2]?.[0], "0.50"));

      await rejectsWith(
        c.rating.rate({
          frames: [{ scopeId: "acme", begin: PAST, end: PAST, points: [point("1")] }],
          monthToDate: { frames: [{ frame: 3, qty: {} }] },
        }),
        status.INVALID_ARGUMENT,
        "month_to_date.frames[0].frame",
      );
      await rejectsWith(
        c.rating.rate({
          frames: [{ scopeId: "acme", begin: PAST, end: PAST, points: [point("1")] }],
          monthToDate: { frames: [{ frame: 0, qty: { "storage.gb": "lots" } }] },
        }),
        status.INVALID_ARGUMENT,
        'month_to_date.frames[0].qty["storage.gb"]',
      );

      // Quote and Explain take the month-to-date too; Explain shows the split.
      const quoted = await c.rating.quote({
        points: [point("30")],
        scopeId: "acme",
        at: new Date("2026-03-10T12:00:00Z"),
        monthToDate: { qty: { "storage.gb": "990" } },
      });
      assert.ok(same(quoted.total, "2.60"));
      const explained = await c.rating.explain({
        point: point("30"),
        scopeId: "acme",
        at: new Date("2026-03-10T12:00:00Z"),
        monthToDate: "990",
      });
      assert.ok(same(explained.point?.price, "2.60"));
      const step = explained.modules.flatMap((m) => m.steps).find((s) => s.kind === "tiers");
      assert.match(step?.detail ?? "", /month to date 990, qty 30: 10 × 0\.10 \+ 20 × 0\.08 = 2\.60/);
    });
  });
}

describe("tiered mappings: updates and volume mode over gRPC", () => {
  it("changes the tiers of a mapping not started yet, refuses it once started, and prices volume tiers", async (t) => {
    const [r] = await startRating(t, "sqlite");
    assert.ok(r !== undefined);
    const c = r.clients;
    await c.rating.updateModule({ name: "hashmap", enabled: true, priority: undefined });
    const svc = (await c.hashmap.createService({ name: "storage.gb" })).service;
    assert.ok(svc !== undefined);
    const started = (
      await c.hashmap.createMapping(CreateMappingRequest.fromPartial({ serviceId: svc.serviceId, start: PAST, force: true, tiers: TIERS }))
    ).mapping;
    assert.ok(started !== undefined);
    await rejectsWith(
      c.hashmap.updateMapping({ mappingId: started.mappingId, tiers: { ...TIERS, mode: TierMode.TIER_MODE_VOLUME } }),
      status.INVALID_ARGUMENT,
      "tiers",
    );
    const next = new Date(Date.now() + 86_400_000);
    const later = (
      await c.hashmap.createMapping(
        CreateMappingRequest.fromPartial({ serviceId: svc.serviceId, start: next, tiers: TIERS, groupId: "", tenantId: "acme" }),
      )
    ).mapping;
    assert.ok(later !== undefined);
    const updated = (await c.hashmap.updateMapping({ mappingId: later.mappingId, tiers: { ...TIERS, mode: TierMode.TIER_MODE_VOLUME } }))
      .mapping;
    assert.equal(updated?.tiers?.mode, TierMode.TIER_MODE_VOLUME);

    // acme's own volume tiers from tomorrow replace the global graduated ones: 990 before, 30 now.
    const quote = (scopeId: string, at: Date) =>
      c.rating.quote({ points: [point("30")], scopeId, at, monthToDate: { qty: { "storage.gb": "990" } } });
    const at = new Date(next.getTime() + 3_600_000);
    // 1020 × 0.08 − 990 × 0.10 = 81.60 − 99.00 = −17.40
    assert.ok(same((await quote("acme", at)).total, "-17.40"));
    // Others keep graduated: 10 × 0.10 + 20 × 0.08 = 2.60
    assert.ok(same((await quote("other", at)).total, "2.60"));
  });
});

function emptyList() {
  return {
    serviceId: "",
    fieldId: "",
    groupId: "",
    noGroup: false,
    tenantId: "",
    includeDeleted: true,
    activeAt: undefined,
    pageSize: 100,
    pageToken: "",
  };
}
