/** Human dates on the command line, all in UTC, against a fixed "now". */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { iso, parseDate, shortTime } from "./dates.js";

const NOW = new Date("2026-03-15T10:30:00Z");

function parsed(text: string): string | undefined {
  const d = parseDate(text, NOW);
  return d === undefined ? undefined : iso(d);
}

describe("parseDate", () => {
  const cases: Array<[string, string]> = [
    ["2026-11-01", "2026-11-01T00:00:00Z"],
    ["2026-11-01T06:00:00Z", "2026-11-01T06:00:00Z"],
    ["2026-11-01 06:00", "2026-11-01T06:00:00Z"],
    ["2026-11-01T06:00:00+02:00", "2026-11-01T04:00:00Z"],
    ["2026-11-01T06:00:00.250Z", "2026-11-01T06:00:00.250Z"],
    ["2026-11", "2026-11-01T00:00:00Z"],
    ["now", "2026-03-15T10:30:00Z"],
    ["today", "2026-03-15T00:00:00Z"],
    ["yesterday", "2026-03-14T00:00:00Z"],
    ["tomorrow", "2026-03-16T00:00:00Z"],
    ["-3d", "2026-03-12T10:30:00Z"],
    ["+12h", "2026-03-15T22:30:00Z"],
    ["-90m", "2026-03-15T09:00:00Z"],
    ["-1w", "2026-03-08T10:30:00Z"],
    ["3 days ago", "2026-03-12T10:30:00Z"],
    ["1 hour ago", "2026-03-15T09:30:00Z"],
    ["in 2 weeks", "2026-03-29T10:30:00Z"],
    ["2 months ago", "2026-01-15T10:30:00Z"],
    ["this month", "2026-03-01T00:00:00Z"],
    ["last month", "2026-02-01T00:00:00Z"],
    ["next month", "2026-04-01T00:00:00Z"],
    ["last year", "2025-01-01T00:00:00Z"],
    ["march", "2026-03-01T00:00:00Z"],
    // A month name alone is the latest one that has begun.
    ["november", "2025-11-01T00:00:00Z"],
    ["Nov", "2025-11-01T00:00:00Z"],
    ["nov 2026", "2026-11-01T00:00:00Z"],
    ["September 2024", "2024-09-01T00:00:00Z"],
    ["@1793491200", "2026-11-01T00:00:00Z"],
  ];
  for (const [text, want] of cases) {
    it(`reads ${JSON.stringify(text)} as ${want}`, () => assert.equal(parsed(text), want));
  }

  for (const bad of ["", "tomorrowish", "3d", "2026-13-01", "2026-02-30", "2026-11-01T25:00", "ma", "- 3 days ago", "3 parsecs ago"]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parsed(bad), undefined));
  }
});

describe("shortTime", () => {
  it("shows a midnight as a date, other times to the minute or the second", () => {
    assert.equal(shortTime("2026-11-01T00:00:00Z"), "2026-11-01");
    assert.equal(shortTime("2026-11-01T06:00:00Z"), "2026-11-01 06:00");
    assert.equal(shortTime("2026-11-01T06:00:07Z"), "2026-11-01 06:00:07");
    assert.equal(shortTime(""), "");
  });
});
