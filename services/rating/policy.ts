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
  createService: { rule: ADMIN, audit: (r) => `service named ${r.name}` },
  getService: { rule: ADMIN },
  listServices: { rule: ADMIN },
  updateService: { rule: ADMIN, audit: (r) => `service ${r.serviceId}` },
  deleteService: { rule: ADMIN, audit: (r) => `service ${r.serviceId}` },
  createField: { rule: ADMIN, audit: (r) => `field named ${r.name} of service ${r.serviceId}` },
  getField: { rule: ADMIN },
  listFields: { rule: ADMIN },
  updateField: { rule: ADMIN, audit: (r) => `field ${r.fieldId}` },
  deleteField: { rule: ADMIN, audit: (r) => `field ${r.fieldId}` },
  createMapping: { rule: ADMIN, audit: (r) => `mapping of ${r.fieldId === "" ? `service ${r.serviceId}` : `field ${r.fieldId}`}` },
  getMapping: { rule: ADMIN },
  listMappings: { rule: ADMIN },
  updateMapping: { rule: ADMIN, audit: (r) => `mapping ${r.mappingId}` },
  deleteMapping: { rule: ADMIN, audit: (r) => `mapping ${r.mappingId}` },
  createThreshold: { rule: ADMIN, audit: (r) => `threshold of ${r.fieldId === "" ? `service ${r.serviceId}` : `field ${r.fieldId}`}` },
  getThreshold: { rule: ADMIN },
  listThresholds: { rule: ADMIN },
  updateThreshold: { rule: ADMIN, audit: (r) => `threshold ${r.thresholdId}` },
  deleteThreshold: { rule: ADMIN, audit: (r) => `threshold ${r.thresholdId}` },
  createGroup: { rule: ADMIN, audit: (r) => `group named ${r.name}` },
  getGroup: { rule: ADMIN },
  listGroups: { rule: ADMIN },
  updateGroup: { rule: ADMIN, audit: (r) => `group ${r.groupId}` },
  deleteGroup: { rule: ADMIN, audit: (r) => `group ${r.groupId}` },
};

export const rulesPolicy: PolicyTable<typeof RulesServiceService> = {
  createRule: { rule: ADMIN, audit: (r) => `rule named ${r.name}` },
  getRule: { rule: ADMIN },
  listRules: { rule: ADMIN },
  updateRule: { rule: ADMIN, audit: (r) => `rule ${r.ruleId}` },
  deleteRule: { rule: ADMIN, audit: (r) => `rule ${r.ruleId}` },
};

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
