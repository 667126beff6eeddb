/** PriceListService handlers: messages to domain inputs (fields named), then the manager (manage.ts). */
import { InvalidArgumentError } from "../../../libs/errors/errors.js";
import {
  type PriceListChange,
  PriceListChangeType,
  type PriceListContent,
  type PriceListDraft,
  type PriceListMapping,
  type PriceListServiceService,
  type PriceListThreshold,
  type PriceListVersion,
} from "../../../libs/gen/ratemesh/v1/pricelist.js";
import { MappingType } from "../../../libs/gen/ratemesh/v1/rating.js";
import type { Handlers } from "../../../libs/grpc/server.js";
import { decodePageToken, encodePageToken, optionalDate, pageSize } from "../../../libs/validation/fields.js";
import type { MapType } from "../modules/hashmap/model.js";
import { tiersFromMessage, tiersToMessage, timeOfUseFromMessage, timeOfUseToMessage } from "../modules/hashmap/price-shapes.js";
import type { ListMapping, ListThreshold, PriceList } from "./content.js";
import type { Change } from "./diff.js";
import type { VersionManager } from "./manage.js";
import type { Draft, Version } from "./store.js";

function mapType(t: MappingType, field: string): MapType {
  if (t === MappingType.MAPPING_TYPE_UNSPECIFIED || t === MappingType.MAPPING_TYPE_FLAT) return "flat";
  if (t === MappingType.MAPPING_TYPE_RATE) return "rate";
  throw new InvalidArgumentError(field, `${t} is not a mapping type (flat or rate)`);
}

const toType = (t: MapType) => (t === "rate" ? MappingType.MAPPING_TYPE_RATE : MappingType.MAPPING_TYPE_FLAT);

/** Tiers and time of use validated as the hashmap API does (price-shapes.ts), the path named. */
function mappingIn(m: PriceListMapping, p: string): ListMapping {
  const out: ListMapping = {
    value: m.value,
    type: mapType(m.type, `${p}.type`),
    // A tiered mapping's prices are its tiers: its cost may be left out.
    cost: m.tiers !== undefined && m.cost === "" ? "0" : m.cost,
    group: m.group,
    tenant: m.tenant,
    name: m.name,
    description: m.description,
  };
  if (m.tiers !== undefined) out.tiers = tiersFromMessage(m.tiers, `${p}.tiers`);
  if (m.timeOfUse !== undefined) out.timeOfUse = timeOfUseFromMessage(m.timeOfUse, `${p}.time_of_use`);
  return out;
}

function thresholdIn(t: PriceListThreshold, p: string): ListThreshold {
  return { level: t.level, type: mapType(t.type, `${p}.type`), cost: t.cost, group: t.group, tenant: t.tenant };
}

export function contentIn(c: PriceListContent, at = "content"): PriceList {
  return {
    groups: [...c.groups],
    services: c.services.map((s, i) => {
      const p = `${at}.services[${i}]`;
      return {
        name: s.name,
        mappings: s.mappings.map((m, j) => mappingIn(m, `${p}.mappings[${j}]`)),
        thresholds: s.thresholds.map((t, j) => thresholdIn(t, `${p}.thresholds[${j}]`)),
        fields: s.fields.map((f, j) => ({
          name: f.name,
          mappings: f.mappings.map((m, k) => mappingIn(m, `${p}.fields[${j}].mappings[${k}]`)),
          thresholds: f.thresholds.map((t, k) => thresholdIn(t, `${p}.fields[${j}].thresholds[${k}]`)),
        })),
      };
    }),
    rules: c.rules.map((r) => ({ ...r })),
  };
}

function contentOut(c: PriceList): PriceListContent {
  const m = (x: ListMapping): PriceListMapping => ({
    ...x,
    type: toType(x.type),
    tiers: x.tiers === undefined ? undefined : tiersToMessage(x.tiers),
    timeOfUse: x.timeOfUse === undefined ? undefined : timeOfUseToMessage(x.timeOfUse),
  });
  const t = (x: ListThreshold): PriceListThreshold => ({ ...x, type: toType(x.type) });
  return {
    groups: c.groups,
    services: c.services.map((s) => ({
      name: s.name,
      mappings: s.mappings.map(m),
      thresholds: s.thresholds.map(t),
      fields: s.fields.map((f) => ({ name: f.name, mappings: f.mappings.map(m), thresholds: f.thresholds.map(t) })),
    })),
    rules: c.rules,
  };
}

const CHANGE: Record<Change["change"], PriceListChangeType> = {
  added: PriceListChangeType.PRICE_LIST_CHANGE_TYPE_ADDED,
  removed: PriceListChangeType.PRICE_LIST_CHANGE_TYPE_REMOVED,
  changed: PriceListChangeType.PRICE_LIST_CHANGE_TYPE_CHANGED,
};

function changeOut(c: Change): PriceListChange {
  return { kind: c.kind, key: c.key, change: CHANGE[c.change], old: c.old, new: c.new };
}

function draftOut(d: Draft, withContent: boolean): PriceListDraft {
  return {
    name: d.name,
    content: withContent ? contentOut(d.content) : undefined,
    createdBy: d.createdBy,
    createdAt: new Date(d.createdAt),
    updatedAt: new Date(d.updatedAt),
  };
}

function versionOut(v: Version, whole: boolean): PriceListVersion {
  return {
    number: String(v.number),
    publishedBy: v.publishedBy,
    publishedAt: new Date(v.publishedAt),
    effective: new Date(v.effective),
    draft: v.draft,
    summary: v.summary,
    content: whole ? contentOut(v.content) : undefined,
    changes: whole ? v.changes.map(changeOut) : [],
  };
}

function requiredContent(c: PriceListContent | undefined): PriceList {
  if (c === undefined) throw new InvalidArgumentError("content", "is required");
  return contentIn(c);
}

function versionNumber(text: string, field: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(field, `${JSON.stringify(text)} is not a version number (1, 2, ...)`);
  return n;
}

const isBefore = (v: unknown): v is { b: number } => typeof v === "object" && v !== null && Number.isSafeInteger((v as { b: number }).b);

export function priceListHandlers(manager: VersionManager, now: () => Date): Handlers<typeof PriceListServiceService> {
  return {
    async createDraft(req, ctx) {
      const content = req.content === undefined ? undefined : contentIn(req.content);
      return { draft: draftOut(await manager.createDraft(req.name, content, ctx.caller.display), true) };
    },
    async getDraft(req) {
      return { draft: draftOut(await manager.getDraft(req.name), true) };
    },
    async listDrafts() {
      return { drafts: (await manager.listDrafts()).map((d) => draftOut(d, false)) };
    },
    async updateDraft(req) {
      return { draft: draftOut(await manager.updateDraft(req.name, requiredContent(req.content)), true) };
    },
    async deleteDraft(req) {
      await manager.deleteDraft(req.name);
      return {};
    },
    async diffDraft(req) {
      const at = optionalDate(req.at, "at") ?? now();
      return { changes: (await manager.diff(req.name, at.getTime())).map(changeOut), at };
    },
    async publishDraft(req, ctx) {
      const effective = optionalDate(req.effective, "effective")?.getTime();
      const v = await manager.publish({ draft: req.name, effective, force: req.force, publishedBy: ctx.caller.display });
      return { version: versionOut(v, true) };
    },
    async listVersions(req) {
      const size = pageSize(req.pageSize, "page_size", 100, 1000);
      const before = decodePageToken(req.pageToken, "page_token", isBefore)?.b ?? Number.MAX_SAFE_INTEGER;
      const rows = await manager.listVersions(before, size + 1);
      const page = rows.slice(0, size);
      const last = page[page.length - 1];
      return {
        versions: page.map((v) => versionOut(v, false)),
        nextPageToken: rows.length > size && last !== undefined ? encodePageToken({ b: last.number }) : "",
      };
    },
    async getVersion(req) {
      return { version: versionOut(await manager.getVersion(versionNumber(req.number, "number")), true) };
    },
  };
}
