/**
 * The prices of a hashmap price list: mappings and thresholds, each on a
 * service or a field, in a group or not, for every project or for one. Both
 * are collections (hashmap-collection.ts) with, on top, an update that passes
 * on only what changed (302 to the rule), the group a rule is in, and the
 * rules of a group.
 */
import type { FastifyInstance, FastifySchema } from "fastify";
import {
  CreateMappingRequest,
  CreateThresholdRequest,
  DeleteMappingRequest,
  DeleteThresholdRequest,
  GetGroupRequest,
  GetMappingRequest,
  GetThresholdRequest,
  type HashMapping,
  type HashThreshold,
  ListMappingsRequest,
  ListThresholdsRequest,
  type MappingType,
  type UpdateMappingRequest,
  type UpdateThresholdRequest,
} from "../../../libs/gen/ratemesh/v1/rating.js";
import { badRequest, notFound } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { boolParam, timestamp } from "../query.js";
import { sendJson, sendSeeResource } from "../reply.js";
import type { Caller } from "../upstream.js";
import { type Collection, every, ROOT, registerCollection } from "./hashmap-collection.js";
import {
  BODY,
  type Body,
  bodyOf,
  decimalText,
  endOfDay,
  groupOut,
  idOf,
  mandatory,
  mappingOut,
  mappingType,
  type Query,
  type Rule,
  sameDecimal,
  text,
  thresholdOut,
} from "./hashmap-shapes.js";

/** The unsupported filters of CloudKitty's mapping list: refused rather than ignored, so a result is never silently wider. */
const UNSUPPORTED_MAPPING_FILTERS = ["start", "end", "updated_by", "created_by", "deleted_by", "description"];

type Changes<U> = Partial<Omit<U, "mappingId" | "thresholdId">>;

interface RuleKind<T extends Rule, U> extends Collection<T> {
  /** "mapping", as the messages name it. */
  noun: string;
  update: {
    schema: FastifySchema;
    /** What the body changes of the stored rule (only what differs). */
    changes: (body: Body, current: T) => Changes<U>;
    run: (id: string, changes: Changes<U>, caller: Caller) => Promise<unknown>;
  };
}

function registerRuleKind<T extends Rule, U>(app: FastifyInstance, gw: Gateway, r: RuleKind<T, U>): void {
  registerCollection(app, gw, r);
  const h = gw.services.hashmap;
  const title = `${r.noun.charAt(0).toUpperCase()}${r.noun.slice(1)}`;

  app.put<{ Params: { id?: string } }>(`${ROOT}/${r.name}/:id?`, { schema: r.update.schema }, async (request, reply) => {
    const body = bodyOf(request);
    const id = idOf(request, r.idKey);
    const caller = callerOf(gw, request);
    const current = await r.get(id, caller);
    if (current === undefined) throw notFound(`No such ${r.noun}: ${id}`);
    // The client sends the whole rule back with its changes: pass on only what changed.
    for (const [field, now] of [
      ["service_id", current.serviceId],
      ["field_id", current.fieldId],
      ["tenant_id", current.tenantId],
    ] as const) {
      const given = body[field];
      if (given !== undefined && (given ?? "") !== now)
        throw badRequest(`The ${field} of a ${r.noun} cannot be changed; create a new ${r.noun}.`);
    }
    const changes = r.update.changes(body, current);
    if (Object.keys(changes).length > 0) await r.update.run(id, changes, caller);
    return sendSeeResource(reply, request, `${ROOT}/${r.name}/${id}`);
  });

  app.get<{ Querystring: Query }>(`${ROOT}/${r.name}/group`, async (request, reply) => {
    const id = request.query[r.idKey] ?? "";
    if (id === "") throw mandatory(r.idKey);
    const caller = callerOf(gw, request);
    const rule = await r.get(id, caller);
    if (rule === undefined || rule.groupId === "") throw notFound(`${title} has no group (UUID: ${id})`);
    const res = await h.getGroup(GetGroupRequest.fromPartial({ groupId: rule.groupId }), caller);
    return sendJson(reply, 200, groupOut(res.group));
  });

  app.get<{ Querystring: Query }>(`${ROOT}/groups/${r.name}`, async (request, reply) => {
    const groupId = request.query.group_id ?? "";
    if (groupId === "") throw mandatory("group_id");
    // The list filtered on the group only.
    const rules = await r.list({ group_id: groupId }, callerOf(gw, request));
    return sendJson(reply, 200, { [r.name]: rules.map(r.out) });
  });
}

/** A new rule's cost, which WSME requires. */
function costOf(body: Body): string {
  const cost = decimalText(body.cost, "cost");
  if (cost === undefined) throw mandatory("cost");
  return cost;
}

/** The attributes of a new mapping or threshold that both have. */
function newRule(body: Body, cost: string) {
  return {
    serviceId: text(body.service_id),
    fieldId: text(body.field_id),
    type: mappingType(body.type),
    cost,
    groupId: text(body.group_id),
    tenantId: text(body.tenant_id),
  };
}

/** The list filters mappings and thresholds share. */
function listFilter(q: Query, filterTenant: boolean) {
  return {
    serviceId: q.service_id ?? "",
    fieldId: q.field_id ?? "",
    groupId: q.group_id ?? "",
    noGroup: boolParam(q.no_group, "no_group", false),
    // As CloudKitty: tenant_id filters only with filter_tenant, and then a missing tenant_id means global rules.
    tenantId: filterTenant ? (q.tenant_id ?? "") : "",
  };
}

/** With filter_tenant and no tenant_id, the global rules only (rating, given no tenant, lists every rule). */
function tenantFiltered<T extends Rule>(rules: T[], q: Query, filterTenant: boolean): T[] {
  return filterTenant && (q.tenant_id ?? "") === "" ? rules.filter((r) => r.tenantId === "") : rules;
}

/** The type, cost and group of an update, where they differ from the stored rule. */
function priceChanges(body: Body, current: Rule): { type?: MappingType; cost?: string; groupId?: string } {
  const out: { type?: MappingType; cost?: string; groupId?: string } = {};
  if (body.type !== undefined) {
    const t = mappingType(body.type);
    if (t !== current.type) out.type = t;
  }
  const cost = decimalText(body.cost, "cost");
  if (cost !== undefined && !sameDecimal(cost, current.cost)) out.cost = cost;
  if (body.group_id !== undefined && (body.group_id ?? "") !== current.groupId) out.groupId = text(body.group_id);
  return out;
}

function mappingChanges(body: Body, current: HashMapping): Changes<UpdateMappingRequest> {
  const out: Changes<UpdateMappingRequest> = {};
  if (body.value !== undefined && (body.value ?? "") !== current.value) out.value = text(body.value);
  Object.assign(out, priceChanges(body, current));
  const start = timestamp(body.start, "start");
  if (start !== undefined && start.getTime() !== current.start?.getTime()) out.start = start;
  const end = endOfDay(body.end, "end");
  if (end !== undefined && end.getTime() !== current.end?.getTime()) out.end = end;
  if (body.name !== undefined && body.name !== null && body.name !== current.name) out.name = text(body.name);
  if (body.description !== undefined && body.description !== null && body.description !== current.description) {
    out.description = text(body.description);
  }
  return out;
}

function thresholdChanges(body: Body, current: HashThreshold): Changes<UpdateThresholdRequest> {
  const out: Changes<UpdateThresholdRequest> = {};
  const level = decimalText(body.level, "level");
  if (level !== undefined && !sameDecimal(level, current.level)) out.level = level;
  return Object.assign(out, priceChanges(body, current));
}

export function registerRules(app: FastifyInstance, gw: Gateway): void {
  const h = gw.services.hashmap;
  registerRuleKind(app, gw, {
    name: "mappings",
    noun: "mapping",
    idKey: "mapping_id",
    out: mappingOut,
    list: async (q, caller) => {
      for (const name of UNSUPPORTED_MAPPING_FILTERS) {
        if (q[name] !== undefined) throw badRequest(`The ${name} filter of the mapping list is not supported by the ratemesh gateway.`);
      }
      const filterTenant = boolParam(q.filter_tenant, "filter_tenant", false);
      const isActive = q.is_active === undefined ? undefined : boolParam(q.is_active, "is_active", true);
      if (isActive === false) throw badRequest("is_active=false is not supported by the ratemesh gateway; list every mapping instead.");
      const filter = {
        ...listFilter(q, filterTenant),
        includeDeleted: boolParam(q.deleted, "deleted", false),
        activeAt: isActive === true ? gw.clock.now() : undefined,
      };
      const rules = await every((page) => h.listMappings(ListMappingsRequest.fromPartial({ ...filter, ...page }), caller), "mappings");
      return tenantFiltered(rules, q, filterTenant);
    },
    get: async (mappingId, caller) => (await h.getMapping(GetMappingRequest.fromPartial({ mappingId }), caller)).mapping,
    create: {
      schema: BODY.mapping,
      run: async (body, q, caller) => {
        const req = CreateMappingRequest.fromPartial({
          ...newRule(body, costOf(body)),
          value: text(body.value),
          start: timestamp(body.start, "start"),
          end: endOfDay(body.end, "end"),
          name: text(body.name),
          description: text(body.description),
          force: boolParam(q.force, "force", false),
        });
        return (await h.createMapping(req, caller)).mapping;
      },
    },
    remove: (request, caller) => h.deleteMapping(DeleteMappingRequest.fromPartial({ mappingId: idOf(request, "mapping_id") }), caller),
    update: {
      schema: BODY.mappingUpdate,
      changes: mappingChanges,
      run: (mappingId, changes, caller) => h.updateMapping({ mappingId, ...changes }, caller),
    },
  });

  registerRuleKind(app, gw, {
    name: "thresholds",
    noun: "threshold",
    idKey: "threshold_id",
    out: thresholdOut,
    list: async (q, caller) => {
      const filterTenant = boolParam(q.filter_tenant, "filter_tenant", false);
      const filter = listFilter(q, filterTenant);
      const rules = await every(
        (page) => h.listThresholds(ListThresholdsRequest.fromPartial({ ...filter, ...page }), caller),
        "thresholds",
      );
      return tenantFiltered(rules, q, filterTenant);
    },
    get: async (thresholdId, caller) => (await h.getThreshold(GetThresholdRequest.fromPartial({ thresholdId }), caller)).threshold,
    create: {
      schema: BODY.threshold,
      run: async (body, _q, caller) => {
        const cost = costOf(body);
        // WSME's default level is 0.
        const level = decimalText(body.level, "level") ?? "0";
        const req = CreateThresholdRequest.fromPartial({ ...newRule(body, cost), level });
        return (await h.createThreshold(req, caller)).threshold;
      },
    },
    remove: (request, caller) =>
      h.deleteThreshold(DeleteThresholdRequest.fromPartial({ thresholdId: idOf(request, "threshold_id") }), caller),
    update: {
      schema: BODY.thresholdUpdate,
      changes: thresholdChanges,
      run: (thresholdId, changes, caller) => h.updateThreshold({ thresholdId, ...changes }, caller),
    },
  });
}
