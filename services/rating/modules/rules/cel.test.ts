/**
 * The CEL environment of price rules: what compiles (and where a rule that
 * does not is wrong), exact decimal arithmetic, evaluation errors, and the
 * bounds that keep one evaluation cheap whatever the rule.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bindings, CelCompileError, CelEvalError, compileCel, evalCondition, evalPrice, MAX_NODES, type RuleInput } from "./cel.js";

const POINT: RuleInput = {
  type: "instance",
  unit: "instance",
  qty: "2",
  price: "1.50",
  groupby: { flavor: "m1.tiny", project_id: "p1" },
  metadata: { flavor: "m1.nano", memory: "512" },
  begin: new Date("2026-03-04T05:00:00Z"),
  scopeId: "p1",
};

function price(expr: string, input: RuleInput = POINT): string {
  return evalPrice(compileCel(expr), bindings(input));
}

function holds(expr: string, input: RuleInput = POINT): boolean {
  return evalCondition(compileCel(expr), bindings(input));
}

function compileError(expr: string): CelCompileError {
  try {
    compileCel(expr);
  } catch (err) {
    if (err instanceof CelCompileError) return err;
    throw err;
  }
  throw new Error(`${expr} compiled`);
}

describe("rules CEL", () => {
  it("sees the point: type, unit, qty, price, groupby, metadata, desc (groupby wins), begin, scope_id", () => {
    assert.equal(holds("type == 'instance' && unit == 'instance' && scope_id == 'p1'"), true);
    assert.equal(holds("qty == '2' && price == '1.50'"), true);
    assert.equal(
      holds("groupby.flavor == 'm1.tiny' && metadata.flavor == 'm1.nano' && desc.flavor == 'm1.tiny' && desc.memory == '512'"),
      true,
    );
    assert.equal(holds("begin.getFullYear() == 2026 && begin.getMonth() == 2 && begin.getHours() == 5"), true);
    assert.equal(holds("begin >= timestamp('2026-03-01T00:00:00Z') && begin < timestamp('2026-04-01T00:00:00Z')"), true);
    assert.equal(holds("'zone' in groupby"), false);
    assert.equal(holds("has(metadata.memory) && metadata.memory.matches('^[0-9]+$')"), true);
    assert.equal(holds("groupby.exists(k, k == 'project_id') && size(metadata) == 2"), true);
  });

  it("computes prices exactly with the decimal functions", () => {
    assert.equal(price("decimal.mul(qty, '0.1')"), "0.2");
    assert.equal(price("decimal.add(price, decimal.mul(qty, '0.005'))"), "1.510");
    assert.equal(price("decimal.sub('0.3', '0.1')"), "0.2");
    assert.equal(price("decimal.mul(price, 3)"), "4.50");
    assert.equal(price("decimal.div('1', '3')"), "0.3333333333333333333333333333");
    assert.equal(price("decimal.div('10', '4')"), "2.5");
    assert.equal(price("decimal.round(decimal.div('2', '3'), 4)"), "0.6667");
    assert.equal(price("decimal.round('2.5', 0)"), "2");
    assert.equal(price("decimal.round('2.5', 0, 'half_up')"), "3");
    assert.equal(price("decimal.round('-2.51', 1, 'floor')"), "-2.6");
    assert.equal(price("decimal.round('1234.5', -2)"), "1200");
    assert.equal(price("decimal.min(price, '1') "), "1");
    assert.equal(price("decimal.max(price, '1')"), "1.50");
    assert.equal(price("decimal.neg(decimal.abs('-3.0'))"), "-3.0");
    assert.equal(price("'12.5'"), "12.5");
    assert.equal(price("7"), "7");
    assert.equal(price("decimal.gt(qty, '1') ? decimal.mul(price, '0.9') : price"), "1.350");
    assert.equal(
      holds("decimal.cmp(qty, 2) == 0 && decimal.le(price, '1.5') && decimal.valid(metadata.memory) && !decimal.valid('1e3')"),
      true,
    );
    // Far beyond a double's precision.
    assert.equal(
      price("decimal.mul('123456789012345678901234567890.123', '1000000000.000000001')"),
      "123456789012345679024691356902468678901.234567890123",
    );
  });

  it("refuses, at compile time and with the position, what does not compile or is not allowed", () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ["qty >", 1, 5, /syntax error/],
      // The parser reports where it gave up, which can be before the stray comma.
      ["type == 'a' &&\n  decimal.mul(qty,, '1')", 2, 10, /syntax error/],
      ["quantity == '1'", 1, 1, /unknown variable quantity/],
      ["decimal.mul(qty, 0.5)", 1, 18, /the double 0.5 is not exact/],
      ["double(qty) > 1", 1, 1, /double\(\) is not exact/],
      ["http_get('x') == ''", 1, 1, /unknown function http_get/],
      ["groupby.all(k, metadata.exists(j, j == k))", 1, 24, /cannot be nested/],
    ];
    for (const [expr, line, column, problem] of cases) {
      const e = compileError(expr);
      assert.match(e.message, problem, expr);
      assert.deepEqual([e.line, e.column], [line, column], `${expr}: ${e.message}`);
    }
    const big = Array.from({ length: MAX_NODES }, () => "1").join(" + ");
    assert.match(compileError(big).message, /more than 400 nodes/);
    assert.match(compileError(`'${"x".repeat(5000)}'`).message, /at most 4096/);
  });

  it("reports evaluation failures and results that are not prices", () => {
    const failing: Array<[string, RegExp]> = [
      ["groupby.zone == 'a' ? '1' : '2'", /expression failed: .*zone/],
      ["decimal.mul(qty, 'abc')", /"abc" is not a decimal string/],
      ["decimal.div(qty, 0)", /division by zero/],
      ["true", /gave boolean true, not a decimal string/],
      ["'1,5'", /"1,5", which is not a decimal string/],
      ["[1, 2]", /a list, map or message/],
    ];
    for (const [expr, problem] of failing)
      assert.throws(
        () => price(expr),
        (e: unknown) => e instanceof CelEvalError && problem.test(e.message),
        expr,
      );
    assert.throws(() => holds("'yes'"), /condition gave the string "yes", not a bool/);
  });

  it("offers only pure functions: CEL's standard library and the decimal helpers", () => {
    // Anything that could reach the outside world would have to be a function; none is registered.
    for (const name of ["fetch", "http.get", "os.exec", "env", "now", "readFile", "sleep"]) {
      assert.match(compileError(`${name}('x') == ''`).message, /unknown function/, name);
    }
  });

  it("keeps the costliest allowed rule cheap on a point with many attributes", () => {
    const groupby: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) groupby[`key${i}`] = `value${i}`;
    const input = { ...POINT, groupby };
    // One comprehension (nesting is refused), a regex per attribute, under the node limit.
    const expr = compileCel("groupby.all(k, k.matches('^key[0-9]+$') && groupby[k].startsWith('value')) ? decimal.mul(qty, '2') : '0'");
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) assert.equal(evalPrice(expr, bindings(input)), "4");
    const ms = (performance.now() - t0) / 5;
    // matches compiles its pattern on each call (about 25 µs): the regex dominates.
    assert.ok(ms < 500, `one evaluation over 2000 attributes took ${ms.toFixed(1)} ms`);
  });
});
