/**
 * The policy matrix: every method of every service, called by each kind of
 * caller, with what each must get. The expectations are written here, not
 * read from the services' policy tables, so that a default that changes,
 * or a method added without a policy, fails the test.
 *
 * A probe is a request that cannot change anything even when allowed (an
 * unknown id, a missing field): "allowed" is any answer but
 * UNAUTHENTICATED and PERMISSION_DENIED, which the guard gives before any
 * handler runs.
 */
import { status } from "@grpc/grpc-js";
import { AuditServiceService } from "../../libs/gen/ratemesh/v1/audit.js";
import { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import { PriceListServiceService } from "../../libs/gen/ratemesh/v1/pricelist.js";
import { HashmapServiceService, RatingServiceService, RulesServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { SimulationServiceService } from "../../libs/gen/ratemesh/v1/simulation.js";
import { ReprocessServiceService, ScopeServiceService, StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import type { Connection } from "../../libs/grpc/client.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import { type ServiceDef, shortMethod } from "../../libs/grpc/types.js";

export const CALLERS = ["anonymous", "readerA", "memberA", "admin", "service", "tokenB"] as const;
export type CallerName = (typeof CALLERS)[number];

/** Where each service is, by the role that serves it. */
export type Role = "storage" | "rating" | "collector";

export const SERVICES: Array<{ role: Role; def: ServiceDef }> = [
  { role: "storage", def: StorageServiceService },
  { role: "storage", def: ScopeServiceService },
  { role: "storage", def: ReprocessServiceService },
  { role: "storage", def: AuditServiceService },
  { role: "rating", def: RatingServiceService },
  { role: "rating", def: HashmapServiceService },
  { role: "rating", def: RulesServiceService },
  { role: "rating", def: PriceListServiceService },
  { role: "rating", def: AuditServiceService },
  { role: "rating", def: SimulationServiceService },
  { role: "collector", def: CollectorServiceService },
];

const SERVICE_ONLY = new Set(["StorageService/CommitPeriod", "ScopeService/RecordScopeError", "RatingService/Rate"]);
const READERS_CONFINED = new Set([
  "StorageService/ListDataFrames",
  "StorageService/StreamDataFrames",
  "StorageService/StreamPointColumns",
  "StorageService/Summary",
  "StorageService/Total",
  "StorageService/ListAdjustments",
  "ScopeService/ListScopes",
  "ScopeService/GetScope",
]);
/** Readers of their own project (confined), not the service identity: the caller's token is what reads storage. */
const READERS_NOT_SERVICE = new Set(["SimulationService/Simulate"]);
/** Any authenticated caller; Quote and Explain are probed as project A, which project B may not price as. */
const ANY = new Set(["RatingService/Quote", "RatingService/Explain", "CollectorService/ListMetrics"]);
const ADMIN_OR_SERVICE = new Set(["ReprocessService/ListTasks", "ScopeService/CreateScope", "ScopeService/UpdateScope"]);

export type Expected = "allowed" | "UNAUTHENTICATED" | "PERMISSION_DENIED";

export function expected(method: string, caller: CallerName): Expected {
  if (caller === "anonymous") return "UNAUTHENTICATED";
  let ok: boolean;
  if (SERVICE_ONLY.has(method)) ok = caller === "service";
  else if (READERS_CONFINED.has(method)) ok = true;
  else if (READERS_NOT_SERVICE.has(method)) ok = caller !== "service";
  else if (ANY.has(method)) ok = !(caller === "tokenB" && (method === "RatingService/Quote" || method === "RatingService/Explain"));
  else if (ADMIN_OR_SERVICE.has(method)) ok = caller === "admin" || caller === "service";
  else ok = caller === "admin";
  return ok ? "allowed" : "PERMISSION_DENIED";
}

/** The fields a probe sets; the rest are the message's defaults. */
export function probeFields(method: string, projectA: string): Record<string, unknown> {
  const name = method.slice(method.indexOf("/") + 1);
  const unknownId = "matrix-no-such-id";
  switch (method) {
    case "ScopeService/GetScope":
      return { scopeId: projectA };
    case "ScopeService/UpdateScope":
    case "ScopeService/RecordScopeError":
      return { scopeId: unknownId, message: "probe", fencingToken: "0" };
    case "StorageService/Summary":
      return { groupBy: ["scope_id"] };
    case "RatingService/Quote":
    case "RatingService/Explain":
      return { scopeId: projectA };
    case "RatingService/UpdateModule":
      return { name: unknownId };
    default:
      break;
  }
  // Gets, updates and deletes of an unknown id are NOT_FOUND; creates with an empty name are INVALID_ARGUMENT.
  if (/^(Get|Update|Delete)/.test(name)) {
    const idField = `${name.replace(/^(Get|Update|Delete)/, "").replace(/^./, (c) => c.toLowerCase())}Id`;
    return { [idField]: unknownId };
  }
  return {};
}

/** Calls a method and says how it ended: "OK" or the status code's name. */
export async function outcome(conn: Connection, def: ServiceDef, key: string, request: unknown): Promise<string> {
  const method = def[key] as ServiceDef[string];
  const client = conn.client(def) as Record<string, (req: unknown) => unknown>;
  try {
    const call = client[key] as (req: unknown) => unknown;
    if (method.responseStream) {
      for await (const _ of call(request) as AsyncIterable<unknown>) {
        // drained
      }
    } else {
      await call(request);
    }
    return "OK";
  } catch (err) {
    if (err instanceof RemoteCallError) return status[err.code] ?? String(err.code);
    throw err;
  }
}

export interface MatrixRow {
  method: string;
  caller: CallerName;
  expected: Expected;
  got: string;
}

/** Every method of every service × every caller; returns the rows that disagree with the expectations. */
export async function runMatrix(
  connect: (role: Role, caller: CallerName) => Connection,
  projectA: string,
): Promise<{ rows: MatrixRow[]; wrong: MatrixRow[] }> {
  const rows: MatrixRow[] = [];
  for (const { role, def } of SERVICES) {
    for (const [key, m] of Object.entries(def)) {
      const method = shortMethod(m.path);
      const request = { ...(m.requestDeserialize(Buffer.alloc(0)) as object), ...probeFields(method, projectA) };
      for (const caller of CALLERS) {
        const got = await outcome(connect(role, caller), def, key, request);
        rows.push({ method, caller, expected: expected(method, caller), got });
      }
    }
  }
  const wrong = rows.filter((r) =>
    r.expected === "allowed"
      ? r.got === "UNAUTHENTICATED" || r.got === "PERMISSION_DENIED" || r.got === "UNAVAILABLE"
      : r.got !== r.expected,
  );
  return { rows, wrong };
}
