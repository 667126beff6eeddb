/**
 * /v1/rating/module_config/hashmap/…: CloudKitty's hashmap price lists
 * (services, fields, groups, mappings, thresholds, mapping types) over
 * rating's HashmapService. Shapes as CloudKitty's WSME models: ids null
 * when unset, costs and levels as decimal strings (ratemesh keeps the digits
 * it was given; CloudKitty pads them to its column scale), updates answer
 * 302 to the resource, creates 201 with a Location.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  CreateFieldRequest,
  CreateGroupRequest,
  CreateMappingRequest,
  CreateServiceRequest,
  CreateThresholdRequest,
  DeleteFieldRequest,
  DeleteGroupRequest,
  DeleteMappingRequest,
  DeleteServiceRequest,
  DeleteThresholdRequest,
  GetFieldRequest,
  GetGroupRequest,
  GetMappingRequest,
  GetServiceRequest,
  GetThresholdRequest,
  type HashField,
  type HashGroup,
  type HashMapping,
  type HashService,
  type HashThreshold,
  ListFieldsRequest,
  ListGroupsRequest,
  ListMappingsRequest,
  ListServicesRequest,
  ListThresholdsRequest,
  MappingType,
  type UpdateMappingRequest,
  type UpdateThresholdRequest,
} from "../../../libs/gen/ratemesh/v1/rating.js";
import { Decimal } from "../../../libs/money/decimal.js";
import { ApiError, badRequest, notFound } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { all } from "../paging.js";
import { boolParam, timestamp } from "../query.js";
import { sendCreated, sendEmpty, sendJson, sendSeeResource } from "../reply.js";
import { naiveIso } from "../time.js";
import type { Caller } from "../upstream.js";

const ROOT = "/v1/rating/module_config/hashmap";
/** HashmapService pages hold at most this many rows. */
const MAX_PAGE = 1000;

const nullable = (id: string) => (id === "" ? null : id);
const typeName = (t: MappingType) => (t === MappingType.MAPPING_TYPE_RATE ? "rate" : "flat");
const dateOrNull = (d: Date | undefined) => (d === undefined ? null : naiveIso(d));

export const serviceOut = (s: HashService | undefined) => ({ service_id: s?.serviceId ?? "", name: s?.name ?? "" });
export const fieldOut = (f: HashField | undefined) => ({ field_id: f?.fieldId ?? "", name: f?.name ?? "", service_id: f?.serviceId ?? "" });
export const groupOut = (g: HashGroup | undefined) => ({ group_id: g?.groupId ?? "", name: g?.name ?? "" });

/** CloudKitty's Mapping model, with the validity and audit attributes of 23.0.0 (ratemesh keeps no user ids). */
export function mappingOut(m: HashMapping | undefined) {
  if (m === undefined) throw new ApiError(500, "rating answered without the mapping");
  return {
    mapping_id: m.mappingId,
    value: m.value,
    type: typeName(m.type),
    cost: m.cost,
    service_id: nullable(m.serviceId),
    field_id: nullable(m.fieldId),
    group_id: nullable(m.groupId),
    tenant_id: nullable(m.tenantId),
    created_at: dateOrNull(m.createdAt),
    start: dateOrNull(m.start),
    end: dateOrNull(m.end),
    name: nullable(m.name),
    description: nullable(m.description),
    deleted: dateOrNull(m.deletedAt),
    created_by: null,
    updated_by: null,
    deleted_by: null,
  };
}

export function thresholdOut(t: HashThreshold | undefined) {
  if (t === undefined) throw new ApiError(500, "rating answered without the threshold");
  return {
    threshold_id: t.thresholdId,
    level: t.level,
    type: typeName(t.type),
    cost: t.cost,
    service_id: nullable(t.serviceId),
    field_id: nullable(t.fieldId),
    group_id: nullable(t.groupId),
    tenant_id: nullable(t.tenantId),
  };
}

/** WSME's message for a mandatory attribute that is missing. */
function mandatory(field: string): ApiError {
  return badRequest(`Invalid input for field/attribute ${field}. Value: 'None'. Mandatory field missing.`);
}

function mappingType(value: unknown, field = "type"): MappingType {
  if (value === undefined || value === null || value === "flat") return MappingType.MAPPING_TYPE_FLAT;
  if (value === "rate") return MappingType.MAPPING_TYPE_RATE;
  throw badRequest(`Invalid input for field/attribute ${field}. Value: '${String(value)}'. Value should be one of: flat, rate`);
}

/** A money value of a body: a JSON number keeps its digits (see json.ts). */
function decimalText(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" || typeof value === "number") return String(value);
  throw badRequest(`Invalid input for field/attribute ${field}. Value: '${JSON.stringify(value)}'. Not a decimal`);
}

/** Equal as decimals ("2.5" and "2.50"), or as text when either is not a decimal. */
function sameDecimal(a: string, b: string): boolean {
  try {
    return Decimal.parse(a).eq(Decimal.parse(b));
  } catch {
    return a === b;
  }
}

/** CloudKitty's EndDayDatetime: an end given as a date only means 23:59:59 that day. */
function endOfDay(value: unknown, field: string): Date | undefined {
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value.trim())) return timestamp(`${value.trim()}T23:59:59`, field);
  return timestamp(value, field);
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The unsupported filters of CloudKitty's mapping list: refused rather than ignored, so a result is never silently wider. */
const UNSUPPORTED_MAPPING_FILTERS = ["start", "end", "updated_by", "created_by", "deleted_by", "description"];

/** Request bodies, as CloudKitty's WSME models declare them (a JSON number in a money position arrives as its text, see json.ts). */
const nonEmptyText = { type: "string", minLength: 1 } as const;
const optionalText = { type: ["string", "null"] } as const;
const money = { type: ["string", "number"] } as const;
const mapTypeSchema = { enum: ["flat", "rate", null] } as const;
const parents = { service_id: optionalText, field_id: optionalText, group_id: optionalText, tenant_id: optionalText } as const;
const mappingProperties = {
  ...parents,
  mapping_id: optionalText,
  value: optionalText,
  type: mapTypeSchema,
  cost: money,
  start: optionalText,
  end: optionalText,
  name: optionalText,
  description: optionalText,
} as const;
const thresholdProperties = {
  ...parents,
  threshold_id: optionalText,
  level: { type: ["string", "number", "null"] },
  type: mapTypeSchema,
  cost: money,
} as const;
const BODY = {
  named: { body: { type: "object", required: ["name"], properties: { name: nonEmptyText } } },
  field: { body: { type: "object", required: ["name", "service_id"], properties: { name: nonEmptyText, service_id: nonEmptyText } } },
  mapping: { body: { type: "object", required: ["cost"], properties: mappingProperties } },
  mappingUpdate: { body: { type: "object", properties: mappingProperties } },
  threshold: { body: { type: "object", required: ["cost"], properties: thresholdProperties } },
  thresholdUpdate: { body: { type: "object", properties: thresholdProperties } },
} as const;

type Query = Record<string, string | undefined>;
type Body = Record<string, unknown>;

function bodyOf(request: FastifyRequest): Body {
  const b = request.body;
  return b !== null && typeof b === "object" && !Array.isArray(b) ? (b as Body) : {};
}

/**
 * The id of the resource a PUT or DELETE is about: from the path, or from
 * the body, where python-cloudkittyclient puts it (it sends these requests
 * to the collection's URL, which CloudKitty accepts).
 */
function idOf(request: FastifyRequest, key: string): string {
  const fromPath = (request.params as { id?: string }).id;
  if (fromPath !== undefined && fromPath !== "") return fromPath;
  const fromBody = bodyOf(request)[key];
  if (typeof fromBody === "string" && fromBody !== "") return fromBody;
  throw mandatory(key);
}

export function registerHashmap(app: FastifyInstance, gw: Gateway): void {
  const h = gw.services.hashmap;
  const caller = (r: FastifyRequest): Caller => callerOf(gw, r);

  const listMappings = (request: FastifyRequest, req: ListMappingsRequest) =>
    all(async (pageToken, pageSize) => {
      const res = await h.listMappings({ ...req, pageToken, pageSize }, caller(request));
      return { items: res.mappings, next: res.nextPageToken };
    }, MAX_PAGE);

  const listThresholds = (request: FastifyRequest, req: ListThresholdsRequest) =>
    all(async (pageToken, pageSize) => {
      const res = await h.listThresholds({ ...req, pageToken, pageSize }, caller(request));
      return { items: res.thresholds, next: res.nextPageToken };
    }, MAX_PAGE);

  app.get(`${ROOT}/types`, async (_request, reply) => sendJson(reply, 200, ["flat", "rate"]));

  // Services.
  app.get(`${ROOT}/services`, async (request, reply) => {
    const services = await all(async (pageToken, pageSize) => {
      const res = await h.listServices(ListServicesRequest.fromPartial({ pageToken, pageSize }), caller(request));
      return { items: res.services, next: res.nextPageToken };
    }, MAX_PAGE);
    return sendJson(reply, 200, { services: services.map(serviceOut) });
  });
  app.get<{ Params: { id: string } }>(`${ROOT}/services/:id`, async (request, reply) => {
    const res = await h.getService(GetServiceRequest.fromPartial({ serviceId: request.params.id }), caller(request));
    return sendJson(reply, 200, serviceOut(res.service));
  });
  app.post(`${ROOT}/services`, { schema: BODY.named }, async (request, reply) => {
    const res = await h.createService(CreateServiceRequest.fromPartial({ name: text(bodyOf(request).name) }), caller(request));
    return sendCreated(reply, request, res.service?.serviceId ?? "", serviceOut(res.service));
  });
  app.delete<{ Params: { id?: string } }>(`${ROOT}/services/:id?`, async (request, reply) => {
    await h.deleteService(DeleteServiceRequest.fromPartial({ serviceId: idOf(request, "service_id") }), caller(request));
    return sendEmpty(reply);
  });

  // Fields.
  app.get<{ Querystring: Query }>(`${ROOT}/fields`, async (request, reply) => {
    const serviceId = request.query.service_id ?? "";
    const fields = await all(async (pageToken, pageSize) => {
      const res = await h.listFields(ListFieldsRequest.fromPartial({ serviceId, pageToken, pageSize }), caller(request));
      return { items: res.fields, next: res.nextPageToken };
    }, MAX_PAGE);
    return sendJson(reply, 200, { fields: fields.map(fieldOut) });
  });
  app.get<{ Params: { id: string } }>(`${ROOT}/fields/:id`, async (request, reply) => {
    const res = await h.getField(GetFieldRequest.fromPartial({ fieldId: request.params.id }), caller(request));
    return sendJson(reply, 200, fieldOut(res.field));
  });
  app.post(`${ROOT}/fields`, { schema: BODY.field }, async (request, reply) => {
    const body = bodyOf(request);
    const res = await h.createField(
      CreateFieldRequest.fromPartial({ serviceId: text(body.service_id), name: text(body.name) }),
      caller(request),
    );
    return sendCreated(reply, request, res.field?.fieldId ?? "", fieldOut(res.field));
  });
  app.delete<{ Params: { id?: string } }>(`${ROOT}/fields/:id?`, async (request, reply) => {
    await h.deleteField(DeleteFieldRequest.fromPartial({ fieldId: idOf(request, "field_id") }), caller(request));
    return sendEmpty(reply);
  });

  // Groups.
  app.get(`${ROOT}/groups`, async (request, reply) => {
    const groups = await all(async (pageToken, pageSize) => {
      const res = await h.listGroups(ListGroupsRequest.fromPartial({ pageToken, pageSize }), caller(request));
      return { items: res.groups, next: res.nextPageToken };
    }, MAX_PAGE);
    return sendJson(reply, 200, { groups: groups.map(groupOut) });
  });
  app.get<{ Querystring: Query }>(`${ROOT}/groups/mappings`, async (request, reply) => {
    const groupId = request.query.group_id ?? "";
    if (groupId === "") throw mandatory("group_id");
    const mappings = await listMappings(request, ListMappingsRequest.fromPartial({ groupId }));
    return sendJson(reply, 200, { mappings: mappings.map(mappingOut) });
  });
  app.get<{ Querystring: Query }>(`${ROOT}/groups/thresholds`, async (request, reply) => {
    const groupId = request.query.group_id ?? "";
    if (groupId === "") throw mandatory("group_id");
    const thresholds = await listThresholds(request, ListThresholdsRequest.fromPartial({ groupId }));
    return sendJson(reply, 200, { thresholds: thresholds.map(thresholdOut) });
  });
  app.get<{ Params: { id: string } }>(`${ROOT}/groups/:id`, async (request, reply) => {
    const res = await h.getGroup(GetGroupRequest.fromPartial({ groupId: request.params.id }), caller(request));
    return sendJson(reply, 200, groupOut(res.group));
  });
  app.post(`${ROOT}/groups`, { schema: BODY.named }, async (request, reply) => {
    const res = await h.createGroup(CreateGroupRequest.fromPartial({ name: text(bodyOf(request).name) }), caller(request));
    return sendCreated(reply, request, res.group?.groupId ?? "", groupOut(res.group));
  });
  app.delete<{ Params: { id?: string }; Querystring: Query }>(`${ROOT}/groups/:id?`, async (request, reply) => {
    // python-cloudkittyclient sends `recursive` in the body of the DELETE; a query parameter works too.
    const recursive = boolParam(request.query.recursive ?? bodyOf(request).recursive, "recursive", false);
    await h.deleteGroup(DeleteGroupRequest.fromPartial({ groupId: idOf(request, "group_id"), recursive }), caller(request));
    return sendEmpty(reply);
  });

  // Mappings.
  app.get<{ Querystring: Query }>(`${ROOT}/mappings`, async (request, reply) => {
    const q = request.query;
    for (const name of UNSUPPORTED_MAPPING_FILTERS) {
      if (q[name] !== undefined) throw badRequest(`The ${name} filter of the mapping list is not supported by the ratemesh gateway.`);
    }
    const filterTenant = boolParam(q.filter_tenant, "filter_tenant", false);
    const isActive = q.is_active === undefined ? undefined : boolParam(q.is_active, "is_active", true);
    if (isActive === false) throw badRequest("is_active=false is not supported by the ratemesh gateway; list every mapping instead.");
    const req = ListMappingsRequest.fromPartial({
      serviceId: q.service_id ?? "",
      fieldId: q.field_id ?? "",
      groupId: q.group_id ?? "",
      noGroup: boolParam(q.no_group, "no_group", false),
      // As CloudKitty: tenant_id filters only with filter_tenant, and then a missing tenant_id means global rules.
      tenantId: filterTenant ? (q.tenant_id ?? "") : "",
      includeDeleted: boolParam(q.deleted, "deleted", false),
      activeAt: isActive === true ? gw.clock.now() : undefined,
    });
    let mappings = await listMappings(request, req);
    if (filterTenant && (q.tenant_id ?? "") === "") mappings = mappings.filter((m) => m.tenantId === "");
    return sendJson(reply, 200, { mappings: mappings.map(mappingOut) });
  });
  app.get<{ Querystring: Query }>(`${ROOT}/mappings/group`, async (request, reply) => {
    const id = request.query.mapping_id ?? "";
    if (id === "") throw mandatory("mapping_id");
    const { mapping } = await h.getMapping(GetMappingRequest.fromPartial({ mappingId: id }), caller(request));
    if (mapping === undefined || mapping.groupId === "") throw notFound(`Mapping has no group (UUID: ${id})`);
    const res = await h.getGroup(GetGroupRequest.fromPartial({ groupId: mapping.groupId }), caller(request));
    return sendJson(reply, 200, groupOut(res.group));
  });
  app.get<{ Params: { id: string } }>(`${ROOT}/mappings/:id`, async (request, reply) => {
    const res = await h.getMapping(GetMappingRequest.fromPartial({ mappingId: request.params.id }), caller(request));
    return sendJson(reply, 200, mappingOut(res.mapping));
  });
  app.post<{ Querystring: Query }>(`${ROOT}/mappings`, { schema: BODY.mapping }, async (request, reply) => {
    const body = bodyOf(request);
    const cost = decimalText(body.cost, "cost");
    if (cost === undefined) throw mandatory("cost");
    const req = CreateMappingRequest.fromPartial({
      serviceId: text(body.service_id),
      fieldId: text(body.field_id),
      value: text(body.value),
      type: mappingType(body.type),
      cost,
      groupId: text(body.group_id),
      tenantId: text(body.tenant_id),
      start: timestamp(body.start, "start"),
      end: endOfDay(body.end, "end"),
      name: text(body.name),
      description: text(body.description),
      force: boolParam(request.query.force, "force", false),
    });
    const res = await h.createMapping(req, caller(request));
    return sendCreated(reply, request, res.mapping?.mappingId ?? "", mappingOut(res.mapping));
  });
  app.put<{ Params: { id?: string } }>(`${ROOT}/mappings/:id?`, { schema: BODY.mappingUpdate }, async (request, reply) => {
    const body = bodyOf(request);
    const id = idOf(request, "mapping_id");
    const { mapping: current } = await h.getMapping(GetMappingRequest.fromPartial({ mappingId: id }), caller(request));
    if (current === undefined) throw notFound(`No such mapping: ${id}`);
    // The client sends the whole mapping back with its changes: pass on only what changed.
    for (const [field, now] of [
      ["service_id", current.serviceId],
      ["field_id", current.fieldId],
      ["tenant_id", current.tenantId],
    ] as const) {
      const given = body[field];
      if (given !== undefined && (given ?? "") !== now)
        throw badRequest(`The ${field} of a mapping cannot be changed; create a new mapping.`);
    }
    const update: UpdateMappingRequest = { mappingId: id };
    if (body.value !== undefined && (body.value ?? "") !== current.value) update.value = text(body.value);
    if (body.type !== undefined) {
      const t = mappingType(body.type);
      if (t !== current.type) update.type = t;
    }
    const cost = decimalText(body.cost, "cost");
    if (cost !== undefined && !sameDecimal(cost, current.cost)) update.cost = cost;
    if (body.group_id !== undefined && (body.group_id ?? "") !== current.groupId) update.groupId = text(body.group_id);
    const start = timestamp(body.start, "start");
    if (start !== undefined && start.getTime() !== current.start?.getTime()) update.start = start;
    const end = endOfDay(body.end, "end");
    if (end !== undefined && end.getTime() !== current.end?.getTime()) update.end = end;
    if (body.name !== undefined && body.name !== null && body.name !== current.name) update.name = text(body.name);
    if (body.description !== undefined && body.description !== null && body.description !== current.description) {
      update.description = text(body.description);
    }
    if (Object.keys(update).length > 1) await h.updateMapping(update, caller(request));
    return sendSeeResource(reply, request, `${ROOT}/mappings/${id}`);
  });
  app.delete<{ Params: { id?: string } }>(`${ROOT}/mappings/:id?`, async (request, reply) => {
    await h.deleteMapping(DeleteMappingRequest.fromPartial({ mappingId: idOf(request, "mapping_id") }), caller(request));
    return sendEmpty(reply);
  });

  // Thresholds.
  app.get<{ Querystring: Query }>(`${ROOT}/thresholds`, async (request, reply) => {
    const q = request.query;
    const filterTenant = boolParam(q.filter_tenant, "filter_tenant", false);
    const req = ListThresholdsRequest.fromPartial({
      serviceId: q.service_id ?? "",
      fieldId: q.field_id ?? "",
      groupId: q.group_id ?? "",
      noGroup: boolParam(q.no_group, "no_group", false),
      tenantId: filterTenant ? (q.tenant_id ?? "") : "",
    });
    let thresholds = await listThresholds(request, req);
    if (filterTenant && (q.tenant_id ?? "") === "") thresholds = thresholds.filter((t) => t.tenantId === "");
    return sendJson(reply, 200, { thresholds: thresholds.map(thresholdOut) });
  });
  app.get<{ Querystring: Query }>(`${ROOT}/thresholds/group`, async (request, reply) => {
    const id = request.query.threshold_id ?? "";
    if (id === "") throw mandatory("threshold_id");
    const { threshold } = await h.getThreshold(GetThresholdRequest.fromPartial({ thresholdId: id }), caller(request));
    if (threshold === undefined || threshold.groupId === "") throw notFound(`Threshold has no group (UUID: ${id})`);
    const res = await h.getGroup(GetGroupRequest.fromPartial({ groupId: threshold.groupId }), caller(request));
    return sendJson(reply, 200, groupOut(res.group));
  });
  app.get<{ Params: { id: string } }>(`${ROOT}/thresholds/:id`, async (request, reply) => {
    const res = await h.getThreshold(GetThresholdRequest.fromPartial({ thresholdId: request.params.id }), caller(request));
    return sendJson(reply, 200, thresholdOut(res.threshold));
  });
  app.post(`${ROOT}/thresholds`, { schema: BODY.threshold }, async (request, reply) => {
    const body = bodyOf(request);
    const cost = decimalText(body.cost, "cost");
    if (cost === undefined) throw mandatory("cost");
    const req = CreateThresholdRequest.fromPartial({
      serviceId: text(body.service_id),
      fieldId: text(body.field_id),
      // WSME's default level is 0.
      level: decimalText(body.level, "level") ?? "0",
      type: mappingType(body.type),
      cost,
      groupId: text(body.group_id),
      tenantId: text(body.tenant_id),
    });
    const res = await h.createThreshold(req, caller(request));
    return sendCreated(reply, request, res.threshold?.thresholdId ?? "", thresholdOut(res.threshold));
  });
  app.put<{ Params: { id?: string } }>(`${ROOT}/thresholds/:id?`, { schema: BODY.thresholdUpdate }, async (request, reply) => {
    const body = bodyOf(request);
    const id = idOf(request, "threshold_id");
    const { threshold: current } = await h.getThreshold(GetThresholdRequest.fromPartial({ thresholdId: id }), caller(request));
    if (current === undefined) throw notFound(`No such threshold: ${id}`);
    for (const [field, now] of [
      ["service_id", current.serviceId],
      ["field_id", current.fieldId],
      ["tenant_id", current.tenantId],
    ] as const) {
      const given = body[field];
      if (given !== undefined && (given ?? "") !== now)
        throw badRequest(`The ${field} of a threshold cannot be changed; create a new threshold.`);
    }
    const update: UpdateThresholdRequest = { thresholdId: id };
    const level = decimalText(body.level, "level");
    if (level !== undefined && !sameDecimal(level, current.level)) update.level = level;
    if (body.type !== undefined) {
      const t = mappingType(body.type);
      if (t !== current.type) update.type = t;
    }
    const cost = decimalText(body.cost, "cost");
    if (cost !== undefined && !sameDecimal(cost, current.cost)) update.cost = cost;
    if (body.group_id !== undefined && (body.group_id ?? "") !== current.groupId) update.groupId = text(body.group_id);
    if (Object.keys(update).length > 1) await h.updateThreshold(update, caller(request));
    return sendSeeResource(reply, request, `${ROOT}/thresholds/${id}`);
  });
  app.delete<{ Params: { id?: string } }>(`${ROOT}/thresholds/:id?`, async (request, reply) => {
    await h.deleteThreshold(DeleteThresholdRequest.fromPartial({ thresholdId: idOf(request, "threshold_id") }), caller(request));
    return sendEmpty(reply);
  });

  // The other modules: noop and rules have no CloudKitty configuration API; anything else is not loaded.
  app.all<{ Params: { module: string } }>("/v1/rating/module_config/:module/*", async (request) => {
    const loaded = (await gw.services.rating.listModules({}, caller(request))).modules.map((m) => m.name);
    const module = request.params.module;
    if (module !== "hashmap" && loaded.includes(module)) throw new ApiError(409, "Module is not configurable");
    throw notFound("The resource could not be found.");
  });
}
