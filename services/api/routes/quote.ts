/**
 * POST /v1/rating/quote: the price of resource descriptions with the rules
 * valid now, global rules only (as CloudKitty: no project), through
 * RatingService Quote. The answer is a bare JSON number, with the exact
 * digits of the sum.
 */
import type { FastifyInstance } from "fastify";
import { QuoteRequest } from "../../../libs/gen/ratemesh/v1/rating.js";
import { badRequest } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { RawNumber } from "../json.js";
import { sendJson } from "../reply.js";

interface Resource {
  service?: string;
  desc?: Record<string, unknown>;
  volume?: string | number;
}

/** A desc value as CloudKitty's Python code would compare it: str(value). */
function attribute(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return String(v);
  return undefined;
}

function attributes(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) {
    const s = attribute(x);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/**
 * The point a resource description stands for. CloudKitty takes the nested
 * desc.groupby and desc.metadata dicts and ignores flat keys, so a flat
 * desc (what Horizon sends) never matches a hashmap field; here flat keys
 * count as metadata, and the nested dicts keep their meaning.
 */
function pointOf(r: Resource, i: number) {
  if (typeof r.service !== "string" || r.service === "") {
    throw badRequest(`Invalid input for field/attribute resources[${i}].service. Mandatory field missing.`);
  }
  const desc = r.desc ?? {};
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(desc)) {
    if (k === "groupby" || k === "metadata") continue;
    const s = attribute(v);
    if (s !== undefined) flat[k] = s;
  }
  return {
    type: r.service,
    unit: "undef",
    qty: r.volume === undefined ? "0" : String(r.volume),
    price: "0",
    groupby: attributes(desc.groupby),
    metadata: { ...flat, ...attributes(desc.metadata) },
  };
}

export function registerQuote(app: FastifyInstance, gw: Gateway): void {
  app.post<{ Body: { resources?: Resource[] } }>(
    "/v1/rating/quote",
    {
      schema: {
        body: {
          type: "object",
          properties: {
            resources: {
              type: "array",
              items: {
                type: "object",
                properties: { service: { type: "string" }, desc: { type: "object" }, volume: { type: ["string", "number"] } },
              },
            },
          },
          required: ["resources"],
        },
      },
    },
    async (request, reply) => {
      const points = (request.body.resources ?? []).map(pointOf);
      if (points.length === 0) return sendJson(reply, 200, new RawNumber("0"));
      const res = await gw.services.rating.quote(QuoteRequest.fromPartial({ points }), callerOf(gw, request));
      return sendJson(reply, 200, new RawNumber(res.total));
    },
  );
}
