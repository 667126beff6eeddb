/** ScopeService: the scopes storage knows, their state, resets and errors. */
import { NotFoundError } from "../../../libs/errors/errors.js";
import type { Scope, ScopeServiceService } from "../../../libs/gen/ratemesh/v1/storage.js";
import type { Handlers } from "../../../libs/grpc/server.js";
import {
  decodePageToken,
  optionalDate,
  pageSize,
  parseInt64,
  requireAligned,
  requireDate,
  requireText,
} from "../../../libs/validation/fields.js";
import type { ScopeRecord } from "../domain.js";
import { pageOf, type StorageApiDeps, selection } from "./requests.js";

function toScopeMessage(s: ScopeRecord): Scope {
  const reseed = s.lastFencingReseed;
  const { unpricedPoints, unpricedPeriods, lastUnpricedPeriod, ...rest } = s;
  return {
    ...rest,
    lastError: s.lastError ?? "",
    fencingToken: s.fencingToken.toString(),
    fencingEpoch: s.fencingEpoch.toString(),
    lastFencingReseed:
      reseed === undefined
        ? undefined
        : {
            at: reseed.at,
            reason: reseed.reason,
            previousEpoch: reseed.previous.epoch.toString(),
            previousToken: reseed.previous.token.toString(),
          },
    unpriced: unpricedPoints > 0,
    unpricedPoints: String(unpricedPoints),
    unpricedPeriods: String(unpricedPeriods),
    lastUnpricedPeriod,
  };
}

export function scopeHandlers(deps: StorageApiDeps): Partial<Handlers<typeof ScopeServiceService>> {
  const { engine, clock, periodSeconds } = deps;
  const startOf = (value: Date | undefined): Date | undefined => {
    const start = optionalDate(value, "start");
    return start === undefined ? undefined : requireAligned(start, periodSeconds, "start");
  };
  return {
    async listScopes(req) {
      const limit = pageSize(req.pageSize, "page_size", 100, 10000);
      const after = decodePageToken(
        req.pageToken,
        "page_token",
        (v): v is { a: string } => typeof (v as { a?: unknown }).a === "string",
      )?.a;
      const scopes = await engine.listScopes({
        scopeIds: req.scopeIds,
        active: req.active,
        scopeKey: req.scopeKey,
        fetcher: req.fetcher,
        collector: req.collector,
        limit: limit + 1,
        after,
      });
      const { page, nextPageToken } = pageOf(scopes, limit, (last) => ({ a: last.scopeId }));
      return { scopes: page.map(toScopeMessage), nextPageToken };
    },

    async getScope(req) {
      const id = requireText(req.scopeId, "scope_id");
      const scope = await engine.getScope(id);
      if (scope === undefined) throw new NotFoundError("scope", id);
      return { scope: toScopeMessage(scope) };
    },

    async createScope(req) {
      const scopeId = requireText(req.scopeId, "scope_id");
      const state = optionalDate(req.state, "state");
      if (state !== undefined) requireAligned(state, periodSeconds, "state");
      const scope = await engine.createScope(
        { scopeId, active: req.active ?? true, state, scopeKey: req.scopeKey, fetcher: req.fetcher, collector: req.collector },
        clock.now(),
      );
      return { scope: toScopeMessage(scope) };
    },

    async updateScope(req) {
      const scope = await engine.updateScope(
        {
          scopeId: requireText(req.scopeId, "scope_id"),
          active: req.active,
          scopeKey: req.scopeKey,
          fetcher: req.fetcher,
          collector: req.collector,
          start: startOf(req.start),
        },
        clock.now(),
      );
      return { scope: toScopeMessage(scope) };
    },

    async resetScope(req, ctx) {
      const scopes = selection(req.scopeIds, req.allScopes);
      const state = requireAligned(requireDate(req.state, "state"), periodSeconds, "state");
      const reset = await engine.resetScopes({ scopes, state, actor: ctx.caller.display, reason: req.reason ?? "" }, clock.now());
      return { scopes: reset.map(toScopeMessage) };
    },

    async recordScopeError(req) {
      await engine.recordScopeError({
        scopeId: requireText(req.scopeId, "scope_id"),
        message: requireText(req.message, "message"),
        periodBegin: optionalDate(req.periodBegin, "period_begin"),
        fencingToken: parseInt64(req.fencingToken, "fencing_token"),
        fencingEpoch: parseInt64(req.fencingEpoch, "fencing_epoch"),
        at: clock.now(),
      });
      return {};
    },

    async reseedFencing(req) {
      const scopes = selection(req.scopeIds, req.allScopes);
      const reason = requireText(req.reason, "reason");
      const epoch = parseInt64(req.fencingEpoch, "fencing_epoch");
      const reseeded = await engine.reseedFencing({ scopes, reason, epoch }, clock.now());
      for (const s of reseeded) {
        // The audit trail of the operator's path (the scope keeps the last one).
        deps.logger.warn(
          {
            scope_id: s.scopeId,
            reason,
            previous_epoch: s.lastFencingReseed?.previous.epoch.toString(),
            previous_token: s.lastFencingReseed?.previous.token.toString(),
            fencing_epoch: epoch.toString(),
          },
          "fencing record re-seeded",
        );
      }
      return { scopes: reseeded.map(toScopeMessage) };
    },
  };
}
