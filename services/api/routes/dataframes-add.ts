/**
 * POST /v2/dataframes: CloudKitty's push of rated data frames into storage
 * (python-cloudkittyclient `dataframes add`), over StorageService
 * AddDataFrames, answered 204 as CloudKitty does. A CloudKitty frame is a
 * period and its points by type, of any scopes; a point's scope is its
 * groupby's [collect] scope_key (project_id, which the collector puts in
 * every point's groupby), so each frame goes to storage as one frame per
 * scope. Storage validates periods and values; its errors name the fields
 * of its own request, which the gateway names back as the body's
 * (`dataframes[0].usage.cpu[1].vol.qty`).
 *
 * Each request carries an idempotency key: the caller's Idempotency-Key
 * header, else a new one, so the gateway's own retries of the gRPC call
 * never add the points twice.
 */
import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import type { FastifyInstance } from "fastify";
import type { DataFrame, DataPoint } from "../../../libs/gen/ratemesh/v1/common.js";
import { RemoteCallError } from "../../../libs/grpc/status.js";
import { badRequest } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { sendEmpty } from "../reply.js";
import { parseIsoTime } from "../time.js";

/** The body's frames as storage frames, with where each storage frame and point came from in the body. */
interface Split {
  frames: DataFrame[];
  /** Per storage frame: the body's frame (`dataframes[i]`) and each point's path. */
  origins: Array<{ frame: string; points: string[] }>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** CloudKitty's (voluptuous) wording: what is wrong, and where in the body. */
function invalid(path: string, problem: string) {
  return badRequest(`Invalid data: ${problem} (path: '${path}')`);
}

function dictionary(v: unknown, path: string): Record<string, unknown> {
  if (v === undefined) throw invalid(path, "required key not provided");
  if (!isObject(v)) throw invalid(path, "expected a dictionary");
  return v;
}

/** groupby and metadata: strings (numbers come as their digits, json.ts). */
function attributes(v: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(dictionary(v, path))) {
    if (typeof x !== "string") throw invalid(`${path}.${k}`, "expected str");
    out[k] = x;
  }
  return out;
}

function text(v: unknown, path: string, fallback?: string): string {
  if (v === undefined && fallback !== undefined) return fallback;
  if (v === undefined) throw invalid(path, "required key not provided");
  if (typeof v !== "string") throw invalid(path, "expected str");
  return v;
}

function time(v: unknown, path: string): Date {
  const t = parseIsoTime(text(v, path));
  if (t === undefined) throw invalid(path, `${JSON.stringify(v)} is not an ISO 8601 timestamp`);
  return t;
}

/** CloudKitty's DataPoint: vol {unit, qty}, rating {price, default 0}, groupby, metadata. */
function pointOf(raw: unknown, path: string, type: string): DataPoint {
  const p = dictionary(raw, path);
  const vol = dictionary(p.vol, `${path}.vol`);
  const rating = p.rating === undefined ? {} : dictionary(p.rating, `${path}.rating`);
  return {
    type,
    // CloudKitty stores an empty unit as "undefined".
    unit: text(vol.unit, `${path}.vol.unit`) || "undefined",
    qty: text(vol.qty, `${path}.vol.qty`),
    price: text(rating.price, `${path}.rating.price`, "0"),
    groupby: attributes(p.groupby, `${path}.groupby`),
    metadata: attributes(p.metadata, `${path}.metadata`),
  };
}

/** The body's frames, one storage frame per (body frame, scope), points in the body's order (types sorted, as CloudKitty). */
export function splitByScope(dataframes: unknown[], scopeKey: string): Split {
  const split: Split = { frames: [], origins: [] };
  dataframes.forEach((raw, i) => {
    const at = `dataframes[${i}]`;
    const frame = dictionary(raw, at);
    const period = dictionary(frame.period, `${at}.period`);
    const begin = time(period.begin, `${at}.period.begin`);
    const end = time(period.end, `${at}.period.end`);
    const usage = dictionary(frame.usage, `${at}.usage`);
    const byScope = new Map<string, number>();
    for (const type of Object.keys(usage).sort()) {
      const points = usage[type];
      if (!Array.isArray(points)) throw invalid(`${at}.usage.${type}`, "expected a list");
      points.forEach((rawPoint, j) => {
        const path = `${at}.usage.${type}[${j}]`;
        const point = pointOf(rawPoint, path, type);
        const scopeId = point.groupby[scopeKey];
        if (scopeId === undefined || scopeId === "") {
          throw invalid(`${path}.groupby`, `no ${scopeKey}: it names the point's scope ([collect] scope_key)`);
        }
        let k = byScope.get(scopeId);
        if (k === undefined) {
          k = split.frames.length;
          byScope.set(scopeId, k);
          split.frames.push({ scopeId, begin, end, points: [] });
          split.origins.push({ frame: at, points: [] });
        }
        split.frames[k]?.points.push(point);
        split.origins[k]?.points.push(path);
      });
    }
  });
  return split;
}

/** Storage's field names, in the body's terms. */
const BODY_FIELDS: Record<string, string> = {
  begin: ".period.begin",
  end: ".period.end",
  qty: ".vol.qty",
  unit: ".vol.unit",
  price: ".rating.price",
  type: "",
  groupby: ".groupby",
  metadata: ".metadata",
};
const STORAGE_FIELD = /^frames\[(\d+)\](?:\.points\[(\d+)\])?(?:\.(\w+))?: /;

/** A storage refusal ("frames[1].points[0].qty: ...") naming the body's field instead. */
export function inBodyTerms(details: string, split: Split): string {
  const m = STORAGE_FIELD.exec(details);
  const origin = m === null ? undefined : split.origins[Number(m[1])];
  if (m === null || origin === undefined) return details;
  const base = m[2] === undefined ? origin.frame : (origin.points[Number(m[2])] ?? origin.frame);
  const field = m[3] === undefined ? "" : (BODY_FIELDS[m[3]] ?? `.${m[3]}`);
  return `${base}${field}: ${details.slice(m[0].length)}`;
}

export function registerDataframesAdd(app: FastifyInstance, gw: Gateway): void {
  app.post("/v2/dataframes", async (request, reply) => {
    const body = request.body as { dataframes?: unknown } | undefined;
    if (body === undefined || body === null || typeof body !== "object" || !("dataframes" in body)) {
      throw badRequest("Invalid data: required key not provided (path: '['dataframes']')");
    }
    if (!Array.isArray(body.dataframes)) throw badRequest("Invalid data: expected a list (path: '['dataframes']')");
    if (body.dataframes.length === 0) throw badRequest("Parameter dataframes must not be empty.");
    const split = splitByScope(body.dataframes, gw.scopeKey ?? "project_id");
    // Frames without points push nothing, as in CloudKitty.
    if (split.frames.length === 0) return sendEmpty(reply);
    const header = request.headers["idempotency-key"];
    const key = (Array.isArray(header) ? header[0] : header) || `api-${randomUUID()}`;
    const req = { frames: split.frames, idempotencyKey: key, scopeKey: gw.scopeKey ?? "project_id", fetcher: "", collector: "" };
    try {
      await gw.services.storage.addDataFrames(req, callerOf(gw, request));
    } catch (err) {
      if (err instanceof RemoteCallError && err.code === status.INVALID_ARGUMENT) throw badRequest(inBodyTerms(err.details, split));
      throw err;
    }
    return sendEmpty(reply);
  });
}
