/**
 * Who may call each of storage's methods (CloudKitty's secure-RBAC
 * defaults: admin manages, a reader reads its own project's data), what a
 * caller confined to a project is narrowed to, and which changes go into
 * the audit trail. Internal methods (what only the collector calls) are for
 * the service identity. [auth] policy_file may replace any rule.
 */
import { NotFoundError } from "../../libs/errors/errors.js";
import type { AuditServiceService } from "../../libs/gen/ratemesh/v1/audit.js";
import type { Filter } from "../../libs/gen/ratemesh/v1/common.js";
import type {
  AddDataFramesRequest,
  ReprocessServiceService,
  ScopeServiceService,
  StorageServiceService,
} from "../../libs/gen/ratemesh/v1/storage.js";
import type { PolicyTable } from "../../libs/grpc/guard.js";

const READ = "role:reader or service";
const ADMIN = "role:admin";
const ADMIN_OR_SERVICE = "role:admin or service";

/** The request's filters and one more: scope_id is the caller's project (filters are ANDed, so nothing else is reachable). */
function ownScopeOnly<R extends { filters: Filter[] }>(req: R, project: string | undefined): R | undefined {
  return project === undefined ? undefined : { ...req, filters: [...req.filters, { key: "scope_id", values: [project] }] };
}

function scopeList(ids: string[], all: boolean): string {
  return all ? "all scopes" : `scopes ${ids.join(", ")}`;
}

/** What an addition of points is recorded against: its scopes (the first ten), its size and its key. */
function additionTarget(r: AddDataFramesRequest): string {
  const ids = [...new Set(r.frames.map((f) => f.scopeId))];
  const points = r.frames.reduce((n, f) => n + f.points.length, 0);
  const shown = ids.length > 10 ? `${ids.slice(0, 10).join(", ")} and ${ids.length - 10} more` : ids.join(", ");
  const key = r.idempotencyKey === "" ? "" : `, idempotency key ${r.idempotencyKey}`;
  return `scopes ${shown}: ${points} points in ${r.frames.length} frames${key}`;
}

/** The scope ids asked for, intersected with the caller's project: no scope has the empty id, so [""] lists nothing. */
function ownScopeIds<R extends { scopeIds: string[] }>(req: R, project: string | undefined): R | undefined {
  if (project === undefined) return undefined;
  const own = req.scopeIds.length === 0 || req.scopeIds.includes(project);
  return { ...req, scopeIds: [own ? project : ""] };
}

export const storagePolicy: PolicyTable<typeof StorageServiceService> = {
  commitPeriod: { rule: "service" },
  // Points pushed as CloudKitty's POST /v2/dataframes: an operator's change of what is billed.
  addDataFrames: { rule: ADMIN, audit: additionTarget },
  listDataFrames: { rule: READ, confine: ownScopeOnly },
  streamDataFrames: { rule: READ, confine: ownScopeOnly },
  streamPointColumns: { rule: READ, confine: ownScopeOnly },
  summary: { rule: READ, confine: ownScopeOnly },
  total: { rule: READ, confine: ownScopeOnly },
  // Like Summary: a reader sees its own project's adjustments.
  listAdjustments: { rule: READ, confine: ownScopeIds },
};

export const scopePolicy: PolicyTable<typeof ScopeServiceService> = {
  listScopes: { rule: READ, confine: ownScopeIds },
  getScope: {
    rule: READ,
    // Another project's scope is not found, exactly as one that does not exist.
    confine: (req, project) => {
      if (req.scopeId !== project) throw new NotFoundError("scope", req.scopeId);
      return req;
    },
  },
  // The collector fixes a new scope's start when it first sees it (creating the scope, or setting its start).
  createScope: { rule: ADMIN_OR_SERVICE, audit: (r) => `scope ${r.scopeId}` },
  updateScope: { rule: ADMIN_OR_SERVICE, audit: (r) => `scope ${r.scopeId}` },
  resetScope: { rule: ADMIN, audit: (r) => `${scopeList(r.scopeIds, r.allScopes)}${r.reason ? `: ${r.reason}` : ""}` },
  reseedFencing: { rule: ADMIN, audit: (r) => `${scopeList(r.scopeIds, r.allScopes)}: ${r.reason}` },
  recordScopeError: { rule: "service" },
};

export const reprocessPolicy: PolicyTable<typeof ReprocessServiceService> = {
  createTask: { rule: ADMIN, audit: (r) => scopeList(r.scopeIds, r.allScopes) },
  listTasks: { rule: ADMIN_OR_SERVICE },
};

export const auditPolicy: PolicyTable<typeof AuditServiceService> = {
  listAuditEvents: { rule: ADMIN },
};
