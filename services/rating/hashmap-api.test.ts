/**
 * HashmapService over gRPC against a real rating process, on SQLite and on
 * PostgreSQL: CRUD with CloudKitty's validation, the refusals (each naming
 * its field and changing nothing), validity windows, soft deletes, group
 * deletion, and the prices that result, through Quote, Explain and Rate.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import {
  CreateMappingRequest,
  CreateThresholdRequest,
  ListMappingsRequest,
  ListThresholdsRequest,
  MappingType,
  UpdateMappingRequest,
} from "../../libs/gen/ratemesh/v1/rating.js";
import { BACKENDS, type RatingClients, rejectsWith, startRating } from "../../test/support/rating.js";

const FLAT = MappingType.MAPPING_TYPE_FLAT;
const RATE = MappingType.MAPPING_TYPE_RATE;
const HOUR = 3600_000;

function point(type: string, qty: string, groupby: Record<string, string> = {}, metadata: Record<string, string> = {}): DataPoint {
  return { type, unit: "", qty, price: "0", groupby, metadata };
}

async function quote(c: RatingClients, points: DataPoint[], scopeId = "", at?: Date): Promise<string[]> {
  const res = await c.rating.quote({ points, scopeId, at });
  return res.points.map((p) => p.price);
}

async function enableHashmap(c: RatingClients): Promise<void> {
  await c.rating.updateModule({ name: "hashmap", enabled: true, priority: undefined });
}

/** Everything the price list holds, to show that a refused request changed nothing. */
async function everything(c: RatingClients): Promise<unknown> {
  const page = { pageSize: 1000, pageToken: "" };
  return {
    services: (await c.hashmap.listServices({ name: "", ...page })).services,
    fields: (await c.hashmap.listFields({ serviceId: "", ...page })).fields,
    groups: (await c.hashmap.listGroups(page)).groups,
    mappings: (await c.hashmap.listMappings(ListMappingsRequest.fromPartial({ includeDeleted: true, ...page }))).mappings,
    thresholds: (await c.hashmap.listThresholds(ListThresholdsRequest.fromPartial(page))).thresholds,
    modules: (await c.rating.listModules({})).modules,
  };
}

for (const backend of BACKENDS) {
  describe(`HashmapService on ${backend}`, () => {
    it("builds a price list, prices with it once the module is enabled, and explains the price", async (t) => {
      const [r] = await startRating(t, backend);
      assert.ok(r !== undefined);
      const c = r.clients;
      const modules = (await c.rating.listModules({})).modules;
      assert.deepEqual(
        modules.map((m) => [m.name, m.enabled, m.priority]),
        [
          ["hashmap", false, 1],
          ["noop", true, 1],
          ["rules", false, 1],
        ],
      );

      const svc = (await c.hashmap.createService({ name: "compute" })).service;
      assert.ok(svc !== undefined);
      const flavor = (await c.hashmap.createField({ serviceId: svc.serviceId, name: "flavor" })).field;
      assert.ok(flavor !== undefined);
      const group = (await c.hashmap.createGroup({ name: "instances" })).group;
      assert.ok(group !== undefined);
      const past = new Date(Date.now() - HOUR);
      const base = await c.hashmap.createMapping(
        CreateMappingRequest.fromPartial({ serviceId: svc.serviceId, cost: "1.00", start: past, force: true, name: "base" }),
      );
      assert.equal(base.mapping?.type, FLAT, "type defaults to flat");
      assert.equal(base.mapping?.start?.getTime(), past.getTime());
      await c.hashmap.createMapping(
        CreateMappingRequest.fromPartial({
          fieldId: flavor.fieldId,
          value: "m1.tiny",
          cost: "1.42",
          groupId: group.groupId,
          start: past,
          force: true,
        }),
      );
      await c.hashmap.createMapping(
        CreateMappingRequest.fromPartial({
          fieldId: flavor.fieldId,
          value: "m1.tiny",
          type: RATE,
          cost: "0.5",
          tenantId: "p-half",
          start: past,
          force: true,
        }),
      );
      const threshold = await c.hashmap.createThreshold(
        CreateThresholdRequest.fromPartial({ serviceId: svc.serviceId, level: "10", type: RATE, cost: "0.9", groupId: group.groupId }),
      );
      assert.equal(threshold.threshold?.level, "10");

      const points = [point("compute", "2", { flavor: "m1.tiny" }), point("compute", "10", {}, { flavor: "m1.tiny" }), point("other", "3")];
      assert.deepEqual(await quote(c, points), ["0", "0", "0"], "hashmap is disabled until enabled");
      await enableHashmap(c);
      // _DEFAULT_ 1.00 × 2 + instances 1.42 × 2 = 4.84; qty 10 reaches the 0.9 service threshold
      // of instances: 1.00 × 10 + 1.42 × 10 × 0.9.
      assert.deepEqual(await quote(c, points), ["4.84", "22.780", "0"]);
      // p-half's own rate mapping (in _DEFAULT_) multiplies its flat: 0.5 × 1.00 × 2 + 2.84.
      assert.deepEqual(await quote(c, points, "p-half"), ["3.840", "17.780", "0"]);
      // Before the mappings started only the threshold (thresholds have no dates) touches a
      // group: 1 × 0 × 10 × 0.9.
      assert.deepEqual(await quote(c, points, "", new Date(past.getTime() - 1)), ["0", "0.0", "0"]);

      const explained = await c.rating.explain({ point: points[1], scopeId: "", at: undefined });
      assert.equal(explained.point?.price, "22.780");
      const hm = explained.modules.find((m) => m.module === "hashmap");
      assert.ok(hm !== undefined);
      assert.equal(hm.priceBefore, "0");
      assert.equal(hm.priceAfter, "22.780");
      assert.ok(hm.steps.some((s) => s.ruleId === base.mapping?.mappingId && s.kind === "service_mapping"));
      assert.ok(hm.steps.some((s) => s.ruleId === threshold.threshold?.thresholdId && s.kind === "threshold"));
      const combine = hm.steps.filter((s) => s.kind === "combine");
      assert.deepEqual(
        combine.map((s) => [s.group, s.value]),
        [
          ["_DEFAULT_", "10.00"],
          ["instances", "12.780"],
        ],
      );

      // Rate prices a frame the same way, with the frame's begin as the instant.
      const rated = await c.rating.rate({ frames: [{ scopeId: "p-half", begin: new Date(), end: undefined, points }] });
      assert.deepEqual(
        rated.frames[0]?.points.map((p) => p.price),
        ["3.840", "17.780", "0"],
      );

      // Gets and paged lists.
      assert.equal((await c.hashmap.getService({ serviceId: svc.serviceId })).service?.name, "compute");
      assert.equal((await c.hashmap.getField({ fieldId: flavor.fieldId })).field?.name, "flavor");
      const g = await c.hashmap.getGroup({ groupId: group.groupId });
      assert.equal(g.mappings.length, 1);
      assert.equal(g.thresholds.length, 1);
      for (let i = 0; i < 4; i++) await c.hashmap.createGroup({ name: `g${i}` });
      const seen: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const res = await c.hashmap.listGroups({ pageSize: 2, pageToken });
        seen.push(...res.groups.map((x) => x.name));
        pageToken = res.nextPageToken;
        pages++;
      } while (pageToken !== "");
      assert.deepEqual(seen, ["instances", "g0", "g1", "g2", "g3"]);
      assert.equal(pages, 3);
      const tenantOnly = await c.hashmap.listMappings(ListMappingsRequest.fromPartial({ tenantId: "p-half" }));
      assert.equal(tenantOnly.mappings.length, 1);
      const inGroup = await c.hashmap.listMappings(ListMappingsRequest.fromPartial({ groupId: group.groupId }));
      assert.equal(inGroup.mappings[0]?.value, "m1.tiny");
      const noGroup = await c.hashmap.listMappings(ListMappingsRequest.fromPartial({ noGroup: true }));
      assert.equal(noGroup.mappings.length, 2);

      // Renames.
      await c.hashmap.updateService({ serviceId: svc.serviceId, name: "instance" });
      assert.deepEqual(await quote(c, [point("compute", "2", { flavor: "m1.tiny" })]), ["0"], "compute is no longer a service");
      assert.deepEqual(await quote(c, [point("instance", "2", { flavor: "m1.tiny" })]), ["4.84"]);
    });

    it("refuses bad input with INVALID_ARGUMENT naming the field (or NOT_FOUND, ALREADY_EXISTS), and changes nothing", async (t) => {
      const [r] = await startRating(t, backend);
      assert.ok(r !== undefined);
      const c = r.clients;
      const h = c.hashmap;
      const svc = (await h.createService({ name: "compute" })).service?.serviceId ?? "";
      const field = (await h.createField({ serviceId: svc, name: "flavor" })).field?.fieldId ?? "";
      const past = new Date(Date.now() - HOUR);
      const later = new Date(Date.now() + HOUR);
      const existing = await h.createMapping(
        CreateMappingRequest.fromPartial({ fieldId: field, value: "m1", cost: "1", name: "m1-price" }),
      );
      await h.createThreshold(CreateThresholdRequest.fromPartial({ fieldId: field, level: "64", cost: "0.1" }));
      const before = await everything(c);
      const mapping = (over: Partial<CreateMappingRequest>) =>
        h.createMapping(CreateMappingRequest.fromPartial({ fieldId: field, value: "x", cost: "1", ...over }));
      const bad = status.INVALID_ARGUMENT;

      await rejectsWith(h.createService({ name: "" }), bad, "name");
      await rejectsWith(h.createService({ name: " compute" }), bad, "name");
      await rejectsWith(h.createService({ name: "compute" }), status.ALREADY_EXISTS, /^hashmap service "compute" already exists/);
      await rejectsWith(h.createField({ serviceId: "", name: "x" }), bad, "service_id");
      await rejectsWith(h.createField({ serviceId: "nope", name: "x" }), status.NOT_FOUND, /^service_id: hashmap service "nope" not found/);
      await rejectsWith(h.createField({ serviceId: svc, name: "flavor" }), status.ALREADY_EXISTS, /already exists/);
      await rejectsWith(h.createGroup({ name: "" }), bad, "name");
      await rejectsWith(mapping({ serviceId: svc }), bad, "field_id");
      await rejectsWith(mapping({ fieldId: "" }), bad, "service_id");
      await rejectsWith(mapping({ value: "" }), bad, "value");
      await rejectsWith(mapping({ fieldId: "", serviceId: svc, value: "x" }), bad, "value");
      await rejectsWith(mapping({ cost: "1,5" }), bad, "cost");
      await rejectsWith(mapping({ cost: "" }), bad, "cost");
      await rejectsWith(mapping({ cost: "1e3" }), bad, "cost");
      await rejectsWith(mapping({ cost: `0.${"1".repeat(29)}` }), bad, "cost");
      await rejectsWith(mapping({ cost: "1234567890123" }), bad, "cost");
      await rejectsWith(mapping({ type: 7 as MappingType }), bad, "type");
      await rejectsWith(mapping({ start: past }), bad, "start");
      await rejectsWith(mapping({ start: later, end: later }), bad, "end");
      await rejectsWith(mapping({ end: past, start: past, force: true }), bad, "end");
      await rejectsWith(mapping({ groupId: "nope" }), status.NOT_FOUND, /^group_id: group "nope" not found/);
      await rejectsWith(mapping({ fieldId: "nope" }), status.NOT_FOUND, /^field_id: field "nope" not found/);
      await rejectsWith(mapping({ name: "n".repeat(33) }), bad, "name");
      await rejectsWith(mapping({ value: "m1" }), status.ALREADY_EXISTS, /mapping for value "m1" .* is already in force/);
      await rejectsWith(mapping({ name: "m1-price" }), status.ALREADY_EXISTS, /named "m1-price" already exists/);
      await rejectsWith(h.createThreshold(CreateThresholdRequest.fromPartial({ fieldId: field, level: "abc", cost: "1" })), bad, "level");
      await rejectsWith(
        h.createThreshold(CreateThresholdRequest.fromPartial({ fieldId: field, level: "0.123456789", cost: "1" })),
        bad,
        "level",
      );
      await rejectsWith(h.createThreshold(CreateThresholdRequest.fromPartial({ fieldId: field, level: "1", cost: "x" })), bad, "cost");
      await rejectsWith(
        h.createThreshold(CreateThresholdRequest.fromPartial({ fieldId: field, level: "64.00", cost: "1", groupId: "" })),
        status.ALREADY_EXISTS,
        /level 64 already exists/,
      );
      const id = existing.mapping?.mappingId ?? "";
      await rejectsWith(h.updateMapping(UpdateMappingRequest.fromPartial({ mappingId: id, cost: "2" })), bad, "cost");
      await rejectsWith(h.updateMapping(UpdateMappingRequest.fromPartial({ mappingId: id, value: "m2" })), bad, "value");
      await rejectsWith(h.updateMapping(UpdateMappingRequest.fromPartial({ mappingId: id, end: past })), bad, "end");
      await rejectsWith(h.updateMapping(UpdateMappingRequest.fromPartial({ mappingId: "" })), bad, "mapping_id");
      await rejectsWith(h.getMapping({ mappingId: "nope" }), status.NOT_FOUND, /^mapping_id: mapping "nope" not found/);
      await rejectsWith(h.listMappings(ListMappingsRequest.fromPartial({ pageSize: -1 })), bad, "page_size");
      await rejectsWith(h.listMappings(ListMappingsRequest.fromPartial({ pageToken: "garbage" })), bad, "page_token");
      await rejectsWith(h.listMappings(ListMappingsRequest.fromPartial({ noGroup: true, groupId: "g" })), bad, "no_group");
      await rejectsWith(c.rating.updateModule({ name: "hashmap", enabled: true, priority: 0 }), bad, "priority");
      await rejectsWith(
        c.rating.updateModule({ name: "pyscripts", enabled: true, priority: undefined }),
        status.NOT_FOUND,
        /^name: rating module/,
      );
      await rejectsWith(c.rating.quote({ points: [], scopeId: "", at: undefined }), bad, "points");
      await rejectsWith(c.rating.quote({ points: [point("compute", "1,5")], scopeId: "", at: undefined }), bad, "points[0].qty");
      await rejectsWith(c.rating.explain({ point: undefined, scopeId: "", at: undefined }), bad, "point");
      await rejectsWith(
        c.rating.rate({ frames: [{ scopeId: "p", begin: new Date(), end: undefined, points: [point("compute", "1"), point("", "1")] }] }),
        bad,
        "frames[0].points[1].type",
      );
      await rejectsWith(
        c.rating.rate({ frames: [{ scopeId: "", begin: new Date(), end: undefined, points: [] }] }),
        bad,
        "frames[0].scope_id",
      );
      await rejectsWith(
        c.rating.rate({ frames: [{ scopeId: "p", begin: undefined, end: undefined, points: [] }] }),
        bad,
        "frames[0].begin",
      );

      assert.deepEqual(await everything(c), before, "nothing changed");

      // A thresholded attribute that is not a number fails the request, naming it (hashmap enabled).
      await enableHashmap(c);
      await rejectsWith(
        c.rating.rate({
          frames: [{ scopeId: "p", begin: new Date(), end: undefined, points: [point("compute", "1", {}, { flavor: "big" })] }],
        }),
        bad,
        "frames[0].points[0].metadata.flavor",
      );
    });

    it("lets a started mapping only get an end; the next price starts where it ends", async (t) => {
      const [r] = await startRating(t, backend);
      assert.ok(r !== undefined);
      const c = r.clients;
      await enableHashmap(c);
      const svc = (await c.hashmap.createService({ name: "volume" })).service?.serviceId ?? "";
      const start = new Date(Date.now() - 2 * HOUR);
      const old = (await c.hashmap.createMapping(CreateMappingRequest.fromPartial({ serviceId: svc, cost: "0.10", start, force: true })))
        .mapping;
      assert.ok(old !== undefined);
      const switchAt = new Date(Math.ceil((Date.now() + HOUR) / 1000) * 1000);
      const ended = await c.hashmap.updateMapping(
        UpdateMappingRequest.fromPartial({ mappingId: old.mappingId, end: switchAt, cost: "0.10" }),
      );
      assert.equal(ended.mapping?.end?.getTime(), switchAt.getTime());
      await rejectsWith(
        c.hashmap.updateMapping(UpdateMappingRequest.fromPartial({ mappingId: old.mappingId, end: new Date(switchAt.getTime() + HOUR) })),
        status.INVALID_ARGUMENT,
        "end",
      );
      const next = (await c.hashmap.createMapping(CreateMappingRequest.fromPartial({ serviceId: svc, cost: "0.12", start: switchAt })))
        .mapping;
      assert.ok(next !== undefined);
      // Not started yet: anything but its parent may change.
      const changed = await c.hashmap.updateMapping(
        UpdateMappingRequest.fromPartial({ mappingId: next.mappingId, cost: "0.125", description: "2026 price" }),
      );
      assert.equal(changed.mapping?.cost, "0.125");
      assert.deepEqual(await quote(c, [point("volume", "10")], "p1", new Date(switchAt.getTime() - 1000)), ["1.00"]);
      assert.deepEqual(await quote(c, [point("volume", "10")], "p1", switchAt), ["1.250"]);
      // An overlapping window for the same parent, group and project is refused.
      await rejectsWith(
        c.hashmap.createMapping(
          CreateMappingRequest.fromPartial({ serviceId: svc, cost: "0.2", start: new Date(switchAt.getTime() - 1000) }),
        ),
        status.ALREADY_EXISTS,
        /already in force/,
      );
    });

    it("soft-deletes mappings, deletes thresholds, and deletes groups recursively or by orphaning their rules", async (t) => {
      const [r] = await startRating(t, backend);
      assert.ok(r !== undefined);
      const c = r.clients;
      const h = c.hashmap;
      await enableHashmap(c);
      const svc = (await h.createService({ name: "compute" })).service?.serviceId ?? "";
      const flavor = (await h.createField({ serviceId: svc, name: "flavor" })).field?.fieldId ?? "";
      const region = (await h.createField({ serviceId: svc, name: "region" })).field?.fieldId ?? "";
      const g1 = (await h.createGroup({ name: "g1" })).group?.groupId ?? "";
      const g2 = (await h.createGroup({ name: "g2" })).group?.groupId ?? "";
      const start = new Date(Date.now() - HOUR);
      const m = (over: Partial<CreateMappingRequest>) => h.createMapping(CreateMappingRequest.fromPartial({ start, force: true, ...over }));
      const a = (await m({ fieldId: flavor, value: "big", cost: "2", groupId: g1 })).mapping?.mappingId ?? "";
      await m({ fieldId: region, value: "eu", cost: "3", groupId: g2 });
      const th = (await h.createThreshold(CreateThresholdRequest.fromPartial({ serviceId: svc, level: "0", cost: "10", groupId: g2 })))
        .threshold;
      const p = point("compute", "1", { flavor: "big", region: "eu" });
      // Two groups add up: 2 + (3 + 10 once).
      assert.deepEqual(await quote(c, [p]), ["15"]);

      // Non-recursive: g2's rules move to _DEFAULT_ (still 3 and +10, now in their own implicit group).
      await h.deleteGroup({ groupId: g2, recursive: false });
      const orphans = await h.listMappings(ListMappingsRequest.fromPartial({ noGroup: true }));
      assert.deepEqual(
        orphans.mappings.map((x) => x.value),
        ["eu"],
      );
      assert.equal((await h.getThreshold({ thresholdId: th?.thresholdId ?? "" })).threshold?.groupId, "");
      assert.deepEqual(await quote(c, [p]), ["15"]);
      // Moving g1's mapping into _DEFAULT_ too (not started, so allowed? it has started: refused).
      await rejectsWith(
        h.updateMapping(UpdateMappingRequest.fromPartial({ mappingId: a, groupId: "" })),
        status.INVALID_ARGUMENT,
        "group_id",
      );
      // Orphaning g1 as well: both flats in _DEFAULT_, only the larger counts: (3 × 1) + 10.
      await h.deleteGroup({ groupId: g1, recursive: false });
      assert.deepEqual(await quote(c, [p]), ["13"]);

      // Recursive: its mappings are soft-deleted, its thresholds deleted.
      const g3 = (await h.createGroup({ name: "g3" })).group?.groupId ?? "";
      const inG3 = (await m({ fieldId: flavor, value: "small", cost: "5", groupId: g3 })).mapping?.mappingId ?? "";
      const thG3 = (await h.createThreshold(CreateThresholdRequest.fromPartial({ fieldId: flavor, level: "1", cost: "1", groupId: g3 })))
        .threshold;
      await h.deleteGroup({ groupId: g3, recursive: true });
      assert.ok((await h.getMapping({ mappingId: inG3 })).mapping?.deletedAt instanceof Date);
      await rejectsWith(h.getThreshold({ thresholdId: thG3?.thresholdId ?? "" }), status.NOT_FOUND, /^threshold_id: threshold/);
      await rejectsWith(h.getGroup({ groupId: g3 }), status.NOT_FOUND, /^group_id: group/);

      // Soft delete of one mapping: gone from prices and default lists, kept for audit.
      await h.deleteMapping({ mappingId: a });
      const deleted = (await h.getMapping({ mappingId: a })).mapping;
      assert.ok(deleted?.deletedAt instanceof Date);
      assert.equal((await h.listMappings(ListMappingsRequest.fromPartial({ fieldId: flavor }))).mappings.length, 0);
      assert.equal((await h.listMappings(ListMappingsRequest.fromPartial({ fieldId: flavor, includeDeleted: true }))).mappings.length, 2);
      assert.deepEqual(await quote(c, [p]), ["13"], "the 3 in _DEFAULT_ was already the larger flat");
      assert.deepEqual(
        await quote(c, [point("compute", "1", { flavor: "big" })]),
        ["10"],
        "only the threshold is left for flavor big alone",
      );
      await rejectsWith(h.deleteMapping({ mappingId: a }), status.FAILED_PRECONDITION, /already deleted/);
      await rejectsWith(
        h.updateMapping(UpdateMappingRequest.fromPartial({ mappingId: a, end: new Date(Date.now() + HOUR) })),
        status.FAILED_PRECONDITION,
        /deleted/,
      );

      // Threshold delete is a real delete.
      await h.deleteThreshold({ thresholdId: th?.thresholdId ?? "" });
      assert.deepEqual(await quote(c, [p]), ["3"]);

      // Deleting the service removes its fields and rules.
      await h.deleteService({ serviceId: svc });
      await rejectsWith(h.getField({ fieldId: flavor }), status.NOT_FOUND, /^field_id: field/);
      assert.equal((await h.listMappings(ListMappingsRequest.fromPartial({ includeDeleted: true }))).mappings.length, 0);
      assert.deepEqual(await quote(c, [p]), ["0"]);
    });
  });
}
