/**
 * CloudKitty's hashmap price list as a ratemesh price-list document (the
 * shape `hashmap import` reads), so that the same idempotent plan makes
 * rating's list equal to CloudKitty's. Costs and levels keep CloudKitty's
 * exact digits (what its API answers, e.g. 0.0200000000000000004163336342
 * for a cost its client sent as the float 0.02): the prices are then
 * CloudKitty's to the last digit. A mapping without dates (every mapping
 * of CloudKitty 17) applied to every period there, so it starts at the
 * beginning of time here; one with a start and an end keeps them.
 */
import { iso } from "../dates.js";
import type { MappingEntry, PriceList, ServiceEntry, ThresholdEntry } from "../pricelist/document.js";
import { BEGINNING_OF_TIME } from "../pricelist/start.js";
import type { CloudKittyMapping, CloudKittyState, CloudKittyThreshold } from "./cloudkitty-api.js";

/** CloudKitty's timestamps carry no zone (UTC) or +00:00: RFC 3339 in UTC. */
export function utc(text: string): string {
  const d = new Date(/(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text}Z`);
  if (Number.isNaN(d.getTime())) throw new Error(`${JSON.stringify(text)} is not a timestamp`);
  return iso(d);
}

export function priceListFrom(ck: CloudKittyState): PriceList {
  const groupName = new Map(ck.groups.map((g) => [g.group_id, g.name]));
  const group = (id: string | null) => (id === null ? undefined : groupName.get(id));
  const mapping = (m: CloudKittyMapping): MappingEntry => {
    const e: MappingEntry = { type: m.type, cost: m.cost, start: m.start ? utc(m.start) : iso(BEGINNING_OF_TIME) };
    if (m.value !== null && m.value !== "") e.value = m.value;
    const g = group(m.group_id);
    if (g !== undefined) e.group = g;
    if (m.tenant_id) e.tenant = m.tenant_id;
    if (m.end) e.end = utc(m.end);
    if (m.name) e.name = m.name;
    if (m.description) e.description = m.description;
    return e;
  };
  const threshold = (t: CloudKittyThreshold): ThresholdEntry => {
    const e: ThresholdEntry = { level: t.level, type: t.type, cost: t.cost };
    const g = group(t.group_id);
    if (g !== undefined) e.group = g;
    if (t.tenant_id) e.tenant = t.tenant_id;
    return e;
  };
  const services: ServiceEntry[] = ck.services.map((s) => ({
    name: s.name,
    mappings: ck.mappings.filter((m) => m.service_id === s.service_id).map(mapping),
    thresholds: ck.thresholds.filter((t) => t.service_id === s.service_id).map(threshold),
    fields: ck.fields
      .filter((f) => f.service_id === s.service_id)
      .map((f) => ({
        name: f.name,
        mappings: ck.mappings.filter((m) => m.field_id === f.field_id).map(mapping),
        thresholds: ck.thresholds.filter((t) => t.field_id === f.field_id).map(threshold),
      })),
  }));
  return { groups: ck.groups.map((g) => g.name), services };
}
