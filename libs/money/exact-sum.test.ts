/**
 * ExactSum against Decimal: the same sum whatever the terms (scales that
 * change, signs, terms and sums past 2^53, more digits than a double
 * holds), whether they stay on the fast path or spill to BigInt.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "../../test/support/random.js";
import { Decimal } from "./decimal.js";
import { ExactSum } from "./exact-sum.js";

function both(terms: string[]): [string, string] {
  const fast = new ExactSum();
  let slow = Decimal.ZERO;
  for (const t of terms) {
    fast.add(t);
    slow = slow.add(Decimal.parse(t));
  }
  return [fast.toString(), slow.normalize().toString()];
}

describe("ExactSum", () => {
  it("sums as Decimal does, by hand", () => {
    assert.equal(both(["1.25", "2.5", "-0.75"])[0], "3");
    assert.equal(both(["0.1", "0.2"])[0], "0.3", "no binary fraction drift");
    assert.equal(both(["9007199254740991", "1", "1"])[0], "9007199254740993", "past 2^53");
    assert.equal(both(["0.000000000000000000001", "1"])[0], "1.000000000000000000001", "more digits than a double");
    assert.equal(both(["123456789012345678901234567890.5", "-0.5"])[0], "123456789012345678901234567890");
    assert.equal(both([])[0], "0");
  });

  it("agrees with Decimal on random terms of every scale and size", () => {
    const r = seededRandom(7);
    for (let round = 0; round < 200; round++) {
      const terms = Array.from({ length: 1 + Math.floor(r() * 50) }, () => {
        const digits = 1 + Math.floor(r() * 22);
        let int = "";
        for (let i = 0; i < digits; i++) int += String(Math.floor(r() * 10));
        const scale = Math.floor(r() * 12);
        const text =
          scale === 0 ? int : `${int.slice(0, Math.max(1, int.length - scale))}.${int.slice(Math.max(1, int.length - scale)) || "0"}`;
        return r() < 0.3 ? `-${text}` : text;
      });
      const [fast, slow] = both(terms);
      assert.equal(fast, slow, JSON.stringify(terms));
    }
  });

  it("adds another sum", () => {
    const a = new ExactSum();
    a.add("1.5");
    const b = new ExactSum();
    b.add("9007199254740993.25");
    a.addSum(b);
    a.add("0.25");
    assert.equal(a.toString(), "9007199254740995");
  });
});
