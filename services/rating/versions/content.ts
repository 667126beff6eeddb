/**
 * A whole price list as a draft or a published version holds it: hashmap
 * groups, services, fields, mappings and thresholds, and CEL rules, every
 * thing named (never an id) and without dates: it is the price list from
 * the effective date it is published at. Absent texts are "".
 *
 * Flattened, each priced row has a key (which row it is) and a text (what
 * it says); two price lists differ exactly where a key is in one only or
 * its text differs (diff.ts), and publishing keeps the rows whose key and
 * text are unchanged (publish.ts). A mapping's tiers and time of use
 * (modules/hashmap/tiers.ts) are part of its text, so a change of a tier or
 * a window is a change of the row.
 */
import { InvalidArgumentError } from "../../../libs/errors/errors.js";
import { Decimal } from "../../../libs/money/decimal.js";
import { levelKey } from "../modules/hashmap/entries.js";
import type { MapType } from "../modules/hashmap/model.js";
import { shapeProblem, type Tiers, type TimeOfUse } from "../modules/hashmap/tiers.js";
import { checkCel } from "../modules/rules/manage.js";

export interface ListMapping {
  value: string;
  type: MapType;
  cost: string;
  group: string;
  tenant: string;
  name: string;
  description: string;
  /** A tiered price over the billing month (service flat mappings only); cost is then unused. Absent: none. */
  tiers?: Tiers;
  /** A cost by the period's local hour and day of week; cost applies outside its windows. Absent: none. */
  timeOfUse?: TimeOfUse;
}

export interface ListThreshold {
  level: string;
  type: MapType;
  cost: string;
  group: string;
  tenant: string;
}

export interface ListField {
  name: string;
  mappings: ListMapping[];
  thresholds: ListThreshold[];
}

export interface ListService {
  name: string;
  mappings: ListMapping[];
  thresholds: ListThreshold[];
  fields: ListField[];
}

export interface ListRule {
  name: string;
  condition: string;
  expression: string;
  order: number;
  tenant: string;
  description: string;
}

export interface PriceList {
  groups: string[];
  services: ListService[];
  rules: ListRule[];
}

export const EMPTY_PRICE_LIST: PriceList = { groups: [], services: [], rules: [] };

/** A mapping with its parent: field "" is a service mapping. */
export interface FlatMapping extends ListMapping {
  service: string;
  field: string;
}

export interface FlatThreshold extends ListThreshold {
  service: string;
  field: string;
}

const tenantPart = (tenant: string) => (tenant === "" ? "" : ` tenant ${tenant}`);
const groupPart = (group: string) => (group === "" ? "" : ` group ${group}`);

export function mappingKey(m: FlatMapping): string {
  const parent = m.field === "" ? m.service : `${m.service}/${m.field}=${m.value}`;
  return `${parent}${groupPart(m.group)}${tenantPart(m.tenant)}`;
}

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const hhmm = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;

/** "graduated 0:0.10, 1000:0.08" (the CLI's one-line form). */
export function tiersText(t: Tiers): string {
  return `${t.mode} ${t.tiers.map((x) => `${x.from}:${x.price}`).join(", ")}`;
}

/** "Europe/Paris; 22:00-06:00=0.05; sat,sun=0.05" (the CLI's one-line form). */
export function timeOfUseText(t: TimeOfUse): string {
  const windows = t.windows.map((w) => {
    const when = [w.days.map((d) => DAYS[d] ?? String(d)).join(","), w.from === w.to ? "" : `${hhmm(w.from)}-${hhmm(w.to)}`];
    return `${when.filter((x) => x !== "").join(" ")}=${w.cost}`;
  });
  return [t.timeZone, ...windows].join("; ");
}

export function mappingText(m: ListMapping): string {
  let t = `${m.type} ${m.cost}`;
  if (m.tiers !== undefined) t += ` tiers ${tiersText(m.tiers)}`;
  if (m.timeOfUse !== undefined) t += ` time of use ${timeOfUseText(m.timeOfUse)}`;
  if (m.name !== "") t += ` name ${m.name}`;
  if (m.description !== "") t += ` (${m.description})`;
  return t;
}

export function thresholdKey(t: FlatThreshold): string {
  const parent = t.field === "" ? t.service : `${t.service}/${t.field}`;
  return `${parent} level ${levelKey(Decimal.parse(t.level))}${tenantPart(t.tenant)}`;
}

export function thresholdText(t: ListThreshold): string {
  return `${t.type} ${t.cost}${groupPart(t.group)}`;
}

export function ruleKey(r: ListRule): string {
  return r.name;
}

export function ruleText(r: ListRule): string {
  const when = r.condition === "" ? "" : ` when ${r.condition}`;
  const desc = r.description === "" ? "" : ` (${r.description})`;
  return `order ${r.order}${tenantPart(r.tenant)}${when}: ${r.expression}${desc}`;
}

export function flatMappings(list: PriceList): FlatMapping[] {
  const out: FlatMapping[] = [];
  for (const s of list.services) {
    for (const m of s.mappings) out.push({ ...m, service: s.name, field: "" });
    for (const f of s.fields) for (const m of f.mappings) out.push({ ...m, service: s.name, field: f.name });
  }
  return out;
}

export function flatThresholds(list: PriceList): FlatThreshold[] {
  const out: FlatThreshold[] = [];
  for (const s of list.services) {
    for (const t of s.thresholds) out.push({ ...t, service: s.name, field: "" });
    for (const f of s.fields) for (const t of f.thresholds) out.push({ ...t, service: s.name, field: f.name });
  }
  return out;
}

// Validation, with the path of the bad value as the field.

function decimal(v: string, field: string): void {
  if (!Decimal.isValid(v)) throw new InvalidArgumentError(field, `${JSON.stringify(v)} is not an exact decimal (e.g. "0.01", "12.5")`);
}

function unique(seen: Map<string, string>, key: string, field: string, what: string): void {
  const first = seen.get(key);
  if (first !== undefined) throw new InvalidArgumentError(field, `${what} ${JSON.stringify(key)} is already at ${first}`);
  seen.set(key, field);
}

/** Checks a price list whole, or INVALID_ARGUMENT naming the path (`content.services[0].mappings[1].cost`). */
export function checkPriceList(list: PriceList, at = "content"): void {
  const groups = new Map<string, string>();
  list.groups.forEach((g, i) => {
    if (g.trim() === "") throw new InvalidArgumentError(`${at}.groups[${i}]`, "is required");
    unique(groups, g, `${at}.groups[${i}]`, "group");
  });
  const services = new Map<string, string>();
  const mappingKeys = new Map<string, string>();
  const thresholdKeys = new Map<string, string>();
  const mappingNames = new Map<string, string>();
  const rules = (path: string, service: string, field: string, x: { mappings: ListMapping[]; thresholds: ListThreshold[] }) => {
    x.mappings.forEach((m, i) => {
      const p = `${path}.mappings[${i}]`;
      if (field !== "" && m.value === "") throw new InvalidArgumentError(`${p}.value`, "is required for a field mapping");
      if (field === "" && m.value !== "") throw new InvalidArgumentError(`${p}.value`, "is for field mappings only");
      decimal(m.cost, `${p}.cost`);
      // As the hashmap API: tiers on a service flat mapping only, never with time of use.
      const shape = shapeProblem({ fieldId: field === "" ? null : field, type: m.type, tiers: m.tiers, timeOfUse: m.timeOfUse });
      if (shape !== undefined) throw new InvalidArgumentError(`${p}.${shape.field}`, shape.problem);
      if (m.group !== "" && !groups.has(m.group))
        throw new InvalidArgumentError(`${p}.group`, `group ${JSON.stringify(m.group)} is not in groups`);
      unique(mappingKeys, mappingKey({ ...m, service, field }), p, "mapping");
      if (m.name !== "") unique(mappingNames, m.name, `${p}.name`, "mapping name");
    });
    x.thresholds.forEach((t, i) => {
      const p = `${path}.thresholds[${i}]`;
      decimal(t.level, `${p}.level`);
      decimal(t.cost, `${p}.cost`);
      if (t.group !== "" && !groups.has(t.group))
        throw new InvalidArgumentError(`${p}.group`, `group ${JSON.stringify(t.group)} is not in groups`);
      unique(thresholdKeys, thresholdKey({ ...t, service, field }), p, "threshold");
    });
  };
  list.services.forEach((s, i) => {
    const p = `${at}.services[${i}]`;
    if (s.name.trim() === "") throw new InvalidArgumentError(`${p}.name`, "is required");
    unique(services, s.name, `${p}.name`, "service");
    rules(p, s.name, "", s);
    const fields = new Map<string, string>();
    s.fields.forEach((f, j) => {
      const fp = `${p}.fields[${j}]`;
      if (f.name.trim() === "") throw new InvalidArgumentError(`${fp}.name`, "is required");
      unique(fields, f.name, `${fp}.name`, "field");
      rules(fp, s.name, f.name, f);
    });
  });
  const ruleNames = new Map<string, string>();
  list.rules.forEach((r, i) => {
    const p = `${at}.rules[${i}]`;
    if (r.name.trim() === "") throw new InvalidArgumentError(`${p}.name`, "is required");
    unique(ruleNames, r.name, `${p}.name`, "rule");
    if (!Number.isInteger(r.order)) throw new InvalidArgumentError(`${p}.order`, "must be a whole number");
    if (r.condition !== "") checkCel(r.condition, `${p}.condition`);
    checkCel(r.expression, `${p}.expression`);
  });
}
