import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isTimeZone, monthEnd, monthStart } from "./month.js";

describe("months in a time zone", () => {
  it("start and end at UTC midnight of the 1st by default", () => {
    assert.equal(monthStart(new Date("2026-03-10T12:34:00Z")).toISOString(), "2026-03-01T00:00:00.000Z");
    assert.equal(monthEnd(new Date("2026-03-10T12:34:00Z")).toISOString(), "2026-04-01T00:00:00.000Z");
    assert.equal(monthEnd(new Date("2026-12-31T23:00:00Z")).toISOString(), "2027-01-01T00:00:00.000Z");
    assert.equal(monthStart(new Date("2026-03-01T00:00:00Z")).toISOString(), "2026-03-01T00:00:00.000Z");
  });

  it("follow the zone's local midnight, across daylight saving", () => {
    // Paris: UTC+1 in winter, UTC+2 from 29 March 2026.
    assert.equal(monthStart(new Date("2026-03-10T12:00:00Z"), "Europe/Paris").toISOString(), "2026-02-28T23:00:00.000Z");
    assert.equal(monthEnd(new Date("2026-03-10T12:00:00Z"), "Europe/Paris").toISOString(), "2026-03-31T22:00:00.000Z");
    // 31 March 23:30 UTC is already 1 April in Paris.
    assert.equal(monthStart(new Date("2026-03-31T23:30:00Z"), "Europe/Paris").toISOString(), "2026-03-31T22:00:00.000Z");
    assert.equal(monthStart(new Date("2026-03-10T12:00:00Z"), "America/New_York").toISOString(), "2026-03-01T05:00:00.000Z");
  });

  it("knows real zones from others", () => {
    assert.equal(isTimeZone("Europe/Paris"), true);
    assert.equal(isTimeZone("Mars/Olympus"), false);
  });
});
