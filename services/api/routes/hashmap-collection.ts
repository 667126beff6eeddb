/**
 * The routes every hashmap collection has (services, fields, groups,
 * mappings, thresholds), declared once from a description of the
 * collection: the list, one item, a create (201 with a Location) and a
 * delete (204, the id in the path or in the body).
 */
import type { FastifyInstance, FastifyRequest, FastifySchema } from "fastify";
import { callerOf, type Gateway } from "../gateway.js";
import { all } from "../paging.js";
import { sendCreated, sendEmpty, sendJson } from "../reply.js";
import type { Caller } from "../upstream.js";
import { type Body, bodyOf, type Query } from "./hashmap-shapes.js";

export const ROOT = "/v1/rating/module_config/hashmap";
/** HashmapService pages hold at most this many rows. */
const MAX_PAGE = 1000;

/** Every row of a HashmapService listing, read page after page: `key` names the rows in a page. */
export function every<K extends string, T>(
  call: (page: { pageToken: string; pageSize: number }) => Promise<{ nextPageToken: string } & { [k in K]: T[] }>,
  key: K,
): Promise<T[]> {
  return all(async (pageToken, pageSize) => {
    const res = await call({ pageToken, pageSize });
    return { items: res[key], next: res.nextPageToken };
  }, MAX_PAGE);
}

export interface Collection<T> {
  /** The path below ROOT, and the key of the list in its answer: "services". */
  name: string;
  /** The model's id attribute, which names a created item in its Location: "service_id". */
  idKey: string;
  out: (item: T | undefined) => Record<string, unknown>;
  list: (query: Query, caller: Caller) => Promise<T[]>;
  get: (id: string, caller: Caller) => Promise<T | undefined>;
  create: { schema: FastifySchema; run: (body: Body, query: Query, caller: Caller) => Promise<T | undefined> };
  /** Deletes the item the request names (idOf: in the path or in the body). */
  remove: (request: FastifyRequest<{ Querystring: Query }>, caller: Caller) => Promise<unknown>;
}

export function registerCollection<T>(app: FastifyInstance, gw: Gateway, c: Collection<T>): void {
  const path = `${ROOT}/${c.name}`;
  app.get<{ Querystring: Query }>(path, async (request, reply) => {
    const items = await c.list(request.query, callerOf(gw, request));
    return sendJson(reply, 200, { [c.name]: items.map(c.out) });
  });
  app.get<{ Params: { id: string } }>(`${path}/:id`, async (request, reply) =>
    sendJson(reply, 200, c.out(await c.get(request.params.id, callerOf(gw, request)))),
  );
  app.post<{ Querystring: Query }>(path, { schema: c.create.schema }, async (request, reply) => {
    const created = c.out(await c.create.run(bodyOf(request), request.query, callerOf(gw, request)));
    return sendCreated(reply, request, String(created[c.idKey] ?? ""), created);
  });
  app.delete<{ Params: { id?: string }; Querystring: Query }>(`${path}/:id?`, async (request, reply) => {
    await c.remove(request, callerOf(gw, request));
    return sendEmpty(reply);
  });
}
