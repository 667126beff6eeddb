/** A reprocessing task runs on to the end of the billing month of its end, within the scope's state. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toMonthEnd } from "./tasks.js";

const s = (iso: string) => Date.parse(iso) / 1000;
const HOUR = 3600;

describe("a task's end moved to the end of its billing month", () => {
  it("goes to the next month's start, but not past the scope's state", () => {
    assert.equal(toMonthEnd(s("2026-05-10T04:00:00Z"), s("2026-06-02T00:00:00Z"), "UTC", HOUR), s("2026-06-01T00:00:00Z"));
    assert.equal(toMonthEnd(s("2026-05-10T04:00:00Z"), s("2026-05-20T00:00:00Z"), "UTC", HOUR), s("2026-05-20T00:00:00Z"));
  });

  it("leaves a task that ends at a month's start as it is: its last period is the month before's", () => {
    assert.equal(toMonthEnd(s("2026-06-01T00:00:00Z"), s("2026-06-15T00:00:00Z"), "UTC", HOUR), s("2026-06-01T00:00:00Z"));
  });

  it("reads months in the billing time zone", () => {
    // Paris is UTC+2 in May: June starts there at 22:00 UTC on 31 May.
    assert.equal(toMonthEnd(s("2026-05-10T04:00:00Z"), s("2026-06-15T00:00:00Z"), "Europe/Paris", HOUR), s("2026-05-31T22:00:00Z"));
    // A period of a day: [05-31 00:00, 06-01 00:00) UTC begins in May in Paris, so it is May's last.
    assert.equal(toMonthEnd(s("2026-05-10T00:00:00Z"), s("2026-06-15T00:00:00Z"), "Europe/Paris", 24 * HOUR), s("2026-06-01T00:00:00Z"));
  });
});
