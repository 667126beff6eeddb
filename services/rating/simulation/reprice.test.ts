/**
 * The repricer's grouping, with a pricer that doubles each quantity: time
 * buckets across a month and an ISO week boundary, a key read from groupby
 * then metadata, partial frames counted once, and the group bound.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../../libs/errors/errors.js";
import { SimulateRequest } from "../../../libs/gen/ratemesh/v1/simulation.js";
import { Decimal } from "../../../libs/money/decimal.js";
import type { SimulationPricer } from "./price-list-source.js";
import { simulationQueryFrom } from "./query.js";
import { Repricer } from "./reprice.js";
import type { StoredFrame } from "./stored-frames.js";

const HOUR = 3600_000;
/** Price = 2 × qty; billed was 1 × qty. */
const doubling: SimulationPricer = {
  description: "doubling",
  priceFrame(frame) {
    for (const p of frame.points) p.price = Decimal.parse(p.qty).mul(Decimal.of(2)).toString();
    return 0;
  },
};

function frame(
  scopeId: string,
  begin: string,
  points: Array<[string, string, Record<string, string>, Record<string, string>]>,
): StoredFrame {
  const b = new Date(begin);
  return {
    scopeId,
    begin: b,
    end: new Date(b.getTime() + HOUR),
    points: points.map(([type, qty, groupby, metadata]) => ({ type, unit: "", qty, price: "0", groupby, metadata })),
    billed: points.map(([, qty]) => qty),
  };
}

function run(groupBy: string[], frames: StoredFrame[], maxGroups = 100) {
  const q = simulationQueryFrom(
    SimulateRequest.fromPartial({ begin: new Date("2026-01-01T00:00:00Z"), end: new Date("2026-12-31T00:00:00Z"), groupBy }),
    { maxDays: 400, maxGroups },
  );
  const r = new Repricer(q, doubling, maxGroups);
  for (const f of frames) r.add(f);
  return r.result();
}

// 2026-11-30 is a Monday, 2026-11-29 a Sunday.
const FRAMES = [
  frame("a", "2026-11-29T23:00:00Z", [["cpu", "1", { flavor: "small" }, {}]]),
  frame("a", "2026-11-30T00:00:00Z", [["cpu", "2", {}, { flavor: "large" }]]),
  frame("a", "2026-12-01T00:00:00Z", [["cpu", "4", { flavor: "small" }, { flavor: "ignored: groupby wins" }]]),
  frame("a", "2026-12-01T00:00:00Z", [["gpu", "8", {}, {}]]),
];

describe("Repricer", () => {
  it("buckets by calendar month and ISO week, UTC", () => {
    const months = run(["time-m"], FRAMES).groups.map((g) => [
      new Date(g.begin * 1000).toISOString(),
      g.billed.toString(),
      g.simulated.toString(),
    ]);
    assert.deepEqual(months, [
      ["2026-11-01T00:00:00.000Z", "3", "6"],
      ["2026-12-01T00:00:00.000Z", "12", "24"],
    ]);
    const weeks = run(["time-w"], FRAMES).groups.map((g) => [
      new Date(g.begin * 1000).toISOString(),
      new Date(g.end * 1000).toISOString(),
      g.points,
    ]);
    assert.deepEqual(weeks, [
      ["2026-11-23T00:00:00.000Z", "2026-11-30T00:00:00.000Z", 1],
      ["2026-11-30T00:00:00.000Z", "2026-12-07T00:00:00.000Z", 3],
    ]);
  });

  it("groups by a key from groupby, else metadata, else empty; counts a frame given in parts once", () => {
    const r = run(["flavor"], FRAMES);
    assert.deepEqual(
      r.groups.map((g) => [g.groups, g.qty.toString(), g.billed.toString(), g.simulated.toString()]),
      [
        [[""], "8", "8", "16"],
        [["large"], "2", "2", "4"],
        [["small"], "5", "5", "10"],
      ],
    );
    assert.equal(r.frames, 3);
    assert.equal(r.points, 4);
    assert.equal(r.billed.toString(), "15");
    assert.equal(r.simulated.toString(), "30");
  });

  it("gives each period its month-to-date per type: earlier periods of the month (before the window too), earlier parts, every point", () => {
    const seen: string[] = [];
    const recording: SimulationPricer = {
      description: "recording",
      priceFrame(frame) {
        seen.push(
          `${frame.scopeId}@${frame.at.toISOString().slice(5, 13)}:${[...(frame.monthToDate ?? new Map())].map(([t, q]) => `${t}=${q}`).join(",")}`,
        );
        return 0;
      },
    };
    const q = simulationQueryFrom(
      SimulateRequest.fromPartial({ begin: new Date("2026-11-30T23:00:00Z"), end: new Date("2026-12-31T00:00:00Z") }),
      { maxDays: 400, maxGroups: 100 },
    );
    const r = new Repricer(q, recording, 100, { timeZone: "UTC", keep: (p) => p.groupby.flavor === "small" });
    const frames = [
      frame("a", "2026-11-01T00:00:00Z", [["cpu", "5", { flavor: "large" }, {}]]), // before the window: counts only
      frame("a", "2026-11-30T23:00:00Z", [
        ["cpu", "1", { flavor: "small" }, {}],
        ["gpu", "2", {}, {}],
      ]),
      frame("a", "2026-12-01T00:00:00Z", [["cpu", "4", { flavor: "small" }, {}]]), // a new month
      frame("a", "2026-12-01T00:00:00Z", [["cpu", "8", { flavor: "large" }, {}]]), // the same period's second part
      frame("a", "2026-12-01T01:00:00Z", [["cpu", "1", { flavor: "small" }, {}]]),
      frame("b", "2026-12-01T01:00:00Z", [["cpu", "1", { flavor: "small" }, {}]]), // another scope
    ];
    for (const f of frames) r.add(f);
    assert.deepEqual(seen, ["a@11-30T23:cpu=5", "a@12-01T00:", "a@12-01T00:cpu=4", "a@12-01T01:cpu=12", "b@12-01T01:"]);
    const result = r.result();
    assert.equal(result.points, 4, "the filter keeps the small cpu points only");
    assert.equal(result.groups[0]?.qty.toString(), "7");
  });

  it("refuses more groups than its bound, naming group_by", () => {
    assert.throws(
      () => run(["scope_id", "type", "time"], FRAMES, 2),
      (err: unknown) => err instanceof InvalidArgumentError && err.field === "group_by",
    );
  });
});
