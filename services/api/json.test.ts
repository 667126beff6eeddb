import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalNumber, parseExactJson, RawNumber, stringifyExact } from "./json.js";
import { awareIso, lastProcessedToState, naiveIso, parseIsoTime, stateToLastProcessed } from "./time.js";

describe("exact JSON", () => {
  it("keeps the digits of money numbers and attribute numbers, and leaves other numbers alone", () => {
    const body = parseExactJson(
      '{"cost": 0.1000000000000000000000000001, "level": 1e3, "priority": 5, "enabled": true,' +
        ' "resources": [{"volume": 12345678901234567890.5, "desc": {"vcpus": 8, "ram": 2.50, "nested": {"x": -0.0}}}],' +
        ' "dataframes": [{"usage": {"cpu": [{"vol": {"qty": 1.10}, "rating": {"price": 0.30000000000000004}, "groupby": {"id": 7}}]}}]}',
    );
    assert.deepEqual(body, {
      cost: "0.1000000000000000000000000001",
      level: "1e3",
      priority: 5,
      enabled: true,
      resources: [{ volume: "12345678901234567890.5", desc: { vcpus: "8", ram: "2.50", nested: { x: "-0.0" } } }],
      dataframes: [{ usage: { cpu: [{ vol: { qty: "1.10" }, rating: { price: "0.30000000000000004" }, groupby: { id: "7" } }] } }],
    });
  });

  it("is not fooled by keys, quotes and escapes inside strings", () => {
    const body = parseExactJson('{"name": "cost\\": 1.5, \\"x", "cost": [1.5, 2], "list": [3, {"price": 4.0}], "after": 6}');
    assert.deepEqual(body, { name: 'cost": 1.5, "x', cost: ["1.5", "2"], list: [3, { price: "4.0" }], after: 6 });
  });

  it("refuses malformed JSON as JSON.parse does", () => {
    assert.throws(() => parseExactJson('{"cost": 1.5'), SyntaxError);
    assert.throws(() => parseExactJson("{cost: 1}"), SyntaxError);
  });

  it("writes RawNumbers as their digits, nowhere through a double", () => {
    const text = stringifyExact({
      total: new RawNumber("7.5533333333333333333333333332"),
      rows: [[new RawNumber("+0012.50"), 'a"b', null, undefined]],
      skipped: undefined,
      ok: true,
    });
    assert.equal(text, '{"total":7.5533333333333333333333333332,"rows":[[12.50,"a\\"b",null,null]],"ok":true}');
    assert.equal(stringifyExact(new RawNumber("-0.000")), "-0.000");
    assert.equal(stringifyExact("5.105"), '"5.105"');
  });

  it("canonicalises decimal text into JSON number text, and refuses what is not a decimal", () => {
    assert.equal(canonicalNumber("007"), "7");
    assert.equal(canonicalNumber(".5"), "0.5");
    assert.equal(canonicalNumber("1E+3"), "1e+3");
    assert.equal(canonicalNumber(""), "0");
    assert.throws(() => canonicalNumber("NaN"));
    assert.throws(() => canonicalNumber("1,5"));
  });
});

describe("CloudKitty timestamps", () => {
  it("reads the ISO forms the client sends", () => {
    const t = Date.parse("2026-11-01T00:00:00Z");
    for (const s of [
      "2026-11-01T00:00:00",
      "2026-11-01 00:00:00",
      "2026-11-01T00:00:00Z",
      "2026-11-01 00:00:00+00:00",
      "2026-11-01T01:00:00+01:00",
      "2026-10-31T19:00:00-05:00",
      "2026-11-01",
      "2026-11-01T00:00",
      "2026-11-01T00:00:00.000000",
    ]) {
      assert.equal(parseIsoTime(s)?.getTime(), t, s);
    }
    assert.equal(parseIsoTime("2026-11-01T00:00:00.25Z")?.getTime(), t + 250);
    for (const bad of ["yesterday", "2026-13-01", "2026-02-30T00:00:00", "2026-11-01T24:61:00", ""]) {
      assert.equal(parseIsoTime(bad), undefined, bad);
    }
  });

  it("writes Python's isoformat, naive (v1, scopes) or with the UTC offset (v2 summaries and frames)", () => {
    assert.equal(naiveIso(new Date("2026-11-01T05:00:00Z")), "2026-11-01T05:00:00");
    assert.equal(naiveIso(new Date("2026-11-01T05:00:00.123Z")), "2026-11-01T05:00:00.123000");
    assert.equal(awareIso(new Date("2026-11-01T05:00:00Z")), "2026-11-01T05:00:00+00:00");
  });

  it("shifts a ratemesh state (end of the last rated period) to CloudKitty's (its begin) and back", () => {
    const end = new Date("2026-11-01T06:00:00Z");
    const shown = stateToLastProcessed(end, 3600);
    assert.equal(shown.toISOString(), "2026-11-01T05:00:00.000Z");
    assert.equal(lastProcessedToState(shown, 3600).getTime(), end.getTime());
  });
});
