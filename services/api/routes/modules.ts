/**
 * Rating modules: v1 /v1/rating/modules (pecan: "hot-config", PUT answers
 * 302) and v2 /v2/rating/modules ("hot_config", PUT answers 204), both over
 * RatingService ListModules and UpdateModule.
 */
import type { FastifyInstance } from "fastify";
import { type RatingModule, UpdateModuleRequest } from "../../../libs/gen/ratemesh/v1/rating.js";
import { badRequest, notFound } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { sendEmpty, sendJson, sendSeeResource } from "../reply.js";
import type { Caller } from "../upstream.js";

/**
 * Whether a module's configuration changes apply without a restart
 * (CloudKitty's hot-config): price lists and rules are reloaded by every
 * rating replica within [rating] refresh_interval; noop has none.
 */
const HOT_CONFIG: Record<string, boolean> = { hashmap: true, rules: true };

/** What differs between v1 and v2 in reading modules: where, the name of hot-config, the message of a missing module. */
const V1 = { root: "/v1/rating/modules", hotConfig: "hot-config", missing: (_id: string) => "Module not found." } as const;
const V2 = { root: "/v2/rating/modules", hotConfig: "hot_config", missing: (id: string) => `Module '${id}' not found` } as const;

function moduleOut(m: RatingModule, hotConfig: string) {
  return {
    module_id: m.name,
    description: m.description,
    enabled: m.enabled,
    [hotConfig]: HOT_CONFIG[m.name] ?? false,
    priority: m.priority,
  };
}

async function listModules(gw: Gateway, caller: Caller): Promise<RatingModule[]> {
  return (await gw.services.rating.listModules({}, caller)).modules;
}

async function findModule(gw: Gateway, caller: Caller, name: string, missing: string): Promise<RatingModule> {
  const module = (await listModules(gw, caller)).find((m) => m.name === name);
  if (module === undefined) throw notFound(missing);
  return module;
}

const moduleIdParam = {
  type: "object",
  properties: { module_id: { type: "string" } },
  required: ["module_id"],
} as const;

interface V1ModuleBody {
  module_id?: string;
  enabled?: boolean;
  priority?: number;
}

interface V2ModuleBody {
  enabled?: boolean;
  priority?: number;
}

const V1_PUT = {
  params: moduleIdParam,
  body: { type: "object", properties: { module_id: { type: "string" }, enabled: { type: "boolean" }, priority: { type: "integer" } } },
} as const;

const V2_PUT = {
  params: moduleIdParam,
  body: {
    type: "object",
    properties: { enabled: { type: "boolean" }, priority: { type: "integer", minimum: 1 } },
    additionalProperties: false,
  },
} as const;

export function registerModules(app: FastifyInstance, gw: Gateway): void {
  for (const v of [V1, V2]) {
    app.get(v.root, async (request, reply) => {
      const modules = await listModules(gw, callerOf(gw, request));
      return sendJson(reply, 200, { modules: modules.map((m) => moduleOut(m, v.hotConfig)) });
    });
    app.get<{ Params: { module_id: string } }>(`${v.root}/:module_id`, { schema: { params: moduleIdParam } }, async (request, reply) => {
      const id = request.params.module_id;
      const module = await findModule(gw, callerOf(gw, request), id, v.missing(id));
      return sendJson(reply, 200, moduleOut(module, v.hotConfig));
    });
  }

  // v1 (pecan): the whole module comes back, only what changed is passed on; 302 to the module.
  app.put<{ Params: { module_id: string }; Body: V1ModuleBody }>(`${V1.root}/:module_id`, { schema: V1_PUT }, async (request, reply) => {
    const body = request.body ?? {};
    if (body.module_id === undefined) {
      throw badRequest("Invalid input for field/attribute module_id. Value: 'None'. Mandatory field missing.");
    }
    const caller = callerOf(gw, request);
    const current = await findModule(gw, caller, request.params.module_id, V1.missing(request.params.module_id));
    const enabled = body.enabled !== undefined && body.enabled !== current.enabled ? body.enabled : undefined;
    const priority = body.priority !== undefined && body.priority !== current.priority ? body.priority : undefined;
    if (enabled !== undefined || priority !== undefined) {
      await gw.services.rating.updateModule(UpdateModuleRequest.fromPartial({ name: current.name, enabled, priority }), caller);
    }
    return sendSeeResource(reply, request);
  });

  // Nothing to reload: every rating replica picks up module and price list changes within [rating] refresh_interval.
  app.get("/v1/rating/reload_modules", async (_request, reply) => sendEmpty(reply));

  // v2 (Flask): what is given is passed on; 204.
  app.put<{ Params: { module_id: string }; Body: V2ModuleBody }>(`${V2.root}/:module_id`, { schema: V2_PUT }, async (request, reply) => {
    const id = request.params.module_id;
    const caller = callerOf(gw, request);
    const current = await findModule(gw, caller, id, V2.missing(id));
    const body = request.body ?? {};
    if (body.enabled !== undefined || body.priority !== undefined) {
      await gw.services.rating.updateModule(
        UpdateModuleRequest.fromPartial({ name: current.name, enabled: body.enabled, priority: body.priority }),
        caller,
      );
    }
    return sendEmpty(reply);
  });
}
