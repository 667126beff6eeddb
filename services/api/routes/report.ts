/**
 * CloudKitty's v1 reports (/v1/report/total, /summary, /tenants) and rated
 * frames (/v1/storage/dataframes), over StorageService Total, Summary and
 * ListDataFrames and ScopeService ListScopes. A tenant is a ratemesh scope
 * (the reserved filter and group-by key "scope_id"), a resource type a
 * point's type. Sums are exact: CloudKitty rounds a summary's rate to five
 * decimals through a float; here it is the exact sum, as a string.
 */
import type { FastifyInstance } from "fastify";
import type { DataFrame, Filter } from "../../../libs/gen/ratemesh/v1/common.js";
import { ListDataFramesRequest, ListScopesRequest, SummaryRequest, TotalRequest } from "../../../libs/gen/ratemesh/v1/storage.js";
import { callerOf, type Gateway } from "../gateway.js";
import { all } from "../paging.js";
import { boolParam, timestamp } from "../query.js";
import { sendJson } from "../reply.js";
import { naiveIso } from "../time.js";
import { mergeFrames } from "./dataframes.js";

type Query = Record<string, string | undefined>;

/** A single-valued v1 parameter (WSME takes the last one given). */
function last(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/**
 * The tenant filter: tenant_id when given, every tenant otherwise. (With
 * Keystone, CloudKitty defaults to the caller's project; the gateway does
 * not validate tokens yet, so it cannot know the caller's project.)
 */
function tenantFilters(q: Query, service: string | undefined): Filter[] {
  const filters: Filter[] = [];
  const allTenants = boolParam(q.all_tenants, "all_tenants", false);
  const tenant = last(q.tenant_id);
  if (!allTenants && tenant !== undefined && tenant !== "") filters.push({ key: "scope_id", values: [tenant] });
  if (service !== undefined && service !== "") filters.push({ key: "type", values: [service] });
  return filters;
}

const SCOPE_PAGE = 10000;
const POINT_PAGE = 10000;

export function registerReports(app: FastifyInstance, gw: Gateway): void {
  const s = gw.services;

  app.get<{ Querystring: Query }>("/v1/report/total", async (request, reply) => {
    const q = request.query;
    const res = await s.storage.total(
      TotalRequest.fromPartial({
        begin: timestamp(last(q.begin), "begin"),
        end: timestamp(last(q.end), "end"),
        filters: tenantFilters(q, last(q.service)),
      }),
      callerOf(gw, request),
    );
    // WSME writes a Decimal as a JSON string.
    return sendJson(reply, 200, res.price);
  });

  app.get<{ Querystring: Query }>("/v1/report/summary", async (request, reply) => {
    const q = request.query;
    const wanted = (last(q.groupby) ?? "").split(",");
    const groupBy: string[] = [];
    if (wanted.includes("tenant_id")) groupBy.push("scope_id");
    if (wanted.includes("res_type")) groupBy.push("type");
    const caller = callerOf(gw, request);
    const base = SummaryRequest.fromPartial({
      begin: timestamp(last(q.begin), "begin"),
      end: timestamp(last(q.end), "end"),
      groupBy,
      filters: tenantFilters(q, last(q.service)),
    });
    const rows = await all(async (pageToken, pageSize) => {
      const res = await s.storage.summary({ ...base, pageToken, pageSize }, caller);
      const columns = res.columns;
      return { items: res.rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r.values[i] ?? ""]))), next: res.nextPageToken };
    }, 10000);
    const summary = rows.map((r) => ({
      begin: naiveIso(new Date(r.begin ?? "")),
      end: naiveIso(new Date(r.end ?? "")),
      tenant_id: r.scope_id || "ALL",
      res_type: r.type || "ALL",
      rate: r.price ?? "0",
    }));
    return sendJson(reply, 200, { summary });
  });

  app.get("/v1/report/tenants", async (request, reply) => {
    // As CloudKitty with v2 storage: every scope with a state, whatever begin and end.
    const scopes = await all(async (pageToken, pageSize) => {
      const res = await s.scopes.listScopes(ListScopesRequest.fromPartial({ pageToken, pageSize }), callerOf(gw, request));
      return { items: res.scopes, next: res.nextPageToken };
    }, SCOPE_PAGE);
    return sendJson(
      reply,
      200,
      scopes.map((sc) => sc.scopeId),
    );
  });

  app.get<{ Querystring: Query }>("/v1/storage/dataframes", async (request, reply) => {
    const q = request.query;
    const filters = tenantFilters({ tenant_id: last(q.tenant_id) }, last(q.resource_type));
    const base = ListDataFramesRequest.fromPartial({
      begin: timestamp(last(q.begin), "begin"),
      end: timestamp(last(q.end), "end"),
      filters,
    });
    const frames = await all(async (pageToken, pageSize) => {
      const res = await s.storage.listDataFrames({ ...base, pageToken, pageSize }, callerOf(gw, request));
      return { items: res.frames, next: res.nextPageToken };
    }, POINT_PAGE);
    return sendJson(reply, 200, { dataframes: mergeFrames(frames).flatMap(v1Frames) });
  });
}

/** CloudKitty's v1 frames: one per (period, resource type), each point a rated resource with desc = metadata and groupby. */
function v1Frames(frame: DataFrame) {
  const byType = new Map<string, DataFrame["points"]>();
  for (const p of frame.points) byType.set(p.type, [...(byType.get(p.type) ?? []), p]);
  return [...byType.keys()].sort().map((type) => ({
    begin: frame.begin === undefined ? null : naiveIso(frame.begin),
    end: frame.end === undefined ? null : naiveIso(frame.end),
    tenant_id: frame.scopeId,
    resources: (byType.get(type) ?? []).map((p) => ({
      service: type,
      desc: { ...p.metadata, ...p.groupby },
      volume: p.qty,
      rating: p.price === "" ? "0" : p.price,
    })),
  }));
}
