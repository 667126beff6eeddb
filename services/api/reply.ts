/** Writing answers: JSON with exact decimals, and CloudKitty's "see there" redirects. */
import type { FastifyReply, FastifyRequest } from "fastify";
import { stringifyExact } from "./json.js";

export function sendJson(reply: FastifyReply, statusCode: number, value: unknown): FastifyReply {
  return reply.code(statusCode).type("application/json").send(stringifyExact(value));
}

/** 204: no body. */
export function sendEmpty(reply: FastifyReply): FastifyReply {
  return reply.code(204).send();
}

/** The absolute URL of this request's path, as pecan writes Location headers. */
export function selfUrl(request: FastifyRequest, path = request.url.split("?")[0] ?? "/"): string {
  const host = request.headers.host ?? "localhost";
  return `${request.protocol}://${host}${path}`;
}

/**
 * WSME's answer to an update: 302 to the resource, body null (the client
 * follows it with a GET and shows the result).
 */
export function sendSeeResource(reply: FastifyReply, request: FastifyRequest, path?: string): FastifyReply {
  return reply.header("location", selfUrl(request, path)).code(302).type("application/json").send("null");
}

/** WSME's answer to a create: 201 with a Location header naming the new resource. */
export function sendCreated(reply: FastifyReply, request: FastifyRequest, id: string, value: unknown): FastifyReply {
  const base = selfUrl(request);
  reply.header("location", `${base.endsWith("/") ? base : `${base}/`}${id}`);
  return sendJson(reply, 201, value);
}
