/**
 * GET /v2/dataframes: stored points in CloudKitty's DataFrame form, over
 * StorageService Total (the point count) and ListDataFrames; offset and
 * limit count points, as CloudKitty's do. POST is dataframes-add.ts.
 */
import type { FastifyInstance } from "fastify";
import type { DataFrame, DataPoint, Filter } from "../../../libs/gen/ratemesh/v1/common.js";
import { ListDataFramesRequest, TotalRequest } from "../../../libs/gen/ratemesh/v1/storage.js";
import { notFound } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { RawNumber } from "../json.js";
import { keyValues, type PagedQuery, pagedQuerySchema, single, timestamp } from "../query.js";
import { sendJson } from "../reply.js";
import { awareIso } from "../time.js";

const POINT_PAGE = 10000;

/** Frames of one (scope, period) split over pages become one again. */
export function mergeFrames(frames: DataFrame[]): DataFrame[] {
  const out: DataFrame[] = [];
  for (const f of frames) {
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.scopeId === f.scopeId && prev.begin?.getTime() === f.begin?.getTime()) {
      prev.points.push(...f.points);
    } else {
      out.push({ ...f, points: [...f.points] });
    }
  }
  return out;
}

function pointOut(p: DataPoint) {
  return {
    vol: { unit: p.unit, qty: new RawNumber(p.qty) },
    rating: { price: new RawNumber(p.price === "" ? "0" : p.price) },
    groupby: p.groupby,
    metadata: p.metadata,
  };
}

/** CloudKitty's DataFrame.as_dict(): the period, and the points by type (types sorted). */
function frameOut(f: DataFrame) {
  const usage: Record<string, ReturnType<typeof pointOut>[]> = {};
  for (const type of [...new Set(f.points.map((p) => p.type))].sort()) {
    usage[type] = f.points.filter((p) => p.type === type).map(pointOut);
  }
  return {
    period: { begin: f.begin === undefined ? null : awareIso(f.begin), end: f.end === undefined ? null : awareIso(f.end) },
    usage,
  };
}

/** The points of frames [offset, offset + limit), frames kept around them. */
function pointWindow(frames: DataFrame[], offset: number, limit: number): DataFrame[] {
  const out: DataFrame[] = [];
  let index = 0;
  for (const f of frames) {
    const points = f.points.filter(() => {
      const keep = index >= offset && index < offset + limit;
      index++;
      return keep;
    });
    if (points.length > 0) out.push({ ...f, points });
  }
  return out;
}

interface DataframesQuery extends PagedQuery {
  begin?: string[];
  end?: string[];
  filters?: string[];
}

export function registerDataframes(app: FastifyInstance, gw: Gateway): void {
  app.get<{ Querystring: DataframesQuery }>(
    "/v2/dataframes",
    { schema: pagedQuerySchema("begin", "end", "filters") },
    async (request, reply) => {
      const q = request.query;
      const filters: Filter[] = [...keyValues(q.filters, "filters", true)].map(([key, values]) => ({ key, values }));
      const begin = timestamp(single(q.begin, "begin"), "begin");
      const end = timestamp(single(q.end, "end"), "end");
      const caller = callerOf(gw, request);
      const total = Number((await gw.services.storage.total(TotalRequest.fromPartial({ begin, end, filters }), caller)).points);
      if (total < 1) throw notFound("No resource found for provided filters.");
      // Points are read from the start up to offset + limit, then the window is kept.
      const base = ListDataFramesRequest.fromPartial({ begin, end, filters });
      const want = q.offset + q.limit;
      const frames: DataFrame[] = [];
      let read = 0;
      let pageToken = "";
      do {
        const pageSize = Math.min(POINT_PAGE, want - read);
        const res = await gw.services.storage.listDataFrames({ ...base, pageToken, pageSize }, caller);
        frames.push(...res.frames);
        read += res.frames.reduce((n, f) => n + f.points.length, 0);
        pageToken = res.nextPageToken;
      } while (pageToken !== "" && read < want);
      const kept = pointWindow(mergeFrames(frames), q.offset, q.limit);
      return sendJson(reply, 200, { total, dataframes: kept.map(frameOut) });
    },
  );
}
