/**
 * Differential tests on random price lists and points: the fast path
 * (compiled plans, fixed point, with its fallbacks), the reference path and
 * Python's decimal module running CloudKitty's algorithm must give the same
 * strings, digit for digit, including for values that do not fit a double
 * and for the errors (non-numeric thresholded values).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RateRequest, RateResponse } from "../../../../libs/gen/ratemesh/v1/rating.js";
import { seededRandom } from "../../../../test/support/random.js";
import { decodeFrames } from "../../codec/decode-frames.js";
import { encodeFrames } from "../../codec/encode-frames.js";
import { PointError, type RatingPoint } from "../../domain.js";
import { HashmapIndex } from "./hashmap-index.js";
import type { HashmapData, MapType } from "./model.js";
import { HashmapModule } from "./module.js";
import { PriceListBuilder } from "./price-list-builder.js";
import { priceReference } from "./reference.js";
import { mappingRow } from "./test-fixtures.js";
import { type OracleCase, runOracle } from "./testdata/oracle.js";

const COSTS = [
  "1",
  "0.5",
  "1.10",
  "2.00",
  "0",
  "-0.3",
  "0.001",
  "16.0",
  "1.337",
  "0.98",
  "123456789012.5",
  "0.1234567890123456789012345678",
  "3.3333333333333333333333333333",
  "1.0000000000000000000000000001",
  "999999999999.9999999999999999999999999999",
];
const LEVELS = ["0", "1", "2", "2.5", "64", "64.0", "128", "-1", "-0.5", "1000", "0.00000001", "999999999999.99999999"];
const QTYS = [
  "1",
  "2",
  "0.5",
  "3.000",
  "0",
  "100",
  "-1",
  "7.25",
  "123456789012345678901.25",
  "0.000000000000000000001",
  "9007199254740993",
  "450359962737.0496",
];
const PRICES = ["0", "", "1.5", "-2", "0.000", "12345678901234567890.5"];
const FIELDS = ["flavor", "region", "memory", "vcpus", "zone"];
const VALUES = ["a", "b", "m1.tiny", "8", "8.0", "64", "512", "1e3", " 12 ", "Infinity", "abc", "", "-5", "1_000"];
const TENANTS = [null, null, null, "t1", "t2"];
const DAY = 86_400_000;

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

function priceList(r: () => number): HashmapData {
  const b = new PriceListBuilder();
  const groups: Array<string | null> = [null];
  for (let g = 0; g < Math.floor(r() * 4); g++) groups.push(b.group(`g${g}`, `group${g}`).groupId);
  const nServices = 1 + Math.floor(r() * 3);
  for (let s = 0; s < nServices; s++) {
    const serviceId = b.service(`s${s}`, `svc${s}`).serviceId;
    const parents: Array<{ serviceId: string | null; fieldId: string | null }> = [{ serviceId, fieldId: null }];
    for (const name of FIELDS) {
      if (r() < 0.5) continue;
      parents.push({ serviceId: null, fieldId: b.field(serviceId, name).fieldId });
    }
    const nRules = Math.floor(r() * 14);
    for (let k = 0; k < nRules; k++) {
      const parent = pick(r, parents);
      const type: MapType = r() < 0.6 ? "flat" : "rate";
      const groupId = pick(r, groups);
      const tenantId = pick(r, TENANTS);
      if (r() < 0.3) {
        b.threshold({ ...parent, level: pick(r, LEVELS), type, cost: pick(r, COSTS), groupId, tenantId });
      } else {
        const windowed = r() < 0.2;
        b.mapping({
          ...parent,
          value:
            parent.fieldId === null
              ? null
              : pick(
                  r,
                  VALUES.filter((v) => v !== ""),
                ),
          type,
          cost: pick(r, COSTS),
          groupId,
          tenantId,
          start: windowed ? Math.floor(r() * 4) * DAY : 0,
          end: windowed && r() < 0.5 ? 5 * DAY : null,
        });
      }
    }
  }
  return b.data;
}

function randomPoint(r: () => number, data: HashmapData): { scope: string; at: number; point: RatingPoint } {
  const attrs = () => {
    const out: Record<string, string> = {};
    for (const f of FIELDS) if (r() < 0.5) out[f] = pick(r, VALUES);
    return out;
  };
  return {
    scope: pick(r, ["", "t1", "t2", "t3"]),
    at: Math.floor(r() * 6) * DAY + (r() < 0.5 ? 0 : 3600_000),
    point: {
      type: r() < 0.9 ? (pick(r, data.services)?.name ?? "none") : "unknown",
      unit: "u",
      qty: pick(r, QTYS),
      price: pick(r, PRICES),
      groupby: attrs(),
      metadata: attrs(),
    },
  };
}

/**
 * The seed's random price list and n random points on it, with the price
 * Python gives each ("error": the point is refused), and the module and
 * index that price them.
 */
function randomRun(seed: number, n: number) {
  const r = seededRandom(seed);
  const data = priceList(r);
  const cases: OracleCase[] = Array.from({ length: n }, () => {
    const c = randomPoint(r, data);
    return { tenant: c.scope, at: c.at, point: c.point };
  });
  const oracle = runOracle(data, cases).map((o) => (o.startsWith("error") ? "error" : o));
  const index = new HashmapIndex(data);
  return { cases, oracle, index, module: new HashmapModule(() => index) };
}

function fastPrice(module: HashmapModule, c: OracleCase): string {
  const p = { ...c.point };
  try {
    module.rate({ scopeId: c.tenant, at: new Date(c.at), points: [p] });
  } catch (err) {
    if (err instanceof PointError) return "error";
    throw err;
  }
  return p.price;
}

function referencePrice(index: HashmapIndex, c: OracleCase): string {
  try {
    return priceReference(index.service(c.tenant, c.at, c.point.type), { ...c.point });
  } catch (err) {
    if ((err as Error).name === "FieldValueError") return "error";
    throw err;
  }
}

describe("hashmap differential", () => {
  it("fast path = reference = Python's decimal on random price lists and points", () => {
    let compared = 0;
    let errors = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const { cases, oracle, index, module } = randomRun(seed, 250);
      // Twice: the second pass runs on cached plans.
      for (const pass of [1, 2]) {
        for (const [i, c] of cases.entries()) {
          const want = oracle[i] as string;
          const where = `seed ${seed} case ${i} pass ${pass}: ${JSON.stringify(c)}`;
          // A point whose type no service names keeps its price string as it came.
          if (index.service(c.tenant, c.at, c.point.type) === undefined) {
            assert.equal(fastPrice(module, c), c.point.price, where);
            continue;
          }
          assert.equal(fastPrice(module, c), want, `fast, ${where}`);
          assert.equal(referencePrice(index, c), want, `reference, ${where}`);
          compared++;
          if (want === "error") errors++;
        }
      }
    }
    assert.ok(compared > 10_000, `compared ${compared} prices`);
    assert.ok(errors > 100 && errors < compared / 2, `${errors} errors among them`);
  });

  it("the server path (decode the request, price wire points, encode the response) gives the same strings", () => {
    for (let seed = 100; seed <= 115; seed++) {
      const { cases, oracle, index, module } = randomRun(seed, 300);
      for (const pass of [1, 2]) {
        // One frame per case: tenants and instants differ from point to point.
        const ok = cases.filter((_, i) => oracle[i] !== "error");
        const want = oracle.filter((o) => o !== "error");
        const frames = ok.map((c) => ({ scopeId: c.tenant, begin: new Date(c.at), end: undefined, points: [c.point] }));
        const msg = decodeFrames(Buffer.from(RateRequest.encode({ frames }).finish()));
        for (const f of msg.frames) module.rate(f);
        const out = RateResponse.decode(encodeFrames(msg));
        const got = out.frames.map((f) => f.points[0]?.price);
        for (const [i, c] of ok.entries()) {
          // Unknown types keep their price as sent; the others must be Python's string.
          const expected = index.service(c.tenant, c.at, c.point.type) === undefined ? c.point.price : want[i];
          assert.equal(got[i], expected, `seed ${seed} pass ${pass}: ${JSON.stringify(c)}`);
        }
      }
    }
  });

  it("agrees around the fixed-point limit (2^53), where the fast path must hand over to the exact path", () => {
    const costs = ["94906265.62425156", "94906267", "9007199254740991", "0.000000000000001", "4503599627370496", "1.5", "-94906266"];
    const qtys = ["94906265.62425156", "94906267", "1", "2", "9007199254740991", "9007199254740992", "0.5", "-3"];
    const data: HashmapData = {
      services: [{ serviceId: "s", name: "svc", seq: 1 }],
      fields: [{ fieldId: "f", serviceId: "s", name: "k", seq: 2 }],
      groups: [{ groupId: "g", name: "g", seq: 3 }],
      mappings: costs.map((cost, i) =>
        mappingRow({ mappingId: `m${i}`, serviceId: null, fieldId: "f", value: `v${i}`, cost, seq: 10 + i }),
      ),
      thresholds: costs.map((cost, i) => ({
        thresholdId: `t${i}`,
        serviceId: "s",
        fieldId: null,
        level: String(i),
        type: (i % 2 === 0 ? "flat" : "rate") as MapType,
        cost,
        groupId: "g",
        tenantId: null,
        seq: 100 + i,
      })),
    };
    const cases: OracleCase[] = [];
    for (const [i] of costs.entries()) {
      for (const qty of qtys) {
        for (const price of ["0", "9007199254740991", "-0.5"]) {
          cases.push({ tenant: "", at: 0, point: { type: "svc", unit: "", qty, price, groupby: { k: `v${i}` }, metadata: {} } });
        }
      }
    }
    const oracle = runOracle(data, cases);
    const index = new HashmapIndex(data);
    const module = new HashmapModule(() => index);
    for (const [i, c] of cases.entries()) {
      assert.equal(fastPrice(module, c), oracle[i], JSON.stringify(c));
      assert.equal(referencePrice(index, c), oracle[i], JSON.stringify(c));
    }
  });

  it("whole frames price as the points do one by one (plan cache shared across points)", () => {
    const r = seededRandom(99);
    const data = priceList(r);
    const index = new HashmapIndex(data);
    const module = new HashmapModule(() => index);
    for (let f = 0; f < 50; f++) {
      const scope = pick(r, ["", "t1", "t2"]);
      const at = new Date(Math.floor(r() * 6) * DAY);
      const points = Array.from({ length: 100 }, () => randomPoint(r, data).point);
      const one = points.map((p) => {
        const c = { ...p };
        try {
          module.rate({ scopeId: scope, at, points: [c] });
          return c.price;
        } catch {
          return "error";
        }
      });
      const ok = points.filter((_, i) => one[i] !== "error").map((p) => ({ ...p }));
      module.rate({ scopeId: scope, at, points: ok });
      assert.deepEqual(
        ok.map((p) => p.price),
        one.filter((x) => x !== "error"),
      );
    }
  });
});
