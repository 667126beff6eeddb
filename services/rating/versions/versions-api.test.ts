/**
 * PriceListService over gRPC against a real rating process (SQLite and
 * PostgreSQL): a draft copied from what is in force, edited, diffed and
 * published from a future date, so that Quote before that date gives the
 * old price and after it the new one (both computed by hand here); a past
 * date refused without force and accepted with it; thresholds refused in
 * a future-dated publish; the history with its publisher; and the pricer
 * of a version pricing a frame as Quote does where that version is in force.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { AuditServiceService } from "../../../libs/gen/ratemesh/v1/audit.js";
import type { DataPoint } from "../../../libs/gen/ratemesh/v1/common.js";
import { PriceListChangeType, type PriceListContent, PriceListServiceService } from "../../../libs/gen/ratemesh/v1/pricelist.js";
import { CreateMappingRequest, CreateRuleRequest, ListRulesRequest, MappingType } from "../../../libs/gen/ratemesh/v1/rating.js";
import { connect } from "../../../test/support/mesh.js";
import { BACKENDS, type Backend, ratingDatabase, rejectsWith, startRating } from "../../../test/support/rating.js";
import type { RatingFrame } from "../domain.js";
import { loadSnapshot } from "../state.js";
import { PostgresRatingDatabase } from "../store/postgres.js";
import type { SqlDatabase } from "../store/sql.js";
import { SqliteRatingDatabase } from "../store/sqlite.js";
import { PriceListPricers } from "./pricer.js";

const HOUR = 3600_000;
const FLAT = MappingType.MAPPING_TYPE_FLAT;

function point(flavor: string, qty: string): DataPoint {
  return { type: "instance", unit: "", qty, price: "0", groupby: { id: `vm-${flavor}` }, metadata: { flavor } };
}

/** The whole-second instant `ms` from now (Timestamps keep milliseconds, but round numbers read better). */
function fromNow(ms: number): Date {
  return new Date(Math.floor((Date.now() + ms) / 1000) * 1000);
}

function content(small: string, extra: Partial<PriceListContent> = {}): PriceListContent {
  return {
    groups: [],
    services: [
      {
        name: "instance",
        mappings: [],
        thresholds: [],
        fields: [
          {
            name: "flavor",
            mappings: [
              { value: "m1.large", type: FLAT, cost: "1.20", group: "", tenant: "", name: "", description: "" },
              { value: "m1.small", type: FLAT, cost: small, group: "", tenant: "", name: "", description: "" },
            ],
            thresholds: [],
          },
        ],
      },
    ],
    rules: [],
    ...extra,
  };
}

async function openDb(db: { backend: Backend; url: string }): Promise<SqlDatabase> {
  return db.backend === "postgresql" ? PostgresRatingDatabase.open(db.url) : new SqliteRatingDatabase(db.url);
}

for (const backend of BACKENDS) {
  describe(`PriceListService on ${backend}`, () => {
    it("drafts, diffs and publishes from a date; quotes before and after it; history; the pricer of a version", async (t) => {
      const db = await ratingDatabase(t, backend);
      const [r] = await startRating(t, backend, { sections: { rating: { backend: db.backend, url: db.url } } });
      assert.ok(r !== undefined);
      const { rating, hashmap } = r.clients;
      const lists = connect(t, r.proc.address).client(PriceListServiceService);

      // In force now: instance priced by flavor, m1.small at 0.50 (since a day ago).
      const svc = (await hashmap.createService({ name: "instance" })).service?.serviceId ?? "";
      const field = (await hashmap.createField({ serviceId: svc, name: "flavor" })).field?.fieldId ?? "";
      await hashmap.createMapping(
        CreateMappingRequest.fromPartial({
          fieldId: field,
          value: "m1.small",
          cost: "0.50",
          start: new Date(Date.now() - 24 * HOUR),
          force: true,
        }),
      );
      await rating.updateModule({ name: "hashmap", enabled: true, priority: 10 });

      // A draft copies what is in force.
      const created = await lists.createDraft({ name: "spring", content: undefined });
      assert.equal(created.draft?.createdBy, "anonymous (noauth)");
      const copied = created.draft?.content?.services[0]?.fields[0]?.mappings ?? [];
      assert.deepEqual(
        copied.map((m) => [m.value, m.cost]),
        [["m1.small", "0.50"]],
      );
      await rejectsWith(lists.createDraft({ name: "spring", content: undefined }), status.ALREADY_EXISTS, /already exists/);
      await rejectsWith(
        lists.updateDraft({ name: "spring", content: content("0,65") }),
        status.INVALID_ARGUMENT,
        "content.services[0].fields[0].mappings[1].cost",
      );

      // Staged: m1.small from 0.50 to 0.65, m1.large added at 1.20.
      await lists.updateDraft({ name: "spring", content: content("0.65") });
      const diff = await lists.diffDraft({ name: "spring", at: undefined });
      assert.deepEqual(
        diff.changes.map((c) => [c.kind, c.key, c.change, c.old, c.new]),
        [
          ["mapping", "instance/flavor=m1.large", PriceListChangeType.PRICE_LIST_CHANGE_TYPE_ADDED, "", "flat 1.20"],
          ["mapping", "instance/flavor=m1.small", PriceListChangeType.PRICE_LIST_CHANGE_TYPE_CHANGED, "flat 0.50", "flat 0.65"],
        ],
      );
      assert.deepEqual(
        (await lists.listDrafts({})).drafts.map((d) => d.name),
        ["spring"],
      );

      // A past date needs force; refused, nothing changed.
      await rejectsWith(
        lists.publishDraft({ name: "spring", effective: fromNow(-HOUR), force: false }),
        status.INVALID_ARGUMENT,
        "effective",
      );
      assert.equal((await lists.listVersions({ pageSize: 0, pageToken: "" })).versions.length, 0);

      // Published from E, an hour from now.
      const effective = fromNow(HOUR);
      const published = await lists.publishDraft({ name: "spring", effective, force: false });
      assert.equal(published.version?.number, "1");
      assert.equal(published.version?.publishedBy, "anonymous (noauth)");
      assert.equal(published.version?.summary, "1 changed, 1 added");
      await rejectsWith(lists.getDraft({ name: "spring" }), status.NOT_FOUND, /spring/);
      await rejectsWith(
        lists.publishDraft({ name: "spring", effective, force: false }),
        status.FAILED_PRECONDITION,
        /^draft spring was published as version 1 at /,
      );

      // Before E: 3 × 0.50 = 1.50 (m1.large has no price yet); from E: 3 × 0.65 + 2 × 1.20 = 1.95 + 2.40 = 4.35.
      const points = [point("m1.small", "3"), point("m1.large", "2")];
      const before = await rating.quote({ points, scopeId: "", at: new Date(effective.getTime() - 1000) });
      assert.equal(before.total, "1.50");
      assert.equal(before.priceListVersion, "0");
      const after = await rating.quote({ points, scopeId: "", at: effective });
      assert.deepEqual(
        after.points.map((p) => p.price),
        ["1.95", "2.40"],
      );
      assert.equal(after.total, "4.35");
      assert.equal(after.priceListVersion, "1");
      const explained = await rating.explain({ point: point("m1.small", "1"), scopeId: "", at: effective });
      assert.equal(explained.point?.price, "0.65");
      assert.equal(explained.priceListVersion, "1");

      // The pricer of version 1 prices as Quote at E (in-process, on the same database; it writes nothing).
      const local = await openDb(db);
      t.after(() => local.close());
      const snapshot = await loadSnapshot(local);
      const pricers = new PriceListPricers(local, { current: snapshot, caughtUp: async () => {} }, { frameTimeout: 2 });
      const pricer = await pricers.forVersion(1);
      const frame = {
        scopeId: "",
        at: new Date("2020-01-01T00:00:00Z"),
        points: points.map((p) => ({ ...p, groupby: { ...p.groupby }, metadata: { ...p.metadata } })),
      };
      pricer.rate([frame]);
      assert.deepEqual(
        frame.points.map((p) => p.price),
        after.points.map((p) => p.price),
      );
      assert.equal(pricer.unpriced(frame), undefined);
      assert.equal(await pricers.forVersion(1), pricer, "kept by version");
      await assert.rejects(pricers.forVersion(9), /not found/);
      assert.equal((await loadSnapshot(local)).version, snapshot.version, "the pricer wrote nothing");

      // Thresholds have no validity window: a future-dated publish that changes them is refused.
      const withThreshold = content("0.65");
      withThreshold.services[0]?.thresholds.push({ level: "10", type: FLAT, cost: "1", group: "", tenant: "" });
      await lists.createDraft({ name: "bulk", content: withThreshold });
      await rejectsWith(
        lists.publishDraft({ name: "bulk", effective: fromNow(2 * HOUR), force: false }),
        status.FAILED_PRECONDITION,
        /threshold instance level 10/,
      );
      await lists.deleteDraft({ name: "bulk" });

      // A correction from an hour ago, with force: 0.55 from then on, E included (it replaces version 1 from its date).
      const past = fromNow(-HOUR);
      await lists.createDraft({ name: "fix", content: content("0.55") });
      const fixed = await lists.publishDraft({ name: "fix", effective: past, force: true });
      assert.equal(fixed.version?.number, "2");
      const earlier = await rating.quote({ points, scopeId: "", at: new Date(past.getTime() - 1000) });
      assert.equal(earlier.total, "1.50", "before the correction: 3 × 0.50");
      assert.equal(earlier.priceListVersion, "0");
      for (const at of [past, effective]) {
        const q = await rating.quote({ points, scopeId: "", at });
        assert.equal(q.total, "4.05", "3 × 0.55 + 2 × 1.20 = 1.65 + 2.40");
        assert.equal(q.priceListVersion, "2");
      }

      // Each publish is in the audit trail, with its actor and date.
      const audited = await connect(t, r.proc.address)
        .client(AuditServiceService)
        .listAuditEvents({ method: "PriceListService/PublishDraft", actor: "", pageSize: 0, pageToken: "" });
      assert.deepEqual(
        audited.events.map((e) => [e.actor, e.target]),
        [
          ["anonymous (noauth)", `draft fix effective ${past.toISOString()} (forced)`],
          ["anonymous (noauth)", `draft spring effective ${effective.toISOString()}`],
        ],
        "newest first",
      );

      // History, newest first, one per page; each version whole.
      const page1 = await lists.listVersions({ pageSize: 1, pageToken: "" });
      assert.deepEqual(
        page1.versions.map((v) => [v.number, v.draft, v.publishedBy, v.effective?.getTime()]),
        [["2", "fix", "anonymous (noauth)", past.getTime()]],
      );
      const page2 = await lists.listVersions({ pageSize: 1, pageToken: page1.nextPageToken });
      assert.deepEqual(
        page2.versions.map((v) => [v.number, v.summary, v.effective?.getTime()]),
        [["1", "1 changed, 1 added", effective.getTime()]],
      );
      assert.equal(page2.nextPageToken, "");
      const v1 = (await lists.getVersion({ number: "1" })).version;
      assert.deepEqual(
        v1?.content?.services[0]?.fields[0]?.mappings.map((m) => [m.value, m.cost]),
        [
          ["m1.large", "1.20"],
          ["m1.small", "0.65"],
        ],
      );
      await rejectsWith(lists.getVersion({ number: "0" }), status.INVALID_ARGUMENT, "number");
    });
  });
}

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

    // Pricers of the version and of a draft made from it, with the CEL rules: 2 × 0.65 × 0.8 = 1.040; 2 × 0.70 × 0.8 = 1.120.
    const local = await openDb(db);
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
});

describe("the README's worked example (services/rating/README.md, Versioned price lists)", () => {
  it("m1.small from 0.50 to 0.65 on 2027-03-01: the diff, the history and the quotes of the table", async (t) => {
    const [r] = await startRating(t, "sqlite");
    assert.ok(r !== undefined);
    const { rating, hashmap } = r.clients;
    const lists = connect(t, r.proc.address).client(PriceListServiceService);
    const svc = (await hashmap.createService({ name: "instance" })).service?.serviceId ?? "";
    const field = (await hashmap.createField({ serviceId: svc, name: "flavor" })).field?.fieldId ?? "";
    await hashmap.createMapping(
      CreateMappingRequest.fromPartial({
        fieldId: field,
        value: "m1.small",
        cost: "0.50",
        start: new Date("2026-01-01T00:00:00Z"),
        force: true,
      }),
    );
    await rating.updateModule({ name: "hashmap", enabled: true, priority: 10 });
    await lists.createDraft({ name: "spring", content: content("0.65") });
    const diff = await lists.diffDraft({ name: "spring", at: undefined });
    assert.deepEqual(
      diff.changes.map((c) => `${c.kind} ${c.key}: ${c.old || "-"} -> ${c.new || "-"}`),
      ["mapping instance/flavor=m1.large: - -> flat 1.20", "mapping instance/flavor=m1.small: flat 0.50 -> flat 0.65"],
    );
    // force: the date is in the future while the README's example is read before March 2027; after, it needs force.
    const effective = new Date("2027-03-01T00:00:00Z");
    const { version } = await lists.publishDraft({ name: "spring", effective, force: true });
    assert.equal(version?.summary, "1 changed, 1 added");
    const quote = (at: string) =>
      rating.quote({ points: [point("m1.small", "720"), point("m1.large", "720")], scopeId: "", at: new Date(at) });
    const feb = await quote("2027-02-28T23:00:00Z");
    assert.deepEqual([feb.points.map((p) => p.price), feb.total, feb.priceListVersion], [["360.00", "0"], "360.00", "0"]);
    const mar = await quote("2027-03-01T00:00:00Z");
    assert.deepEqual([mar.points.map((p) => p.price), mar.total, mar.priceListVersion], [["468.00", "864.00"], "1332.00", "1"]);
  });
});
