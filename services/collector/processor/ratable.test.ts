/** Which periods may be rated is decided on the injected clock, not the system's. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../testkit.js";
import { RatablePeriods } from "./ratable.js";

const at = (iso: string) => new ManualClock(Date.parse(iso));

describe("ratable periods", () => {
  it("rates a period once it has ended and wait_periods more have passed, by the clock it is given", () => {
    const clock = at("2026-03-15T10:20:00Z");
    const ratable = new RatablePeriods({ periodSeconds: 3600, waitPeriods: 2, start: undefined, end: undefined }, clock);
    // 10:20 -> the last whole period ended at 10:00; two more to wait: 08:00.
    assert.equal(ratable.limit().toISOString(), "2026-03-15T08:00:00.000Z");
    // A never rated scope starts at the start of the clock's month.
    assert.equal(ratable.firstBegin(undefined).toISOString(), "2026-03-01T00:00:00.000Z");
    assert.equal(ratable.behind(undefined), 14 * 24 + 8);
    assert.equal(ratable.behind(new Date("2026-03-15T07:00:00Z")), 1);
    assert.equal(ratable.behind(new Date("2026-03-15T08:00:00Z")), 0);
    // Until 11:00 nothing new may be rated; at 11:00, [08:00, 09:00) may.
    clock.t = Date.parse("2026-03-15T11:00:00Z") - 1;
    assert.equal(ratable.behind(new Date("2026-03-15T08:00:00Z")), 0);
    clock.t += 1;
    assert.equal(ratable.limit().toISOString(), "2026-03-15T09:00:00.000Z");
    assert.equal(ratable.behind(new Date("2026-03-15T08:00:00Z")), 1);
  });

  it("starts at [collect] start and stops at [collect] end when it comes first", () => {
    const clock = at("2026-03-15T10:20:00Z");
    const ratable = new RatablePeriods(
      {
        periodSeconds: 3600,
        waitPeriods: 0,
        start: new Date("2026-02-01T00:00:00Z"),
        end: new Date("2026-03-15T06:00:00Z"),
      },
      clock,
    );
    assert.equal(ratable.firstBegin(undefined).toISOString(), "2026-02-01T00:00:00.000Z");
    assert.equal(ratable.limit().toISOString(), "2026-03-15T06:00:00.000Z");
    // Before the end, the clock decides again.
    clock.t = Date.parse("2026-03-15T04:30:00Z");
    assert.equal(ratable.limit().toISOString(), "2026-03-15T04:00:00.000Z");
  });
});
