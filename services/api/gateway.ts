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

export type AuthStrategy = "noauth" | "keystone";

export interface Gateway {
  services: Services;
  periodSeconds: number;
  clock: Clock;
  authStrategy: AuthStrategy;
}

/** The caller of a request: with keystone, its token travels on to the services. */
export function callerOf(gateway: Gateway, request: FastifyRequest): Caller {
  if (gateway.authStrategy !== "keystone") return {};
  const token = request.headers["x-auth-token"];
  return { token: Array.isArray(token) ? token[0] : token };
}
