/**
 * /v1/rating/module_config/hashmap/…: CloudKitty's hashmap price lists over
 * rating's HashmapService. Here the structure of a price list (services,
 * fields, groups) and the mapping types; the prices (mappings, thresholds)
 * are in hashmap-rules.ts, the routes every collection has in
 * hashmap-collection.ts, CloudKitty's models and bodies in hashmap-shapes.ts.
 * Updates answer 302 to the resource, creates 201 with a Location.
 */
import type { FastifyInstance } from "fastify";
import {
  CreateFieldRequest,
  CreateGroupRequest,
  CreateServiceRequest,
  DeleteFieldRequest,
  DeleteGroupRequest,
  DeleteServiceRequest,
  GetFieldRequest,
  GetGroupRequest,
  GetServiceRequest,
  ListFieldsRequest,
  ListGroupsRequest,
  ListServicesRequest,
} from "../../../libs/gen/ratemesh/v1/rating.js";
import { ApiError, notFound } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { boolParam } from "../query.js";
import { sendJson } from "../reply.js";
import { every, ROOT, registerCollection } from "./hashmap-collection.js";
import { registerRules } from "./hashmap-rules.js";
import { BODY, bodyOf, fieldOut, groupOut, idOf, serviceOut, text } from "./hashmap-shapes.js";

export function registerHashmap(app: FastifyInstance, gw: Gateway): void {
  const h = gw.services.hashmap;

  app.get(`${ROOT}/types`, async (_request, reply) => sendJson(reply, 200, ["flat", "rate"]));

  registerCollection(app, gw, {
    name: "services",
    idKey: "service_id",
    out: serviceOut,
    list: (_q, caller) => every((page) => h.listServices(ListServicesRequest.fromPartial(page), caller), "services"),
    get: async (serviceId, caller) => (await h.getService(GetServiceRequest.fromPartial({ serviceId }), caller)).service,
    create: {
      schema: BODY.named,
      run: async (body, _q, caller) => (await h.createService(CreateServiceRequest.fromPartial({ name: text(body.name) }), caller)).service,
    },
    remove: (request, caller) => h.deleteService(DeleteServiceRequest.fromPartial({ serviceId: idOf(request, "service_id") }), caller),
  });

  registerCollection(app, gw, {
    name: "fields",
    idKey: "field_id",
    out: fieldOut,
    list: (q, caller) => {
      const serviceId = q.service_id ?? "";
      return every((page) => h.listFields(ListFieldsRequest.fromPartial({ serviceId, ...page }), caller), "fields");
    },
    get: async (fieldId, caller) => (await h.getField(GetFieldRequest.fromPartial({ fieldId }), caller)).field,
    create: {
      schema: BODY.field,
      run: async (body, _q, caller) => {
        const req = CreateFieldRequest.fromPartial({ serviceId: text(body.service_id), name: text(body.name) });
        return (await h.createField(req, caller)).field;
      },
    },
    remove: (request, caller) => h.deleteField(DeleteFieldRequest.fromPartial({ fieldId: idOf(request, "field_id") }), caller),
  });

  registerCollection(app, gw, {
    name: "groups",
    idKey: "group_id",
    out: groupOut,
    list: (_q, caller) => every((page) => h.listGroups(ListGroupsRequest.fromPartial(page), caller), "groups"),
    get: async (groupId, caller) => (await h.getGroup(GetGroupRequest.fromPartial({ groupId }), caller)).group,
    create: {
      schema: BODY.named,
      run: async (body, _q, caller) => (await h.createGroup(CreateGroupRequest.fromPartial({ name: text(body.name) }), caller)).group,
    },
    remove: (request, caller) => {
      // python-cloudkittyclient sends `recursive` in the body of the DELETE; a query parameter works too.
      const recursive = boolParam(request.query.recursive ?? bodyOf(request).recursive, "recursive", false);
      return h.deleteGroup(DeleteGroupRequest.fromPartial({ groupId: idOf(request, "group_id"), recursive }), caller);
    },
  });

  registerRules(app, gw);

  // The other modules: noop and rules have no CloudKitty configuration API; anything else is not loaded.
  app.all<{ Params: { module: string } }>("/v1/rating/module_config/:module/*", async (request) => {
    const loaded = (await gw.services.rating.listModules({}, callerOf(gw, request))).modules.map((m) => m.name);
    const module = request.params.module;
    if (module !== "hashmap" && loaded.includes(module)) throw new ApiError(409, "Module is not configurable");
    throw notFound("The resource could not be found.");
  });
}
