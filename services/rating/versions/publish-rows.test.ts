/**
 * Publishing over what the rating tables hold besides plain mappings, on a
 * real rating process: a named mapping and a CEL rule that change end at
 * the effective date and their successors start there under the same names;
 * a mapping scheduled after that date is dropped; quotes on both sides of
 * it computed by hand; the pricers of the version and of a draft, with the
 * CEL rules, as Quote prices; and a new price list with thresholds published
 * effective now (services and fields created, thresholds changed at once).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { PriceListChangeType, PriceListServiceService } from "../../../libs/gen/ratemesh/v1/pricelist.js";
import {
  CreateMappingRequest,
  CreateRuleRequest,
  ListMappingsRequest,
  ListRulesRequest,
  MappingType,
  UpdateMappingRequest,
} from "../../../libs/gen/ratemesh/v1/rating.js";
import { connect } from "../../../test/support/mesh.js";
import { content, fromNow, HOUR, point } from "../../../test/support/price-lists.js";
import { ratingDatabase, rejectsWith, startRating } from "../../../test/support/rating.js";
import type { RatingFrame } from "../domain.js";
import { loadSnapshot } from "../state.js";
import { SqliteRatingDatabase } from "../store/sqlite.js";
import { PriceListPricers } from "./pricer.js";

describe("publishing over named mappings, CEL rules and scheduled rows", () => {
  it("ends what changes at the effective date, starts its successor under the same name, drops what was scheduled after it", async (t) => {
    const db = await ratingDatabase(t, "sqlite");
    const [r] = await startRating(t, "sqlite", { sections: { rating: { backend: db.backend, url: db.url } } });
    assert.ok(r !== undefined);
    const { rating, hashmap, rules } = r.clients;
    const lists = connect(t, r.proc.address).client(PriceListServiceService);
    const dayAgo = new Date(Date.now() - 24 * HOUR);
    const effective = fromNow(HOUR);
    const tinyStart = fromNow(3 * HOUR);
    const svc = (await hashmap.createService({ name: "instance" })).service?.serviceId ?? "";
    const field = (await hashmap.createField({ serviceId: svc, name: "flavor" })).field?.fieldId ?? "";
    await hashmap.createMapping(
      CreateMappingRequest.fromPartial({ fieldId: field, value: "m1.small", cost: "0.50", name: "small", start: dayAgo, force: true }),
    );
    // Scheduled after E: publishing at E replaces it.
    await hashmap.createMapping(CreateMappingRequest.fromPartial({ fieldId: field, value: "m1.tiny", cost: "0.10", start: tinyStart }));
    await rules.createRule(
      CreateRuleRequest.fromPartial({
        name: "discount",
        condition: "desc.flavor == 'm1.small'",
        expression: "decimal.mul(price, '0.9')",
        start: dayAgo,
        force: true,
      }),
    );
    await rating.updateModule({ name: "hashmap", enabled: true, priority: 10 });
    await rating.updateModule({ name: "rules", enabled: true, priority: 1 });

    const draft = (await lists.createDraft({ name: "next", content: undefined })).draft?.content;
    assert.ok(draft !== undefined);
    const flavor = draft.services[0]?.fields[0];
    assert.deepEqual(
      flavor?.mappings.map((m) => [m.value, m.cost, m.name]),
      [["m1.small", "0.50", "small"]],
      "a copy of what is in force now (m1.tiny starts later)",
    );
    (flavor?.mappings[0] as { cost: string }).cost = "0.65";
    (draft.rules[0] as { expression: string }).expression = "decimal.mul(price, '0.8')";
    await lists.updateDraft({ name: "next", content: draft });
    const diff = await lists.diffDraft({ name: "next", at: effective });
    assert.deepEqual(
      diff.changes.map((c) => [c.kind, c.key, c.change, c.old, c.new]),
      [
        [
          "mapping",
          "instance/flavor=m1.small",
          PriceListChangeType.PRICE_LIST_CHANGE_TYPE_CHANGED,
          "flat 0.50 name small",
          "flat 0.65 name small",
        ],
        [
          "mapping",
          "instance/flavor=m1.tiny",
          PriceListChangeType.PRICE_LIST_CHANGE_TYPE_REMOVED,
          `flat 0.10 from ${tinyStart.toISOString()}`,
          "",
        ],
        [
          "rule",
          "discount",
          PriceListChangeType.PRICE_LIST_CHANGE_TYPE_CHANGED,
          "order 0 when desc.flavor == 'm1.small': decimal.mul(price, '0.9')",
          "order 0 when desc.flavor == 'm1.small': decimal.mul(price, '0.8')",
        ],
      ],
    );
    const published = await lists.publishDraft({ name: "next", effective, force: false });
    assert.equal(published.version?.summary, "2 changed, 1 removed");

    // Before E: 2 × 0.50 = 1.00, × 0.9 = 0.900; from E: 2 × 0.65 = 1.30, × 0.8 = 1.040; m1.tiny never priced.
    const points = [point("m1.small", "2"), point("m1.tiny", "5")];
    const before = await rating.quote({ points, scopeId: "", at: new Date(effective.getTime() - 1000) });
    const after = await rating.quote({ points, scopeId: "", at: fromNow(4 * HOUR) });
    assert.deepEqual(
      before.points.map((p) => p.price),
      ["0.900", "0"],
    );
    assert.deepEqual(
      after.points.map((p) => p.price),
      ["1.040", "0"],
    );
    const listed = await rules.listRules(ListRulesRequest.fromPartial({}));
    assert.deepEqual(
      listed.rules.map((x) => [x.name, x.end?.getTime() ?? null, x.start?.getTime()]).sort((a, b) => Number(a[2]) - Number(b[2])),
      [
        ["discount", effective.getTime(), dayAgo.getTime()],
        ["discount", null, effective.getTime()],
      ],
      "the old rule ends at E, its successor starts there under the same name",
    );
    // The successor of the named mapping has not started: it may still change, its name shared with the one that ends at E.
    const named = (await hashmap.listMappings(ListMappingsRequest.fromPartial({ fieldId: field }))).mappings.filter(
      (m) => m.name === "small",
    );
    assert.deepEqual(
      named.map((m) => [m.cost, m.end?.getTime() ?? null]),
      [
        ["0.50", effective.getTime()],
        ["0.65", null],
      ],
    );
    const successor = named[1]?.mappingId ?? "";
    await hashmap.updateMapping(UpdateMappingRequest.fromPartial({ mappingId: successor, cost: "0.65", description: "spring" }));
    // A name still names one rule at any instant: another "discount" overlapping the successor is refused.
    await rejectsWith(
      rules.createRule(CreateRuleRequest.fromPartial({ name: "discount", expression: "price", start: fromNow(5 * HOUR) })),
      status.ALREADY_EXISTS,
      /^a rule named "discount" already exists/,
    );

    // Pricers of the version and of a draft made from it, with the CEL rules: 2 × 0.65 × 0.8 = 1.040; 2 × 0.70 × 0.8 = 1.120.
    const local = new SqliteRatingDatabase(db.url);
    t.after(() => local.close());
    const pricers = new PriceListPricers(local, { current: await loadSnapshot(local), caughtUp: async () => {} }, { frameTimeout: 2 });
    const priced = async (pricer: Promise<{ rate(frames: RatingFrame[]): void }>) => {
      const frame: RatingFrame = {
        scopeId: "",
        at: new Date(0),
        points: [{ ...point("m1.small", "2"), groupby: {}, metadata: { flavor: "m1.small" } }],
      };
      (await pricer).rate([frame]);
      return frame.points[0]?.price;
    };
    assert.equal(await priced(pricers.forVersion(1)), "1.040");
    const resolved = await pricers.resolve({ kind: "version", version: 1n });
    assert.equal(resolved.description, "version 1");
    const tiny: RatingFrame = {
      scopeId: "",
      at: new Date(0),
      points: [{ ...point("m1.tiny", "5"), groupby: {}, metadata: { flavor: "m1.tiny" } }],
    };
    assert.equal(
      resolved.priceFrame(tiny),
      0,
      "the instance service and the CEL rule cover m1.tiny: priced 0 (no value matched), not unpriced",
    );
    assert.equal(tiny.points[0]?.price, "0");
    const v1 = (await lists.getVersion({ number: "1" })).version?.content;
    assert.ok(v1 !== undefined);
    (v1.services[0]?.fields[0]?.mappings[0] as { cost: string }).cost = "0.70";
    await lists.createDraft({ name: "what-if", content: v1 });
    assert.equal(await priced(pricers.forDraft("what-if")), "1.120");
    (v1.services[0]?.fields[0]?.mappings[0] as { cost: string }).cost = "0.75";
    await lists.updateDraft({ name: "what-if", content: v1 });
    assert.equal(await priced(pricers.forDraft("what-if")), "1.200", "an updated draft is priced anew: 2 × 0.75 × 0.8");
  });

  it("publishes a new price list with thresholds effective now: services and fields created, thresholds at once", async (t) => {
    const [r] = await startRating(t, "sqlite");
    assert.ok(r !== undefined);
    const { rating } = r.clients;
    const lists = connect(t, r.proc.address).client(PriceListServiceService);
    await rating.updateModule({ name: "hashmap", enabled: true, priority: 10 });
    const bulk = content("0.50");
    bulk.services[0]?.thresholds.push({ level: "10", type: MappingType.MAPPING_TYPE_RATE, cost: "0.5", group: "", tenant: "" });
    await lists.createDraft({ name: "bulk", content: bulk });
    const diff = await lists.diffDraft({ name: "bulk", at: undefined });
    assert.deepEqual(
      diff.changes.map((c) => `${c.change === PriceListChangeType.PRICE_LIST_CHANGE_TYPE_ADDED ? "+" : "?"} ${c.kind} ${c.key}`),
      [
        "+ service instance",
        "+ field instance/flavor",
        "+ mapping instance/flavor=m1.large",
        "+ mapping instance/flavor=m1.small",
        "+ threshold instance level 10",
      ],
    );
    const before = new Date(Date.now() - HOUR);
    const { version } = await lists.publishDraft({ name: "bulk", effective: undefined, force: false });
    assert.equal(version?.summary, "3 added");
    // 20 × 0.50 = 10.00, × 0.5 from 10 units on = 5.000; 5 × 0.50 = 2.50 (below the level).
    const q = await rating.quote({ points: [point("m1.small", "20"), point("m1.small", "5")], scopeId: "", at: undefined });
    assert.deepEqual([q.points.map((p) => p.price), q.total, q.priceListVersion], [["5.000", "2.50"], "7.500", "1"]);
    const earlier = await rating.quote({ points: [point("m1.small", "20")], scopeId: "", at: before });
    // An hour ago no mapping was in force (flat 0 × 20 = 0), but the threshold has no dates: 0 × 0.5 = 0.0.
    assert.deepEqual([earlier.total, earlier.priceListVersion], ["0.0", "0"]);
  });
});
