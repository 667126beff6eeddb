/** The shared output layer: exact decimals in csv and json, a fixed display precision in tables. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { csvLine, displayDecimal, renderRows } from "./output.js";

describe("displayDecimal", () => {
  it("rounds half up by decimal arithmetic, never through a double", () => {
    assert.equal(displayDecimal("1.005", 2), "1.01"); // 1.005 is 1.00499999... as a double
    assert.equal(displayDecimal("2.675", 2), "2.68");
    assert.equal(displayDecimal("-0.125", 2), "-0.13");
    assert.equal(displayDecimal("0.0570000", 2), "0.06");
    assert.equal(displayDecimal("12", 2), "12.00");
    assert.equal(displayDecimal("123456789012345678901234567890.555", 2), "123456789012345678901234567890.56");
    assert.equal(displayDecimal("0.00001", 4), "0.0000");
  });
  it("leaves what is not a decimal alone", () => {
    assert.equal(displayDecimal("", 2), "");
    assert.equal(displayDecimal("n/a", 2), "n/a");
  });
});

describe("renderRows", () => {
  const columns = [{ key: "name" }, { key: "qty", decimal: true }, { key: "price", decimal: true }];
  const rows = [
    { name: "a", qty: "1.005", price: "10" },
    { name: "long name", qty: "200", price: "0.0570000" },
  ];

  it("aligns a table, decimals right-aligned at the display precision", () => {
    assert.equal(
      renderRows("table", columns, rows, 2),
      ["name          qty  price", "---------  ------  -----", "a            1.01  10.00", "long name  200.00   0.06", ""].join("\n"),
    );
  });

  it("keeps every digit in csv and json", () => {
    assert.equal(renderRows("csv", columns, rows), "name,qty,price\na,1.005,10\nlong name,200,0.0570000\n");
    assert.deepEqual(JSON.parse(renderRows("json", columns, rows)), rows);
  });

  it("quotes csv cells that need it", () => {
    assert.equal(csvLine(["a,b", 'say "hi"', " pad", "plain"]), '"a,b","say ""hi"""," pad",plain\n');
  });
});
