/** Fixed-point decimals against the exact Decimal: the same strings at every scale and size. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "../../test/support/random.js";
import { Decimal } from "./decimal.js";
import { fixedLength, formatFixed, parseFixedInto, reg, timesPow10, writeFixedAscii } from "./fixed.js";

describe("fixed point", () => {
  it("prints like the exact decimal at every scale, tiny and huge coefficients included", () => {
    const r = seededRandom(11);
    const coefs = [0, 1, 5, 9, 10, 99999999, 100000000, 123456789012345, 2 ** 53 - 1];
    for (let i = 0; i < 2000; i++) coefs.push(Math.floor(r() * 2 ** 53));
    for (const m of coefs) {
      for (let s = 0; s <= 40; s++) {
        for (const sign of [1, -1]) {
          const v = sign * m;
          assert.equal(formatFixed(v, s), Decimal.of(BigInt(v), -s).toString(), `${v} / 10^${s}`);
        }
      }
    }
  });

  it("parses and prints every plain decimal that fits a double exactly, and refuses the others", () => {
    const r = seededRandom(7);
    for (let i = 0; i < 20_000; i++) {
      const intDigits = Math.floor(r() * 18);
      const fracDigits = Math.floor(r() * 20);
      let s = r() < 0.3 ? "-" : "";
      s +=
        intDigits === 0
          ? "0"
          : String(1 + Math.floor(r() * 9)) + Array.from({ length: intDigits - 1 }, () => Math.floor(r() * 10)).join("");
      if (fracDigits > 0) s += `.${Array.from({ length: fracDigits }, () => Math.floor(r() * 10)).join("")}`;
      const coef = BigInt(s.replace(".", "").replace("-", ""));
      const fits = coef < 2n ** 53n;
      assert.equal(parseFixedInto(s), fits, s);
      if (fits) {
        assert.equal(formatFixed(reg.m, reg.s), s === "-0" || /^-0(\.0+)?$/.test(s) ? s.slice(1) : s, s);
      }
    }
  });
});

describe("fixed point without strings", () => {
  it("measures and writes the very characters formatFixed prints", () => {
    const r = seededRandom(13);
    const out = new Uint8Array(64);
    for (let i = 0; i < 5000; i++) {
      const m = Math.floor(r() * 2 ** (1 + Math.floor(r() * 52))) * (r() < 0.3 ? -1 : 1);
      const s = Math.floor(r() * 30);
      const text = formatFixed(m, s);
      assert.equal(fixedLength(m, s), text.length, `${m} / 10^${s}`);
      out.fill(0);
      writeFixedAscii(out, 40, m, s);
      assert.equal(Buffer.from(out.subarray(40 - text.length, 40)).toString("latin1"), text, `${m} / 10^${s}`);
      assert.equal(out[39 - text.length], 0, "nothing written before");
    }
  });

  it("scales by powers of ten only while exact", () => {
    assert.equal(timesPow10(12, 3), 12000);
    assert.equal(timesPow10(-7, 0), -7);
    assert.equal(timesPow10(0, 400), 0);
    assert.ok(Number.isNaN(timesPow10(1, 23)));
    assert.ok(Number.isNaN(timesPow10(2 ** 50, 2)));
    assert.equal(timesPow10(2 ** 50, 0), 2 ** 50);
  });
});
