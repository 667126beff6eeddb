/**
 * Rate says which points no rule priced, frame by frame: all of them while
 * no module that prices is enabled, those of types without a rule in force
 * at the frame's begin once one is (a mapping that starts later, a service
 * with no rule, a type no service has), and none where a rule is in force
 * even if it gives 0. The metric counts them by reason.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DataFrame, DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { CreateMappingRequest, MappingType, UnpricedReason } from "../../libs/gen/ratemesh/v1/rating.js";
import { startRating } from "../../test/support/rating.js";

const T0 = new Date("2026-11-01T00:00:00Z");
const HOUR = 3600_000;

function point(type: string, groupby: Record<string, string> = {}): DataPoint {
  return { type, unit: "", qty: "2", price: "0", groupby, metadata: {} };
}

function frame(scopeId: string, begin: Date, points: DataPoint[]): DataFrame {
  return { scopeId, begin, end: new Date(begin.getTime() + HOUR), points };
}

describe("unpriced points", () => {
  it("are counted per frame in the Rate answer, with their types and why, and in the metrics", async (t) => {
    const [r] = await startRating(t, "sqlite", { sections: { rating: { metrics_listen: "127.0.0.1:0" } } });
    assert.ok(r !== undefined);
    const c = r.clients;
    const { service } = await c.hashmap.createService({ name: "instance" });
    await c.hashmap.createService({ name: "volume.size" });
    const { field } = await c.hashmap.createField({ serviceId: service?.serviceId ?? "", name: "flavor" });
    // Instances are priced from T0 + 2 h on (the mapping's start); a field value no mapping matches prices 0, and that is a price.
    await c.hashmap.createMapping(
      CreateMappingRequest.fromPartial({
        fieldId: field?.fieldId ?? "",
        value: "m1.small",
        type: MappingType.MAPPING_TYPE_FLAT,
        cost: "0.5",
        start: new Date(T0.getTime() + 2 * HOUR),
        force: true,
      }),
    );
    const frames = [
      frame("p1", T0, [point("instance", { flavor: "m1.small" }), point("volume.size"), point("image.size")]),
      frame("p1", new Date(T0.getTime() + 3 * HOUR), [point("instance", { flavor: "m1.small" }), point("instance", { flavor: "m9" })]),
      frame("p1", new Date(T0.getTime() + 3 * HOUR), [point("volume.size"), point("volume.size"), point("instance")]),
      frame("p1", T0, []),
    ];

    // noop only (hashmap is off until enabled, as in CloudKitty): every point is unpriced.
    const off = await c.rating.rate({ frames });
    assert.deepEqual(
      off.unpriced.map((u) => [u.frame, u.points, u.types, u.reason]),
      [
        [0, "3", ["image.size", "instance", "volume.size"], UnpricedReason.UNPRICED_REASON_NO_MODULE_ENABLED],
        [1, "2", ["instance"], UnpricedReason.UNPRICED_REASON_NO_MODULE_ENABLED],
        [2, "3", ["instance", "volume.size"], UnpricedReason.UNPRICED_REASON_NO_MODULE_ENABLED],
      ],
    );

    await c.rating.updateModule({ name: "hashmap", enabled: true, priority: undefined });
    const on = await c.rating.rate({ frames });
    assert.deepEqual(
      on.unpriced.map((u) => [u.frame, u.points, u.types, u.reason]),
      [
        // At T0 the instance mapping has not started; volume.size has no rule at all; image.size no service.
        [0, "3", ["image.size", "instance", "volume.size"], UnpricedReason.UNPRICED_REASON_NO_RULE_IN_FORCE],
        // Frame 1: both instances meet a rule in force (m9 prices 0 by it).
        [2, "2", ["volume.size"], UnpricedReason.UNPRICED_REASON_NO_RULE_IN_FORCE],
      ],
    );
    assert.deepEqual(
      on.frames[1]?.points.map((p) => p.price),
      ["1.0", "0"],
    );

    const metrics = await (await fetch(`http://${r.proc.metricsAddress}/metrics`)).text();
    assert.match(metrics, /^ratemesh_rating_points_unpriced_total\{reason="no_module_enabled"\} 8$/m);
    assert.match(metrics, /^ratemesh_rating_points_unpriced_total\{reason="no_rule_in_force"\} 5$/m);
  });
});
