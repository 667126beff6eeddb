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

function v1Module(m: RatingModule) {
  return {
    module_id: m.name,
    description: m.description,
    enabled: m.enabled,
    "hot-config": HOT_CONFIG[m.name] ?? false,
    priority: m.priority,
  };
}

function v2Module(m: RatingModule) {
  return {
    module_id: m.name,
    description: m.description,
    enabled: m.enabled,
    hot_config: HOT_CONFIG[m.name] ?? false,
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

export function registerModules(app: FastifyInstance, gw: Gateway): void {
  app.get("/v1/rating/modules", async (request, reply) => {
    const modules = await listModules(gw, callerOf(gw, request));
    return sendJson(reply, 200, { modules: modules.map(v1Module) });
  });

  app.get<{ Params: { module_id: string } }>(
    "/v1/rating/modules/:module_id",
    { schema: { params: moduleIdParam } },
    async (request, reply) => {
      const module = await findModule(gw, callerOf(gw, request), request.params.module_id, "Module not found.");
      return sendJson(reply, 200, v1Module(module));
    },
  );

  app.put<{ Params: { module_id: string }; Body: V1ModuleBody }>(
    "/v1/rating/modules/:module_id",
    {
      schema: {
        params: moduleIdParam,
        body: {
          type: "object",
          properties: { module_id: { type: "string" }, enabled: { type: "boolean" }, priority: { type: "integer" } },
        },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      if (body.module_id === undefined) {
        throw badRequest("Invalid input for field/attribute module_id. Value: 'None'. Mandatory field missing.");
      }
      const caller = callerOf(gw, request);
      const current = await findModule(gw, caller, request.params.module_id, "Module not found.");
      const enabled = body.enabled !== undefined && body.enabled !== current.enabled ? body.enabled : undefined;
      const priority = body.priority !== undefined && body.priority !== current.priority ? body.priority : undefined;
      if (enabled !== undefined || priority !== undefined) {
        await gw.services.rating.updateModule(UpdateModuleRequest.fromPartial({ name: current.name, enabled, priority }), caller);
      }
      return sendSeeResource(reply, request);
    },
  );

  // Nothing to reload: every rating replica picks up module and price list changes within [rating] refresh_interval.
  app.get("/v1/rating/reload_modules", async (_request, reply) => sendEmpty(reply));

  app.get("/v2/rating/modules", async (request, reply) => {
    const modules = await listModules(gw, callerOf(gw, request));
    return sendJson(reply, 200, { modules: modules.map(v2Module) });
  });

  app.get<{ Params: { module_id: string } }>(
    "/v2/rating/modules/:module_id",
    { schema: { params: moduleIdParam } },
    async (request, reply) => {
      const id = request.params.module_id;
      const module = await findModule(gw, callerOf(gw, request), id, `Module '${id}' not found`);
      return sendJson(reply, 200, v2Module(module));
    },
  );

  app.put<{ Params: { module_id: string }; Body: V2ModuleBody }>(
    "/v2/rating/modules/:module_id",
    {
      schema: {
        params: moduleIdParam,
        body: {
          type: "object",
          properties: { enabled: { type: "boolean" }, priority: { type: "integer", minimum: 1 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.module_id;
      const caller = callerOf(gw, request);
      const current = await findModule(gw, caller, id, `Module '${id}' not found`);
      const body = request.body ?? {};
      if (body.enabled !== undefined || body.priority !== undefined) {
        await gw.services.rating.updateModule(
          UpdateModuleRequest.fromPartial({ name: current.name, enabled: body.enabled, priority: body.priority }),
          caller,
        );
      }
      return sendEmpty(reply);
    },
  );
}
