/**
 * RulesService and the rules module over gRPC against a real rating process
 * (SQLite and PostgreSQL): rules that do not compile are refused with the
 * position of the error and nothing stored; rules run after the hashmap in
 * their order, per project and validity window; a failing rule fails the
 * request naming the point; a frame that spends too long in rules stops.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { status } from "@grpc/grpc-js";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { CreateMappingRequest, CreateRuleRequest, ListRulesRequest, UpdateRuleRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import type { IniSections } from "../../test/support/mesh.js";
import { BACKENDS, type Backend, type RatingClients, rejectsWith, startRating } from "../../test/support/rating.js";

const HOUR = 3600_000;

function point(flavor: string, qty = "1"): DataPoint {
  return { type: "instance", unit: "", qty, price: "0", groupby: { flavor }, metadata: {} };
}

/** A rating process with the rules module enabled and one rule, in force since an hour ago. */
async function withRule(
  t: TestContext,
  backend: Backend,
  rule: { name: string; condition: string; expression: string },
  opts: { sections?: IniSections } = {},
): Promise<RatingClients> {
  const [r] = await startRating(t, backend, opts);
  assert.ok(r !== undefined);
  await r.clients.rating.updateModule({ name: "rules", enabled: true, priority: undefined });
  await r.clients.rules.createRule(CreateRuleRequest.fromPartial({ ...rule, start: new Date(Date.now() - HOUR), force: true }));
  return r.clients;
}

for (const backend of BACKENDS) {
  describe(`RulesService on ${backend}`, () => {
    it("refuses rules that do not compile, with the position, and prices with the others after the hashmap", async (t) => {
      const [r] = await startRating(t, backend);
      assert.ok(r !== undefined);
      const { rules, rating, hashmap } = r.clients;
      const past = new Date(Date.now() - HOUR);
      const rule = (over: Partial<CreateRuleRequest>) =>
        rules.createRule(CreateRuleRequest.fromPartial({ start: past, force: true, ...over }));

      await rejectsWith(
        rule({ name: "bad", expression: "price *" }),
        status.INVALID_ARGUMENT,
        /^expression: line 1, column \d+: syntax error/,
      );
      await rejectsWith(
        rule({ name: "bad", condition: "flavour == 'gold'", expression: "price" }),
        status.INVALID_ARGUMENT,
        /^condition: line 1, column 1: unknown variable flavour/,
      );
      await rejectsWith(
        rule({ name: "bad", expression: "decimal.mul(price, 0.9)" }),
        status.INVALID_ARGUMENT,
        /^expression: line 1, column 20: the double 0.9 is not exact/,
      );
      await rejectsWith(rule({ name: "", expression: "price" }), status.INVALID_ARGUMENT, "name");
      await rejectsWith(rule({ name: "x", expression: "" }), status.INVALID_ARGUMENT, "expression");
      await rejectsWith(
        rule({ name: "x", expression: "price", start: new Date(Date.now() - HOUR), force: false }),
        status.INVALID_ARGUMENT,
        "start",
      );
      assert.equal((await rules.listRules(ListRulesRequest.fromPartial({ includeDeleted: true }))).rules.length, 0, "nothing stored");

      // The hashmap prices first (priority 10), then the rules (priority 1).
      const svc = (await hashmap.createService({ name: "instance" })).service?.serviceId ?? "";
      await hashmap.createMapping(CreateMappingRequest.fromPartial({ serviceId: svc, cost: "0.50", start: past, force: true }));
      await rating.updateModule({ name: "hashmap", enabled: true, priority: 10 });
      await rating.updateModule({ name: "rules", enabled: true, priority: undefined });

      await rule({ name: "gold-discount", condition: "desc.flavor == 'gold'", expression: "decimal.mul(price, '0.9')", order: 10 });
      await rule({ name: "minimum-charge", condition: "decimal.lt(price, '1')", expression: "'1'", order: 5 });
      await rule({ name: "p2-surcharge", expression: "decimal.add(price, '100')", order: 20, tenantId: "p2" });
      const future = new Date(Math.ceil((Date.now() + HOUR) / 1000) * 1000);
      await rule({ name: "next-year", expression: "decimal.mul(price, 2)", order: 1, start: future });
      await rejectsWith(
        rule({ name: "gold-discount", expression: "price" }),
        status.ALREADY_EXISTS,
        /named "gold-discount" already exists/,
      );

      const quote = async (points: DataPoint[], scopeId = "", at?: Date) =>
        (await rating.quote({ points, scopeId, at })).points.map((p) => p.price);
      // gold, qty 4: 0.50 × 4 = 2.00, then × 0.9; silver qty 1: 0.50 → raised to the minimum 1.
      assert.deepEqual(await quote([point("gold", "4"), point("silver")]), ["1.800", "1"]);
      // p2's surcharge runs first (order 20), so the minimum no longer applies.
      assert.deepEqual(await quote([point("gold", "4"), point("silver")], "p2"), ["91.800", "100.50"]);
      // From next year on, the next-year rule doubles (runs last: order 1).
      assert.deepEqual(await quote([point("silver")], "", future), ["2"]);

      const explained = await rating.explain({ point: point("gold", "4"), scopeId: "", at: undefined });
      assert.deepEqual(
        explained.modules.map((m) => [m.module, m.priceBefore, m.priceAfter]),
        [
          ["hashmap", "0", "2.00"],
          ["noop", "2.00", "2.00"],
          ["rules", "2.00", "1.800"],
        ],
      );
      const steps = explained.modules[2]?.steps ?? [];
      assert.match(steps[0]?.detail ?? "", /gold-discount.*holds.*= 1.800/);
      assert.match(steps[1]?.detail ?? "", /minimum-charge.*is false/);

      // Rate uses the frame's begin as the instant and the frame's scope.
      const rated = await rating.rate({ frames: [{ scopeId: "p2", begin: future, end: undefined, points: [point("silver")] }] });
      assert.equal(rated.frames[0]?.points[0]?.price, "201.00");

      // A started rule may only get an end; a deleted one no longer applies.
      const listed = (await rules.listRules(ListRulesRequest.fromPartial({}))).rules;
      assert.deepEqual(
        listed.map((x) => x.name),
        ["gold-discount", "minimum-charge", "p2-surcharge", "next-year"],
      );
      const gold = listed[0]?.ruleId ?? "";
      await rejectsWith(
        rules.updateRule(UpdateRuleRequest.fromPartial({ ruleId: gold, expression: "price" })),
        status.INVALID_ARGUMENT,
        "expression",
      );
      await rejectsWith(
        rules.updateRule(UpdateRuleRequest.fromPartial({ ruleId: gold, expression: "price +" })),
        status.INVALID_ARGUMENT,
        /^expression: line 1/,
      );
      const nextYear = listed[3]?.ruleId ?? "";
      const changed = await rules.updateRule(UpdateRuleRequest.fromPartial({ ruleId: nextYear, expression: "decimal.mul(price, 3)" }));
      assert.equal(changed.rule?.expression, "decimal.mul(price, 3)");
      await rules.deleteRule({ ruleId: gold });
      assert.deepEqual(await quote([point("gold", "4")]), ["2.00"]);
      assert.equal((await rules.listRules(ListRulesRequest.fromPartial({ includeDeleted: true }))).rules.length, 4);
      assert.equal((await rules.listRules(ListRulesRequest.fromPartial({ tenantId: "p2" }))).rules.length, 1);
      assert.equal((await rules.listRules(ListRulesRequest.fromPartial({ activeAt: future }))).rules.length, 3);
    });

    it("fails a request whose point makes a rule fail, naming the point and the rule", async (t) => {
      const { rating } = await withRule(t, backend, { name: "by-zone", condition: "groupby.zone == 'eu'", expression: "'5'" });
      const ok: DataPoint = { type: "x", unit: "", qty: "1", price: "0", groupby: { zone: "eu" }, metadata: {} };
      const missing: DataPoint = { ...ok, groupby: {} };
      assert.equal((await rating.quote({ points: [ok], scopeId: "", at: undefined })).total, "5");
      await rejectsWith(
        rating.quote({ points: [ok, missing], scopeId: "", at: undefined }),
        status.FAILED_PRECONDITION,
        /^points\[1\]: rule "by-zone" \(.*\): condition failed/,
      );
      await rejectsWith(
        rating.rate({ frames: [{ scopeId: "p", begin: new Date(), end: undefined, points: [missing] }] }),
        status.FAILED_PRECONDITION,
        /^frames\[0\]\.points\[0\]: rule "by-zone"/,
      );
    });
  });
}

describe("rules time bound", () => {
  it("stops a frame that spends more than [rating] rules_frame_timeout in rules, with DEADLINE_EXCEEDED", async (t) => {
    // Each evaluation compiles a regular expression per attribute: slow on purpose.
    const { rating } = await withRule(
      t,
      "sqlite",
      { name: "slow", condition: "groupby.all(k, k.matches('^k[0-9]+$') && groupby[k].matches('^v.*$'))", expression: "'1'" },
      { sections: { rating: { rules_frame_timeout: "0.05s" } } },
    );
    const groupby: Record<string, string> = {};
    for (let i = 0; i < 100; i++) groupby[`k${i}`] = `v${i}`;
    const points: DataPoint[] = Array.from({ length: 2000 }, () => ({ type: "x", unit: "", qty: "1", price: "0", groupby, metadata: {} }));
    const t0 = Date.now();
    await rejectsWith(
      rating.rate({ frames: [{ scopeId: "p", begin: new Date(), end: undefined, points }] }, { deadlineSeconds: 60 }),
      status.DEADLINE_EXCEEDED,
      /^rules: the frame of scope "p" spent more than 0.05 s in price rules/,
    );
    assert.ok(Date.now() - t0 < 5000, "stopped early");
    // A small frame still prices.
    const small = await rating.rate({ frames: [{ scopeId: "p", begin: new Date(), end: undefined, points: points.slice(0, 1) }] });
    assert.equal(small.frames[0]?.points[0]?.price, "1");
  });
});
