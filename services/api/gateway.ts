/**
 * What every route of the gateway is given: the gRPC clients of the
 * services, who the caller is, and the period length (to show scope states
 * and reprocessing windows the way CloudKitty counts them).
 */
import type { FastifyRequest } from "fastify";
import { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import { HashmapServiceService, RatingServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { ReprocessServiceService, ScopeServiceService, StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import type { Clock } from "../../libs/time/period.js";
import type { Caller, Upstream, UpstreamConnection } from "./upstream.js";

export interface Services {
  storage: Upstream<typeof StorageServiceService>;
  scopes: Upstream<typeof ScopeServiceService>;
  reprocess: Upstream<typeof ReprocessServiceService>;
  rating: Upstream<typeof RatingServiceService>;
  hashmap: Upstream<typeof HashmapServiceService>;
  collector: Upstream<typeof CollectorServiceService>;
}

export function servicesOver(storage: UpstreamConnection, rating: UpstreamConnection, collector: UpstreamConnection): Services {
  return {
    storage: storage.client(StorageServiceService),
    scopes: storage.client(ScopeServiceService),
    reprocess: storage.client(ReprocessServiceService),
    rating: rating.client(RatingServiceService),
    hashmap: rating.client(HashmapServiceService),
    collector: collector.client(CollectorServiceService),
  };
}

export type AuthStrategy = "noauth" | "keystone" | "jwt";

export interface Gateway {
  services: Services;
  periodSeconds: number;
  /** [collect] scope_key: the groupby key that names a pushed point's scope (POST /v2/dataframes); unset: project_id. */
  scopeKey?: string;
  clock: Clock;
  authStrategy: AuthStrategy;
  /** Told to a caller refused for want of a token (WWW-Authenticate), under keystone. */
  wwwAuthenticate?: string;
}

/** The request's token: X-Auth-Token, else Authorization: Bearer. */
export function tokenOf(request: FastifyRequest): string | undefined {
  const direct = request.headers["x-auth-token"];
  const token = Array.isArray(direct) ? direct[0] : direct;
  if (token !== undefined && token !== "") return token;
  const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "");
  return m?.[1];
}

/** The caller of a request: under a token strategy, its token travels on to the services, which decide. */
export function callerOf(gateway: Gateway, request: FastifyRequest): Caller {
  if (gateway.authStrategy === "noauth") return {};
  return { token: tokenOf(request) };
}
