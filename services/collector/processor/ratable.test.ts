/** Which periods may be rated is decided on the injected clock, not the system's, by CloudKitty's rule. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../testkit.js";
import { RatablePeriods } from "./ratable.js";

const at = (iso: string) => new ManualClock(Date.parse(iso));

/** CloudKitty 17's check_time_state: [b, b + period) once b + wait_periods × period < now. */
function cloudKittyRates(begin: number, now: number, period: number, wait: number): boolean {
  return begin + wait * period * 1000 < now;
}

describe("ratable periods", () => {
  it("rates a period once wait_periods periods have passed since its begin, by the clock it is given", () => {
    const clock = at("2026-03-15T10:20:00Z");
    const ratable = new RatablePeriods({ periodSeconds: 3600, waitPeriods: 2, start: undefined, end: undefined }, clock);
    // 10:20: [08:00, 09:00) is ratable, as 08:00 + 2 h < 10:20; [09:00, 10:00) is not.
    assert.equal(ratable.limit().toISOString(), "2026-03-15T09:00:00.000Z");
    // A never rated scope starts at the start of the clock's month.
    assert.equal(ratable.firstBegin(undefined).toISOString(), "2026-03-01T00:00:00.000Z");
    assert.equal(ratable.behind(undefined), 14 * 24 + 9);
    assert.equal(ratable.behind(new Date("2026-03-15T08:00:00Z")), 1);
    assert.equal(ratable.behind(new Date("2026-03-15T09:00:00Z")), 0);
    // At 11:00 exactly, 09:00 + 2 h < 11:00 is false: nothing new; a moment later [09:00, 10:00) is.
    clock.t = Date.parse("2026-03-15T11:00:00Z");
    assert.equal(ratable.behind(new Date("2026-03-15T09:00:00Z")), 0);
    clock.t += 1;
    assert.equal(ratable.limit().toISOString(), "2026-03-15T10:00:00.000Z");
    assert.equal(ratable.behind(new Date("2026-03-15T09:00:00Z")), 1);
  });

  it("makes a period ratable at the same instant as CloudKitty for every wait_periods but 0", () => {
    const period = 3600;
    const base = Date.parse("2026-03-15T00:00:00Z");
    for (const wait of [1, 2, 3, 5]) {
      for (const offset of [0, 1, 59_999, 1_800_000, 3_599_999, 3_600_000, 3_600_001, 7_200_000, 9_000_000]) {
        const now = base + 10 * period * 1000 + offset;
        const ratable = new RatablePeriods(
          { periodSeconds: period, waitPeriods: wait, start: undefined, end: undefined },
          new ManualClock(now),
        );
        const limit = ratable.limit().getTime();
        for (let b = base; b < now + period * 1000; b += period * 1000) {
          const ours = b + period * 1000 <= limit;
          assert.equal(
            ours,
            cloudKittyRates(b, now, period, wait),
            `wait ${wait}, now ${new Date(now).toISOString()}, period ${new Date(b).toISOString()}`,
          );
        }
      }
    }
  });

  it("with wait_periods = 0 never rates a period before it has ended (CloudKitty would rate the period in progress)", () => {
    const clock = at("2026-03-15T10:20:00Z");
    const ratable = new RatablePeriods({ periodSeconds: 3600, waitPeriods: 0, start: undefined, end: undefined }, clock);
    assert.equal(cloudKittyRates(Date.parse("2026-03-15T10:00:00Z"), clock.t, 3600, 0), true);
    assert.equal(ratable.limit().toISOString(), "2026-03-15T10:00:00.000Z");
    clock.t = Date.parse("2026-03-15T11:00:00Z");
    assert.equal(ratable.limit().toISOString(), "2026-03-15T11:00:00.000Z");
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
