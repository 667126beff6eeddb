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
import { PriceListChangeType } from "../../../libs/gen/ratemesh/v1/pricelist.js";
import { CreateMappingRequest } from "../../../libs/gen/ratemesh/v1/rating.js";
import { connect } from "../../../test/support/mesh.js";
import { content, FLAT, fromNow, HOUR, point } from "../../../test/support/price-lists.js";
import { BACKENDS, type RatingClients, rejectsWith } from "../../../test/support/rating.js";
import { loadSnapshot } from "../state.js";
import { PriceListPricers } from "./pricer.js";
import { openDb, startWithPriceLists } from "./test-fixtures.js";

/** In force from `start`: instance priced by flavor, m1.small at 0.50; the hashmap module on. */
async function smallAt050({ rating, hashmap }: RatingClients, start: Date): Promise<void> {
  const svc = (await hashmap.createService({ name: "instance" })).service?.serviceId ?? "";
  const field = (await hashmap.createField({ serviceId: svc, name: "flavor" })).field?.fieldId ?? "";
  await hashmap.createMapping(CreateMappingRequest.fromPartial({ fieldId: field, value: "m1.small", cost: "0.50", start, force: true }));
  await rating.updateModule({ name: "hashmap", enabled: true, priority: 10 });
}

for (const backend of BACKENDS) {
  describe(`PriceListService on ${backend}`, () => {
    it("drafts, diffs and publishes from a date; quotes before and after it; history; the pricer of a version", async (t) => {
      const { db, r, lists } = await startWithPriceLists(t, backend);
      const { rating } = r.clients;

      // In force now: instance priced by flavor, m1.small at 0.50 (since a day ago).
      await smallAt050(r.clients, new Date(Date.now() - 24 * HOUR));

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

describe("the README's worked example (services/rating/README.md, Versioned price lists)", () => {
  it("m1.small from 0.50 to 0.65 on 2027-03-01: the diff, the history and the quotes of the table", async (t) => {
    const { r, lists } = await startWithPriceLists(t, "sqlite");
    const { rating } = r.clients;
    await smallAt050(r.clients, new Date("2026-01-01T00:00:00Z"));
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
