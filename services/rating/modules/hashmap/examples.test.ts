/**
 * The worked examples of README.md, table-driven, read from the README: each
 * point priced by the module's fast path, by the reference path (Explain),
 * and by Python's decimal module running CloudKitty's algorithm must give
 * exactly the README's price (an over-gRPC run of the same tables is in
 * test/e2e/rating-examples.test.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PointError, type RatingPoint } from "../../domain.js";
import { readmeExamples } from "./examples.js";
import { HashmapIndex } from "./hashmap-index.js";
import { HashmapModule } from "./module.js";
import { runOracle } from "./testdata/oracle.js";

const examples = readmeExamples();

function copy(p: RatingPoint): RatingPoint {
  return { ...p, groupby: { ...p.groupby }, metadata: { ...p.metadata } };
}

describe("hashmap README examples", () => {
  it("are all there, each with rules and points", () => {
    assert.equal(examples.length, 14);
    for (const ex of examples) {
      assert.ok(ex.data.mappings.length + ex.data.thresholds.length > 0, `${ex.title}: rules`);
      assert.ok(ex.points.length > 0, `${ex.title}: points`);
      for (const p of ex.points) assert.match(p.price, /^(-?\d+(\.\d+)?|error)$/, `${ex.title} ${p.label}: price column`);
    }
  });

  for (const ex of examples) {
    describe(ex.title, () => {
      const module = new HashmapModule(() => new HashmapIndex(ex.data));
      for (const [i, p] of ex.points.entries()) {
        it(`point ${p.label}: ${p.price}`, () => {
          const fast = copy(p.point);
          const traced = copy(p.point);
          if (p.price === "error") {
            assert.throws(() => module.rate({ scopeId: p.scope, at: p.at, points: [fast] }), PointError);
            assert.throws(() => module.explain(traced, p.scope, p.at), PointError);
            return;
          }
          module.rate({ scopeId: p.scope, at: p.at, points: [fast] });
          assert.equal(fast.price, p.price, "fast path");
          const steps = module.explain(traced, p.scope, p.at);
          assert.equal(traced.price, p.price, "reference path");
          assert.ok(steps.length > 0, "explained");
          assert.ok(i >= 0);
        });
      }
      it("matches Python's decimal running CloudKitty's algorithm", () => {
        const got = runOracle(
          ex.data,
          ex.points.map((p) => ({ tenant: p.scope, at: p.at.getTime(), point: p.point })),
        );
        assert.deepEqual(
          got.map((g) => (g.startsWith("error") ? "error" : g)),
          ex.points.map((p) => p.price),
        );
      });
    });
  }

  it("price a whole frame of mixed points in one call as they price one by one", () => {
    for (const ex of examples) {
      const ok = ex.points.filter((p) => p.price !== "error");
      const byScope = new Map<string, typeof ok>();
      for (const p of ok) byScope.set(`${p.scope}|${p.at.toISOString()}`, [...(byScope.get(`${p.scope}|${p.at.toISOString()}`) ?? []), p]);
      const module = new HashmapModule(() => new HashmapIndex(ex.data));
      for (const group of byScope.values()) {
        const first = group[0];
        assert.ok(first !== undefined);
        const points = group.map((p) => copy(p.point));
        module.rate({ scopeId: first.scope, at: first.at, points });
        assert.deepEqual(
          points.map((p) => p.price),
          group.map((p) => p.price),
          ex.title,
        );
      }
    }
  });
});
