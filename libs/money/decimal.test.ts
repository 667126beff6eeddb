import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { Decimal, DecimalContext, DecimalSyntaxError, PYTHON_CONTEXT, sumDecimals } from "./decimal.js";

const d = (s: string) => Decimal.parse(s);

describe("Decimal", () => {
  it("parses and prints the wire format, keeping trailing zeros", () => {
    for (const s of ["0", "12.50000000", "-3", "0.001", "-0.5", "123456789012345678901234567890.123456789"]) {
      assert.equal(d(s).toString(), s);
    }
    assert.equal(d("+7").toString(), "7");
    assert.equal(d("007.10").toString(), "7.10");
  });

  it("refuses what is not plain decimal notation", () => {
    for (const s of ["", "1e3", "1.", ".5", "abc", "1,5", " 1", "NaN", "Infinity", "--1"]) {
      assert.throws(() => d(s), DecimalSyntaxError, s);
    }
  });

  it("parses exponents and bare fractions in loose mode", () => {
    assert.equal(Decimal.parseLoose("1e-7").toString(), "0.0000001");
    assert.equal(Decimal.parseLoose("2.5E+3").toString(), "2500");
    assert.equal(Decimal.parseLoose(".5").toString(), "0.5");
    assert.equal(Decimal.parseLoose("3.").toString(), "3");
    assert.throws(() => Decimal.parseLoose("."), DecimalSyntaxError);
    assert.throws(() => Decimal.parseLoose("e5"), DecimalSyntaxError);
  });

  it("converts a JS number through its shortest form", () => {
    assert.equal(Decimal.fromNumber(0.1).toString(), "0.1");
    assert.equal(Decimal.fromNumber(1e21).toString(), "1000000000000000000000");
    assert.equal(Decimal.fromNumber(-2.5e-8).toString(), "-0.000000025");
    assert.throws(() => Decimal.fromNumber(Number.NaN), DecimalSyntaxError);
  });

  it("adds, subtracts and multiplies exactly", () => {
    assert.equal(d("0.1").add(d("0.2")).toString(), "0.3");
    assert.equal(d("1.10").mul(d("1.62")).toString(), "1.7820");
    assert.equal(d("1").sub(d("0.001")).toString(), "0.999");
    assert.equal(d("-2.5").mul(d("4")).toString(), "-10.0");
    // No float drift over a million additions of 0.01.
    let s = Decimal.ZERO;
    const cent = d("0.01");
    for (let i = 0; i < 1_000_000; i++) s = s.add(cent);
    assert.equal(s.toString(), "10000.00");
  });

  it("compares across scales", () => {
    assert.equal(d("1.0").cmp(d("1")), 0);
    assert.ok(d("0.09").lt(d("0.1")));
    assert.ok(d("-1").lt(d("0")));
    assert.ok(d("128").gte(d("64")));
    assert.ok(d("2").gt(d("1.99999999999999999999999999")));
  });

  it("divides as Python's decimal does, digit for digit, at any precision (Python itself is the oracle)", () => {
    // Quotients that are rounded keep the context's precision, trailing zeros included (39/200 at 2 digits is 0.20);
    // exact ones shrink to the ideal exponent (1/4 is 0.25, 6/2 is 3). (Quotients Python would print with an exponent are left out.)
    const cases: Array<[string, string, number]> = [
      ["39", "200", 2],
      ["1", "4", 2],
      ["6", "2", 28],
      ["2", "3", 5],
      ["199", "1000", 2],
      ["0.99999999999999999999999999999", "1", 28],
      ["100", "3", 3],
      ["-39", "200", 2],
      ["1.000", "8", 3],
      ["123456", "1000", 3],
    ];
    const script = [
      "import sys",
      "from decimal import Decimal, getcontext",
      "for line in sys.stdin:",
      "    a, b, p = line.split()",
      "    getcontext().prec = int(p)",
      "    print(Decimal(a) / Decimal(b))",
    ].join("\n");
    const py = spawnSync("/usr/bin/python3", ["-c", script], { input: cases.map((c) => c.join(" ")).join("\n"), encoding: "utf8" });
    assert.equal(py.status, 0, py.stderr);
    const expected = py.stdout.trim().split("\n");
    cases.forEach(([a, b, p], i) => {
      assert.equal(d(a).div(d(b), p).toString(), expected[i], `${a} / ${b} at precision ${p}`);
    });
  });

  it("divides with Python's context precision and rounding", () => {
    assert.equal(d("1").div(d("3")).toString(), "0.3333333333333333333333333333");
    assert.equal(d("2").div(d("3")).toString(), "0.6666666666666666666666666667");
    assert.equal(d("1").div(d("4")).toString(), "0.25");
    assert.equal(d("6").div(d("2")).toString(), "3");
    assert.equal(d("1").div(d("1048576")).toString(), "0.00000095367431640625");
    assert.equal(d("-1").div(d("3")).toString(), "-0.3333333333333333333333333333");
    assert.throws(() => d("1").div(Decimal.ZERO), RangeError);
  });

  it("rounds half-even at the context precision", () => {
    assert.equal(d("1.25").roundSignificant(2).toString(), "1.2");
    assert.equal(d("1.35").roundSignificant(2).toString(), "1.4");
    assert.equal(d("999.96").roundSignificant(4).toString(), "1000");
    assert.equal(d("-1.25").roundSignificant(2, "half_up").toString(), "-1.3");
    assert.equal(PYTHON_CONTEXT.plus(d("1234567890123")).toString(), "1234567890123");
    // A context of precision 9, ROUND_HALF_UP.
    assert.equal(new DecimalContext(9, "half_up").plus(d("1234567890123")).toString(), "1234567890000");
  });

  it("quantizes, floors and ceils", () => {
    assert.equal(d("2.675").quantize(2).toString(), "2.68");
    assert.equal(d("2.665").quantize(2).toString(), "2.66");
    assert.equal(d("5").quantize(3).toString(), "5.000");
    assert.equal(d("99.1").ceil().toString(), "100");
    assert.equal(d("-99.1").ceil().toString(), "-99");
    assert.equal(d("-99.1").floor().toString(), "-100");
    assert.equal(d("99").floor().toString(), "99");
    assert.equal(d("1.2300").normalize().toString(), "1.23");
    assert.equal(d("5.000").normalize().toString(), "5");
  });

  it("sums decimal strings exactly", () => {
    assert.equal(sumDecimals(["2.487", "5.564", "34.4", "2.6357"]).toString(), "45.0867");
  });
});
