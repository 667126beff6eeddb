/**
 * HashmapService handlers: each request is checked field by field (the
 * error names the field), turned into a manager input, and answered with
 * the stored rows. State-dependent checks (existence, uniqueness, started
 * mappings) are the manager's, inside its write transaction.
 */
import { InvalidArgumentError } from "../../../../libs/errors/errors.js";
import { type HashMapping, type HashmapServiceService, type HashThreshold, MappingType } from "../../../../libs/gen/ratemesh/v1/rating.js";
import type { Handlers } from "../../../../libs/grpc/server.js";
import { Decimal } from "../../../../libs/money/decimal.js";
import { optionalDate, requireText } from "../../../../libs/validation/fields.js";
import { isPlainDecimal } from "../../domain.js";
import { pageOf, requestedPage } from "../../paging.js";
import type { HashmapManager, Parent } from "./manage.js";
import type { FieldRow, GroupRow, MappingRow, MapType, ServiceRow, ThresholdRow } from "./model.js";
import { tiersFromMessage, tiersToMessage, timeOfUseFromMessage, timeOfUseToMessage } from "./price-shapes.js";

const MAX_NAME = 255;

function text(value: string, field: string, max = MAX_NAME): string {
  const v = requireText(value, field);
  if (v !== v.trim()) throw new InvalidArgumentError(field, `${JSON.stringify(v)} has leading or trailing spaces`);
  if (v.length > max) throw new InvalidArgumentError(field, `is ${v.length} characters long; at most ${max}`);
  return v;
}

function optionalText(value: string, field: string, max: number): string | null {
  if (value === "") return null;
  if (value.length > max) throw new InvalidArgumentError(field, `is ${value.length} characters long; at most ${max}`);
  return value;
}

function mapType(value: MappingType | undefined, field: string): MapType {
  switch (value) {
    case undefined:
    case MappingType.MAPPING_TYPE_UNSPECIFIED:
    case MappingType.MAPPING_TYPE_FLAT:
      return "flat";
    case MappingType.MAPPING_TYPE_RATE:
      return "rate";
    default:
      throw new InvalidArgumentError(field, `${value} is not a mapping type (MAPPING_TYPE_FLAT or MAPPING_TYPE_RATE)`);
  }
}

function toMappingType(t: MapType): MappingType {
  return t === "rate" ? MappingType.MAPPING_TYPE_RATE : MappingType.MAPPING_TYPE_FLAT;
}

/**
 * An exact decimal within a column's bounds: CloudKitty's costs are
 * Numeric(40,28) (12 integer digits, 28 decimals), its levels Numeric(20,8).
 */
function boundedDecimal(value: string, field: string, intDigits: number, decimals: number): Decimal {
  if (value === "") throw new InvalidArgumentError(field, "is required");
  if (!isPlainDecimal(value))
    throw new InvalidArgumentError(field, `${JSON.stringify(value)} is not an exact decimal (e.g. "0.01", "12.5")`);
  const d = Decimal.parse(value);
  const scale = Math.max(0, -d.exp);
  if (scale > decimals) throw new InvalidArgumentError(field, `${value} has ${scale} decimals; at most ${decimals}`);
  const integer = d.abs().quantize(0, "down").coef.toString().replace(/^0+/, "").length;
  if (integer > intDigits) throw new InvalidArgumentError(field, `${value} has ${integer} integer digits; at most ${intDigits}`);
  return d;
}

export function cost(value: string, field: string): string {
  boundedDecimal(value, field, 12, 28);
  return value;
}

function level(value: string, field: string): { value: Decimal; text: string } {
  return { value: boundedDecimal(value, field, 12, 8), text: value };
}

/** service_id xor field_id, each an id. */
function parent(serviceId: string, fieldId: string, what: string): Parent {
  if (serviceId !== "" && fieldId !== "") {
    throw new InvalidArgumentError("field_id", `a ${what} belongs to a service or to a field, not both (service_id is set too)`);
  }
  if (serviceId === "" && fieldId === "")
    throw new InvalidArgumentError("service_id", `one of service_id and field_id is required for a ${what}`);
  return { serviceId: serviceId === "" ? null : serviceId, fieldId: fieldId === "" ? null : fieldId };
}

function date(ms: number | null): Date | undefined {
  return ms === null ? undefined : new Date(ms);
}

export function toServiceMessage(s: ServiceRow) {
  return { serviceId: s.serviceId, name: s.name };
}

export function toFieldMessage(f: FieldRow) {
  return { fieldId: f.fieldId, serviceId: f.serviceId, name: f.name };
}

export function toGroupMessage(g: GroupRow) {
  return { groupId: g.groupId, name: g.name };
}

export function toMappingMessage(m: MappingRow): HashMapping {
  return {
    mappingId: m.mappingId,
    serviceId: m.serviceId ?? "",
    fieldId: m.fieldId ?? "",
    value: m.value ?? "",
    type: toMappingType(m.type),
    cost: m.cost,
    groupId: m.groupId ?? "",
    tenantId: m.tenantId ?? "",
    start: new Date(m.start),
    end: date(m.end),
    name: m.name ?? "",
    description: m.description,
    createdAt: new Date(m.createdAt),
    deletedAt: date(m.deletedAt),
    tiers: m.tiers ? tiersToMessage(m.tiers) : undefined,
    timeOfUse: m.timeOfUse ? timeOfUseToMessage(m.timeOfUse) : undefined,
  };
}

export function toThresholdMessage(t: ThresholdRow): HashThreshold {
  return {
    thresholdId: t.thresholdId,
    serviceId: t.serviceId ?? "",
    fieldId: t.fieldId ?? "",
    level: t.level,
    type: toMappingType(t.type),
    cost: t.cost,
    groupId: t.groupId ?? "",
    tenantId: t.tenantId ?? "",
  };
}

export function hashmapHandlers(manager: HashmapManager): Handlers<typeof HashmapServiceService> {
  return {
    async createService(req) {
      return { service: toServiceMessage(await manager.createService(text(req.name, "name"))) };
    },
    async getService(req) {
      return { service: toServiceMessage(await manager.getService(requireText(req.serviceId, "service_id"))) };
    },
    async listServices(req) {
      const p = requestedPage(req.pageToken, req.pageSize);
      const { items, next } = pageOf(await manager.listServices(req.name, p), p);
      return { services: items.map(toServiceMessage), nextPageToken: next };
    },
    async updateService(req) {
      const id = requireText(req.serviceId, "service_id");
      const name = req.name === undefined ? undefined : text(req.name, "name");
      return { service: toServiceMessage(await manager.updateService(id, name)) };
    },
    async deleteService(req) {
      await manager.deleteService(requireText(req.serviceId, "service_id"));
      return {};
    },

    async createField(req) {
      const serviceId = requireText(req.serviceId, "service_id");
      return { field: toFieldMessage(await manager.createField(serviceId, text(req.name, "name"))) };
    },
    async getField(req) {
      return { field: toFieldMessage(await manager.getField(requireText(req.fieldId, "field_id"))) };
    },
    async listFields(req) {
      const p = requestedPage(req.pageToken, req.pageSize);
      const { items, next } = pageOf(await manager.listFields(req.serviceId, p), p);
      return { fields: items.map(toFieldMessage), nextPageToken: next };
    },
    async updateField(req) {
      const id = requireText(req.fieldId, "field_id");
      const name = req.name === undefined ? undefined : text(req.name, "name");
      return { field: toFieldMessage(await manager.updateField(id, name)) };
    },
    async deleteField(req) {
      await manager.deleteField(requireText(req.fieldId, "field_id"));
      return {};
    },

    async createMapping(req) {
      const p = parent(req.serviceId, req.fieldId, "mapping");
      let value: string | null = null;
      if (p.fieldId !== null) {
        if (req.value === "") throw new InvalidArgumentError("value", "is required for a field mapping: the attribute value it prices");
        if (req.value.length > MAX_NAME)
          throw new InvalidArgumentError("value", `is ${req.value.length} characters long; at most ${MAX_NAME}`);
        value = req.value;
      } else if (req.value !== "") {
        throw new InvalidArgumentError("value", "a service mapping has no value (it always applies); give field_id to price a value");
      }
      const tiers = req.tiers === undefined ? null : tiersFromMessage(req.tiers, "tiers");
      const mapping = await manager.createMapping({
        ...p,
        value,
        type: mapType(req.type, "type"),
        // A tiered mapping's prices are its tiers: its cost may be left out.
        cost: tiers !== null && req.cost === "" ? "0" : cost(req.cost, "cost"),
        groupId: req.groupId === "" ? null : req.groupId,
        tenantId: optionalText(req.tenantId, "tenant_id", MAX_NAME),
        start: optionalDate(req.start, "start"),
        end: optionalDate(req.end, "end"),
        name: optionalText(req.name, "name", 32),
        description: optionalText(req.description, "description", 256) ?? "",
        force: req.force,
        tiers,
        timeOfUse: req.timeOfUse === undefined ? null : timeOfUseFromMessage(req.timeOfUse, "time_of_use"),
      });
      return { mapping: toMappingMessage(mapping) };
    },
    async getMapping(req) {
      return { mapping: toMappingMessage(await manager.getMapping(requireText(req.mappingId, "mapping_id"))) };
    },
    async listMappings(req) {
      if (req.groupId !== "" && req.noGroup) throw new InvalidArgumentError("no_group", "cannot be combined with group_id");
      const p = requestedPage(req.pageToken, req.pageSize);
      const activeAt = optionalDate(req.activeAt, "active_at")?.getTime();
      const rows = await manager.listMappings(
        {
          serviceId: req.serviceId,
          fieldId: req.fieldId,
          groupId: req.groupId,
          noGroup: req.noGroup,
          tenantId: req.tenantId,
          includeDeleted: req.includeDeleted,
          activeAt,
        },
        p,
      );
      const { items, next } = pageOf(rows, p);
      return { mappings: items.map(toMappingMessage), nextPageToken: next };
    },
    async updateMapping(req) {
      const mappingId = requireText(req.mappingId, "mapping_id");
      if (req.value !== undefined && req.value.length > MAX_NAME) {
        throw new InvalidArgumentError("value", `is ${req.value.length} characters long; at most ${MAX_NAME}`);
      }
      const mapping = await manager.updateMapping({
        mappingId,
        value: req.value,
        type: req.type === undefined ? undefined : mapType(req.type, "type"),
        cost: req.cost === undefined ? undefined : cost(req.cost, "cost"),
        groupId: req.groupId === undefined ? undefined : req.groupId === "" ? null : req.groupId,
        start: optionalDate(req.start, "start"),
        end: optionalDate(req.end, "end"),
        name: req.name === undefined ? undefined : optionalText(req.name, "name", 32),
        description: req.description === undefined ? undefined : (optionalText(req.description, "description", 256) ?? ""),
        tiers: req.tiers === undefined ? undefined : tiersFromMessage(req.tiers, "tiers"),
        timeOfUse: req.timeOfUse === undefined ? undefined : timeOfUseFromMessage(req.timeOfUse, "time_of_use"),
      });
      return { mapping: toMappingMessage(mapping) };
    },
    async deleteMapping(req) {
      await manager.deleteMapping(requireText(req.mappingId, "mapping_id"));
      return {};
    },

    async createThreshold(req) {
      const p = parent(req.serviceId, req.fieldId, "threshold");
      const lv = level(req.level, "level");
      const threshold = await manager.createThreshold({
        ...p,
        level: lv.value,
        levelText: lv.text,
        type: mapType(req.type, "type"),
        cost: cost(req.cost, "cost"),
        groupId: req.groupId === "" ? null : req.groupId,
        tenantId: optionalText(req.tenantId, "tenant_id", MAX_NAME),
      });
      return { threshold: toThresholdMessage(threshold) };
    },
    async getThreshold(req) {
      return { threshold: toThresholdMessage(await manager.getThreshold(requireText(req.thresholdId, "threshold_id"))) };
    },
    async listThresholds(req) {
      if (req.groupId !== "" && req.noGroup) throw new InvalidArgumentError("no_group", "cannot be combined with group_id");
      const p = requestedPage(req.pageToken, req.pageSize);
      const rows = await manager.listThresholds(
        { serviceId: req.serviceId, fieldId: req.fieldId, groupId: req.groupId, noGroup: req.noGroup, tenantId: req.tenantId },
        p,
      );
      const { items, next } = pageOf(rows, p);
      return { thresholds: items.map(toThresholdMessage), nextPageToken: next };
    },
    async updateThreshold(req) {
      const thresholdId = requireText(req.thresholdId, "threshold_id");
      const threshold = await manager.updateThreshold({
        thresholdId,
        level: req.level === undefined ? undefined : level(req.level, "level"),
        type: req.type === undefined ? undefined : mapType(req.type, "type"),
        cost: req.cost === undefined ? undefined : cost(req.cost, "cost"),
        groupId: req.groupId === undefined ? undefined : req.groupId === "" ? null : req.groupId,
      });
      return { threshold: toThresholdMessage(threshold) };
    },
    async deleteThreshold(req) {
      await manager.deleteThreshold(requireText(req.thresholdId, "threshold_id"));
      return {};
    },

    async createGroup(req) {
      return { group: toGroupMessage(await manager.createGroup(text(req.name, "name"))) };
    },
    async getGroup(req) {
      const { group, mappings, thresholds } = await manager.getGroup(requireText(req.groupId, "group_id"));
      return { group: toGroupMessage(group), mappings: mappings.map(toMappingMessage), thresholds: thresholds.map(toThresholdMessage) };
    },
    async listGroups(req) {
      const p = requestedPage(req.pageToken, req.pageSize);
      const { items, next } = pageOf(await manager.listGroups(p), p);
      return { groups: items.map(toGroupMessage), nextPageToken: next };
    },
    async updateGroup(req) {
      const id = requireText(req.groupId, "group_id");
      const name = req.name === undefined ? undefined : text(req.name, "name");
      return { group: toGroupMessage(await manager.updateGroup(id, name)) };
    },
    async deleteGroup(req) {
      await manager.deleteGroup(requireText(req.groupId, "group_id"), req.recursive);
      return {};
    },
  };
}
