/**
 * Who may call each of rating's methods: CloudKitty's defaults (price
 * lists and modules are the admin's, a quote is open to any authenticated
 * caller), Rate for the service identity only (it prices as any project),
 * and a quote or an explanation as a project only for that project or an
 * admin. A simulation is a read of stored bills: a reader's, confined to
 * its project (and storage confines the points it reads to the same
 * project again). Every change of a price list, rule or module goes into
 * the audit trail. [auth] policy_file may replace any rule.
 */
import type { AuditServiceService } from "../../libs/gen/ratemesh/v1/audit.js";
import type { PriceListServiceService } from "../../libs/gen/ratemesh/v1/pricelist.js";
import type { HashmapServiceService, RulesServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import type { SimulationServiceService } from "../../libs/gen/ratemesh/v1/simulation.js";
import type { PolicyTable } from "../../libs/grpc/guard.js";
import type { RatingServiceDefinition } from "./api.js";

const ADMIN = "role:admin";

/** Pricing as a project (its own rules) is for that project; without one, global rules only, for anyone. */
function ownProjectOnly<R extends { scopeId: string }>(req: R, project: string | undefined): R | undefined {
  return req.scopeId === "" || req.scopeId === project ? req : undefined;
}

export const ratingPolicy: PolicyTable<typeof RatingServiceDefinition> = {
  rate: { rule: "service" },
  quote: { rule: "@", confine: ownProjectOnly },
  explain: { rule: "@", confine: ownProjectOnly },
  listModules: { rule: ADMIN },
  updateModule: { rule: ADMIN, audit: (r) => `module ${r.name}` },
};

/**
 * The admin's create, get, list, update and delete of one kind of row
 * (kind "Service": createService, getService, listServices, ...), each
 * change audited against the row: its id, or for a create its name.
 */
type AdminCrud<K extends string, Id extends string> = Record<`create${K}`, { rule: string; audit: (r: { name: string }) => string }> &
  Record<`get${K}` | `list${K}s`, { rule: string }> &
  Record<`update${K}` | `delete${K}`, { rule: string; audit: (r: Record<Id, string>) => string }>;

function adminCrud<K extends string, Id extends string>(kind: K, id: Id): AdminCrud<K, Id> {
  const what = kind.toLowerCase();
  const byId = (r: Record<Id, string>) => `${what} ${r[id]}`;
  return {
    [`create${kind}`]: { rule: ADMIN, audit: (r: { name: string }) => `${what} named ${r.name}` },
    [`get${kind}`]: { rule: ADMIN },
    [`list${kind}s`]: { rule: ADMIN },
    [`update${kind}`]: { rule: ADMIN, audit: byId },
    [`delete${kind}`]: { rule: ADMIN, audit: byId },
  } as AdminCrud<K, Id>;
}

/** A mapping's or threshold's parent: "service <id>" or "field <id>". */
const parentOf = (r: { serviceId: string; fieldId: string }) => (r.fieldId === "" ? `service ${r.serviceId}` : `field ${r.fieldId}`);

/** A project-scoped caller simulates its own project only: no scopes named means its project; another project is refused. */
function ownScopesOnly<R extends { scopeIds: string[] }>(req: R, project: string | undefined): R | undefined {
  if (project === undefined) return undefined;
  if (req.scopeIds.length === 0) return { ...req, scopeIds: [project] };
  return req.scopeIds.every((s) => s === project) ? req : undefined;
}

export const simulationPolicy: PolicyTable<typeof SimulationServiceService> = {
  simulate: { rule: "role:reader", confine: ownScopesOnly },
};

export const hashmapPolicy: PolicyTable<typeof HashmapServiceService> = {
  ...adminCrud("Service", "serviceId"),
  ...adminCrud("Field", "fieldId"),
  createField: { rule: ADMIN, audit: (r) => `field named ${r.name} of service ${r.serviceId}` },
  ...adminCrud("Mapping", "mappingId"),
  createMapping: { rule: ADMIN, audit: (r) => `mapping of ${parentOf(r)}` },
  ...adminCrud("Threshold", "thresholdId"),
  createThreshold: { rule: ADMIN, audit: (r) => `threshold of ${parentOf(r)}` },
  ...adminCrud("Group", "groupId"),
};

export const rulesPolicy: PolicyTable<typeof RulesServiceService> = adminCrud("Rule", "ruleId");

/** Drafts and versions are the price list's: the admin's, reads included (as the hashmap's); a publish is audited. */
export const priceListPolicy: PolicyTable<typeof PriceListServiceService> = {
  createDraft: { rule: ADMIN, audit: (r) => `draft ${r.name}` },
  getDraft: { rule: ADMIN },
  listDrafts: { rule: ADMIN },
  updateDraft: { rule: ADMIN, audit: (r) => `draft ${r.name}` },
  deleteDraft: { rule: ADMIN, audit: (r) => `draft ${r.name}` },
  diffDraft: { rule: ADMIN },
  publishDraft: {
    rule: ADMIN,
    audit: (r) => `draft ${r.name} effective ${r.effective?.toISOString() ?? "now"}${r.force ? " (forced)" : ""}`,
  },
  listVersions: { rule: ADMIN },
  getVersion: { rule: ADMIN },
};

export const auditPolicy: PolicyTable<typeof AuditServiceService> = {
  listAuditEvents: { rule: ADMIN },
};
