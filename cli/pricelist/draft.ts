/**
 * A draft's hashmap part as the YAML document `hashmap export` writes
 * (document.ts), and back. A draft has no dates (it is the price list from
 * the effective date it is published at), so a file whose mappings carry
 * start or end is refused, naming them; CEL rules are not in the document
 * and a draft keeps its own. A mapping's tiers and time of use travel in
 * their one-line forms (shapes.ts), as in `hashmap export`.
 */
import type { PriceListContent, PriceListMapping, PriceListThreshold } from "../../libs/gen/ratemesh/v1/pricelist.js";
import { MappingType } from "../../libs/gen/ratemesh/v1/rating.js";
import { CliError } from "../errors.js";
import type { MappingEntry, PriceList, RuleType, ThresholdEntry } from "./document.js";
import { formatTiers, formatTimeOfUse, parseTiers, parseTimeOfUse } from "./shapes.js";

const toType = (t: RuleType) => (t === "rate" ? MappingType.MAPPING_TYPE_RATE : MappingType.MAPPING_TYPE_FLAT);
const fromType = (t: MappingType): RuleType => (t === MappingType.MAPPING_TYPE_RATE ? "rate" : "flat");

function mappingOut(m: MappingEntry, path: string, file: string): PriceListMapping {
  if (m.start !== undefined || m.end !== undefined) {
    throw new CliError(
      "invalid_argument",
      `${file}: ${path}: a draft's mappings have no start or end (the draft applies from the date it is published at); remove them`,
    );
  }
  // The document reader checked the one-line forms already; a bad one here is still said, never dropped.
  const shape = <T>(text: string | undefined, key: string, parse: (t: string) => T | string): T | undefined => {
    if (text === undefined) return undefined;
    const x = parse(text);
    if (typeof x === "string") throw new CliError("invalid_argument", `${file}: ${path}.${key}: ${x}`);
    return x;
  };
  return {
    value: m.value ?? "",
    type: toType(m.type),
    cost: m.cost,
    group: m.group ?? "",
    tenant: m.tenant ?? "",
    name: m.name ?? "",
    description: m.description ?? "",
    tiers: shape(m.tiers, "tiers", parseTiers),
    timeOfUse: shape(m.time_of_use, "time_of_use", parseTimeOfUse),
  };
}

function thresholdOut(t: ThresholdEntry): PriceListThreshold {
  return { level: t.level, type: toType(t.type), cost: t.cost, group: t.group ?? "", tenant: t.tenant ?? "" };
}

/** The document as a draft's content, with the CEL rules `rules` (the draft's own) kept. */
export function contentOf(list: PriceList, rules: PriceListContent["rules"], file: string): PriceListContent {
  return {
    groups: list.groups,
    services: list.services.map((s, i) => ({
      name: s.name,
      mappings: s.mappings.map((m, j) => mappingOut(m, `services[${i}].mappings[${j}]`, file)),
      thresholds: s.thresholds.map(thresholdOut),
      fields: s.fields.map((f, j) => ({
        name: f.name,
        mappings: f.mappings.map((m, k) => mappingOut(m, `services[${i}].fields[${j}].mappings[${k}]`, file)),
        thresholds: f.thresholds.map(thresholdOut),
      })),
    })),
    rules,
  };
}

const blank = (v: string) => (v === "" ? undefined : v);

function mappingIn(m: PriceListMapping): MappingEntry {
  const e: MappingEntry = { type: fromType(m.type), cost: m.cost };
  for (const [k, v] of [
    ["value", m.value],
    ["group", m.group],
    ["tenant", m.tenant],
    ["name", m.name],
    ["description", m.description],
  ] as const) {
    const x = blank(v);
    if (x !== undefined) e[k] = x;
  }
  if (m.tiers !== undefined) e.tiers = formatTiers(m.tiers);
  if (m.timeOfUse !== undefined) e.time_of_use = formatTimeOfUse(m.timeOfUse);
  return e;
}

function thresholdIn(t: PriceListThreshold): ThresholdEntry {
  const e: ThresholdEntry = { level: t.level, type: fromType(t.type), cost: t.cost };
  if (t.group !== "") e.group = t.group;
  if (t.tenant !== "") e.tenant = t.tenant;
  return e;
}

/** A draft's or version's hashmap part as the YAML document's price list. */
export function documentOf(c: PriceListContent): PriceList {
  return {
    groups: c.groups,
    services: c.services.map((s) => ({
      name: s.name,
      mappings: s.mappings.map(mappingIn),
      thresholds: s.thresholds.map(thresholdIn),
      fields: s.fields.map((f) => ({ name: f.name, mappings: f.mappings.map(mappingIn), thresholds: f.thresholds.map(thresholdIn) })),
    })),
  };
}
