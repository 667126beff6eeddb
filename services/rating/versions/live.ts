/**
 * The price list the rating tables hold, as seen from one instant: the
 * rows in force then (validity.ts), the rows scheduled to start later, and
 * the same as a PriceList (what a draft copies). Thresholds have no
 * validity window (as in CloudKitty): all of them are in force. A
 * mapping's tiers and time of use come with it.
 */
import { DEFAULT_GROUP, type HashmapData, type MappingRow, type ThresholdRow } from "../modules/hashmap/model.js";
import type { RuleRow } from "../modules/rules/repository.js";
import { inForce } from "../validity.js";
import type { FlatMapping, FlatThreshold, ListField, ListRule, ListService, PriceList } from "./content.js";

export interface LiveMapping extends FlatMapping {
  row: MappingRow;
}

export interface LiveThreshold extends FlatThreshold {
  row: ThresholdRow;
}

export interface LiveRule extends ListRule {
  row: RuleRow;
}

export interface LivePriceList {
  /** In force at the instant. */
  mappings: LiveMapping[];
  thresholds: LiveThreshold[];
  rules: LiveRule[];
  /** Not deleted, starting after the instant. */
  scheduledMappings: LiveMapping[];
  scheduledRules: LiveRule[];
  /** Names of what exists, to id. */
  serviceIds: Map<string, string>;
  /** "service/field" to id. */
  fieldIds: Map<string, string>;
  groupIds: Map<string, string>;
  /** The rows in force as a price list. */
  list: PriceList;
}

export function liveAt(data: HashmapData, ruleRows: RuleRow[], at: number): LivePriceList {
  const serviceName = new Map(data.services.map((s) => [s.serviceId, s.name]));
  const fieldOf = new Map(data.fields.map((f) => [f.fieldId, { service: serviceName.get(f.serviceId) ?? "", field: f.name }]));
  const groupName = new Map(data.groups.map((g) => [g.groupId, g.name]));
  const group = (id: string | null) => (id === null ? "" : (groupName.get(id) ?? DEFAULT_GROUP));
  const parent = (r: { serviceId: string | null; fieldId: string | null }) =>
    r.serviceId !== null
      ? { service: serviceName.get(r.serviceId) ?? "", field: "" }
      : (fieldOf.get(r.fieldId ?? "") ?? { service: "", field: "" });

  const mappings: LiveMapping[] = [];
  const scheduledMappings: LiveMapping[] = [];
  for (const row of data.mappings) {
    if (row.deletedAt !== null) continue;
    const p = parent(row);
    const m: LiveMapping = {
      service: p.service,
      field: p.field,
      value: row.value ?? "",
      type: row.type,
      cost: row.cost,
      group: group(row.groupId),
      tenant: row.tenantId ?? "",
      name: row.name ?? "",
      description: row.description,
      ...(row.tiers ? { tiers: row.tiers } : {}),
      ...(row.timeOfUse ? { timeOfUse: row.timeOfUse } : {}),
      row,
    };
    if (inForce(row, at)) mappings.push(m);
    else if (row.start > at) scheduledMappings.push(m);
  }
  const thresholds: LiveThreshold[] = data.thresholds.map((row) => {
    const p = parent(row);
    return {
      service: p.service,
      field: p.field,
      level: row.level,
      type: row.type,
      cost: row.cost,
      group: group(row.groupId),
      tenant: row.tenantId ?? "",
      row,
    };
  });
  const rules: LiveRule[] = [];
  const scheduledRules: LiveRule[] = [];
  for (const row of ruleRows) {
    if (row.deletedAt !== null) continue;
    const r: LiveRule = {
      name: row.name,
      condition: row.condition,
      expression: row.expression,
      order: row.order,
      tenant: row.tenantId ?? "",
      description: row.description,
      row,
    };
    if (inForce(row, at)) rules.push(r);
    else if (row.start > at) scheduledRules.push(r);
  }

  // The same rows as a price list (every service and field, even without rules in force).
  const services = new Map<string, ListService>();
  for (const s of data.services) services.set(s.name, { name: s.name, mappings: [], thresholds: [], fields: [] });
  const fields = new Map<string, ListField>();
  for (const f of data.fields) {
    const s = services.get(serviceName.get(f.serviceId) ?? "");
    if (s === undefined) continue;
    const lf: ListField = { name: f.name, mappings: [], thresholds: [] };
    s.fields.push(lf);
    fields.set(`${s.name}/${f.name}`, lf);
  }
  const holder = (x: { service: string; field: string }) =>
    x.field === "" ? services.get(x.service) : fields.get(`${x.service}/${x.field}`);
  for (const { row: _, service, field, ...m } of mappings) holder({ service, field })?.mappings.push(m);
  for (const { row: _, service, field, ...t } of thresholds) holder({ service, field })?.thresholds.push(t);
  const list: PriceList = {
    groups: data.groups.map((g) => g.name),
    services: [...services.values()],
    rules: rules.map(({ row: _, ...r }) => r),
  };
  return {
    mappings,
    thresholds,
    rules,
    scheduledMappings,
    scheduledRules,
    serviceIds: new Map(data.services.map((s) => [s.name, s.serviceId])),
    fieldIds: new Map(data.fields.map((f) => [`${serviceName.get(f.serviceId) ?? ""}/${f.name}`, f.fieldId])),
    groupIds: new Map(data.groups.map((g) => [g.name, g.groupId])),
    list,
  };
}
