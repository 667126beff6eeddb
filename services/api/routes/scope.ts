/**
 * /v2/scope: scope states (GET), reset (PUT), update (PATCH) and create
 * (POST), over storage's ScopeService.
 *
 * CloudKitty's last_processed_timestamp (and the older `state` key, which
 * python-cloudkittyclient 4.x still reads and sends) is the BEGIN of the
 * last rated period; ratemesh's state is its END. The gateway shows
 * state − period, and turns a timestamp it is given into timestamp + period:
 * resetting to T means "T was the last rated period", so rating goes on
 * from T + period, as in CloudKitty. CloudKitty's reset also deletes the
 * data from T on, losing the period at T, which it never rates again;
 * ratemesh keeps that period, and re-rating replaces the periods after it.
 */
import type { FastifyInstance } from "fastify";
import {
  CreateScopeRequest,
  ListScopesRequest,
  ResetScopeRequest,
  type Scope,
  UpdateScopeRequest,
} from "../../../libs/gen/ratemesh/v1/storage.js";
import { badRequest, notFound } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { all, window } from "../paging.js";
import { boolParam, multi, type PagedQuery, pagedQuerySchema, stringList, timestamp } from "../query.js";
import { sendJson } from "../reply.js";
import { lastProcessedToState, naiveIso, stateToLastProcessed } from "../time.js";
import type { Caller } from "../upstream.js";

const SCOPE_PAGE = 10000;
const NOTHING = "No resource found for provided filters.";

function scopeOut(s: Scope, periodSeconds: number) {
  const last = s.state === undefined ? null : naiveIso(stateToLastProcessed(s.state, periodSeconds));
  return {
    scope_id: s.scopeId,
    scope_key: s.scopeKey,
    fetcher: s.fetcher,
    collector: s.collector,
    state: last,
    last_processed_timestamp: last,
    active: s.active,
    scope_activation_toggle_date: s.activeToggledAt === undefined ? null : naiveIso(s.activeToggledAt),
  };
}

interface Selection {
  scopeIds: string[];
  scopeKeys: string[];
  fetchers: string[];
  collectors: string[];
  active?: boolean | undefined;
}

/** A value given in a body or a query: a list, a comma-separated string, or one value. */
function listOf(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return multi(value.map(String));
  return multi([String(value)]);
}

/**
 * The scopes a selection names. ListScopes filters on one scope_key,
 * fetcher and collector; several values of one of them are matched here,
 * over every scope listed.
 */
async function selectScopes(gw: Gateway, caller: Caller, sel: Selection, offset: number, limit: number): Promise<Scope[]> {
  const one = (values: string[]) => (values.length === 1 ? (values[0] as string) : "");
  const base = ListScopesRequest.fromPartial({
    scopeIds: sel.scopeIds,
    active: sel.active,
    scopeKey: one(sel.scopeKeys),
    fetcher: one(sel.fetchers),
    collector: one(sel.collectors),
  });
  const fetch = async (pageToken: string, pageSize: number) => {
    const res = await gw.services.scopes.listScopes({ ...base, pageToken, pageSize }, caller);
    return { items: res.scopes, next: res.nextPageToken };
  };
  const several = (values: string[]) => values.length > 1;
  if (!several(sel.scopeKeys) && !several(sel.fetchers) && !several(sel.collectors)) return window(fetch, offset, limit, SCOPE_PAGE);
  const matches = (values: string[], v: string) => values.length === 0 || values.includes(v);
  const scopes = (await all(fetch, SCOPE_PAGE)).filter(
    (s) => matches(sel.scopeKeys, s.scopeKey) && matches(sel.fetchers, s.fetcher) && matches(sel.collectors, s.collector),
  );
  return scopes.slice(offset, offset + limit);
}

interface ScopeQuery extends PagedQuery {
  scope_id?: string[];
  scope_key?: string[];
  fetcher?: string[];
  collector?: string[];
  active?: string[];
}

type Body = Record<string, unknown>;

function bodyOf(body: unknown): Body {
  return body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Body) : {};
}

/** A single text value of a body (CloudKitty's SingleQueryParam(str)). */
function oneText(body: Body, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    if (v.length !== 1) throw badRequest(`Invalid data: length of value must be 1 (path: '['${key}']')`);
    return String(v[0]);
  }
  return String(v);
}

/** Bodies, as CloudKitty's voluptuous schemas declare them (a list of one is taken for its value). */
const text = { type: "string" } as const;
const RESET = {
  body: {
    type: "object",
    properties: {
      all_scopes: { type: "boolean" },
      scope_id: stringList,
      scope_key: stringList,
      fetcher: stringList,
      collector: stringList,
      last_processed_timestamp: text,
      state: text,
    },
  },
} as const;
const PATCH = {
  body: {
    type: "object",
    required: ["scope_id"],
    properties: {
      scope_id: { type: "string", minLength: 1 },
      scope_key: text,
      fetcher: text,
      collector: text,
      active: { type: "boolean" },
    },
  },
} as const;
const CREATE = {
  body: {
    type: "object",
    required: ["scope_id"],
    properties: { ...PATCH.body.properties, last_processed_timestamp: text, state: text },
  },
} as const;

export function registerScope(app: FastifyInstance, gw: Gateway): void {
  const period = gw.periodSeconds;

  app.get<{ Querystring: ScopeQuery }>(
    "/v2/scope",
    { schema: pagedQuerySchema("scope_id", "scope_key", "fetcher", "collector", "active") },
    async (request, reply) => {
      const q = request.query;
      const active = new Set(multi(q.active).map((v) => boolParam(v, "active", true)));
      const scopes = await selectScopes(
        gw,
        callerOf(gw, request),
        {
          scopeIds: multi(q.scope_id),
          scopeKeys: multi(q.scope_key),
          fetchers: multi(q.fetcher),
          collectors: multi(q.collector),
          // Both values, or none: every scope, active or not.
          active: active.size === 1 ? [...active][0] : undefined,
        },
        q.offset,
        q.limit,
      );
      if (scopes.length === 0) throw notFound(NOTHING);
      return sendJson(reply, 200, { results: scopes.map((s) => scopeOut(s, period)) });
    },
  );

  app.put("/v2/scope", { schema: RESET }, async (request, reply) => {
    const body = bodyOf(request.body);
    const allScopes = boolParam(body.all_scopes, "all_scopes", false);
    const scopeIds = listOf(body.scope_id);
    if (allScopes && scopeIds.length > 0) {
      throw badRequest("Invalid data: two or more values in the same group of exclusion 'scope_selector' (path: '[<scope_selector>]')");
    }
    if (!allScopes && scopeIds.length === 0) throw badRequest("Either all_scopes or a scope_id should be specified.");
    const given = timestamp(
      body.last_processed_timestamp ?? body.state,
      body.last_processed_timestamp === undefined ? "state" : "last_processed_timestamp",
    );
    if (given === undefined) {
      throw badRequest("Variables 'state' and 'last_processed_timestamp' cannot be empty/None. We expect at least one of them.");
    }
    const caller = callerOf(gw, request);
    const sel: Selection = {
      scopeIds,
      scopeKeys: listOf(body.scope_key),
      fetchers: listOf(body.fetcher),
      collectors: listOf(body.collector),
    };
    const state = lastProcessedToState(given, period);
    const filtered = sel.scopeKeys.length + sel.fetchers.length + sel.collectors.length > 0;
    if (allScopes && !filtered) {
      // Every scope that can move back to the state (those never rated, or behind it, are left as they are).
      const res = await gw.services.scopes.resetScope(ResetScopeRequest.fromPartial({ allScopes: true, state }), caller);
      if (res.scopes.length === 0) {
        const any = await gw.services.scopes.listScopes(ListScopesRequest.fromPartial({ pageSize: 1 }), caller);
        if (any.scopes.length === 0) throw notFound(NOTHING);
        throw badRequest(`No scope was reset to ${naiveIso(given)}: a reset moves a state back, and no scope is rated past it.`);
      }
      return sendJson(reply, 202, {});
    }
    const scopes = await selectScopes(gw, caller, sel, 0, Number.POSITIVE_INFINITY);
    if (scopes.length === 0) throw notFound(NOTHING);
    await gw.services.scopes.resetScope(ResetScopeRequest.fromPartial({ scopeIds: scopes.map((s) => s.scopeId), state }), caller);
    return sendJson(reply, 202, {});
  });

  app.patch("/v2/scope", { schema: PATCH }, async (request, reply) => {
    const body = bodyOf(request.body);
    const scopeId = oneText(body, "scope_id");
    if (scopeId === undefined || scopeId === "") throw badRequest("Invalid data: required key not provided (path: '['scope_id']')");
    const req = UpdateScopeRequest.fromPartial({
      scopeId,
      scopeKey: oneText(body, "scope_key"),
      fetcher: oneText(body, "fetcher"),
      collector: oneText(body, "collector"),
      active: body.active === undefined || body.active === null ? undefined : boolParam(body.active, "active", true),
    });
    const res = await gw.services.scopes.updateScope(req, callerOf(gw, request));
    if (res.scope === undefined) throw notFound(NOTHING);
    return sendJson(reply, 200, scopeOut(res.scope, period));
  });

  app.post("/v2/scope", { schema: CREATE }, async (request, reply) => {
    const body = bodyOf(request.body);
    const scopeId = oneText(body, "scope_id");
    if (scopeId === undefined || scopeId === "") throw badRequest("Invalid data: required key not provided (path: '['scope_id']')");
    const given = timestamp(body.last_processed_timestamp ?? body.state, "last_processed_timestamp");
    if (given === undefined) throw badRequest("Invalid data: required key not provided (path: '['last_processed_timestamp']')");
    const req = CreateScopeRequest.fromPartial({
      scopeId,
      state: lastProcessedToState(given, period),
      scopeKey: oneText(body, "scope_key") ?? "",
      fetcher: oneText(body, "fetcher") ?? "",
      collector: oneText(body, "collector") ?? "",
      active: body.active === undefined || body.active === null ? undefined : boolParam(body.active, "active", true),
    });
    const res = await gw.services.scopes.createScope(req, callerOf(gw, request));
    if (res.scope === undefined) throw notFound(NOTHING);
    return sendJson(reply, 200, scopeOut(res.scope, period));
  });
}
