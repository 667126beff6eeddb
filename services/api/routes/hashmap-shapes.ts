/**
 * The hashmap API's data as CloudKitty's WSME models shape it: what the
 * gateway answers (ids null when unset, costs and levels as decimal strings:
 * ratemesh keeps the digits it was given, CloudKitty pads them to its column
 * scale), the request bodies it accepts, and how their values are read.
 */
import type { FastifyRequest } from "fastify";
import {
  type HashField,
  type HashGroup,
  type HashMapping,
  type HashService,
  type HashThreshold,
  MappingType,
} from "../../../libs/gen/ratemesh/v1/rating.js";
import { Decimal } from "../../../libs/money/decimal.js";
import { ApiError, badRequest } from "../errors.js";
import { timestamp } from "../query.js";
import { naiveIso } from "../time.js";

export type Query = Record<string, string | undefined>;
export type Body = Record<string, unknown>;

const nullable = (id: string) => (id === "" ? null : id);
const typeName = (t: MappingType) => (t === MappingType.MAPPING_TYPE_RATE ? "rate" : "flat");
const dateOrNull = (d: Date | undefined) => (d === undefined ? null : naiveIso(d));

export const serviceOut = (s: HashService | undefined) => ({ service_id: s?.serviceId ?? "", name: s?.name ?? "" });
export const fieldOut = (f: HashField | undefined) => ({ field_id: f?.fieldId ?? "", name: f?.name ?? "", service_id: f?.serviceId ?? "" });
export const groupOut = (g: HashGroup | undefined) => ({ group_id: g?.groupId ?? "", name: g?.name ?? "" });

/** What mappings and thresholds have in common: where a rule applies, and its price. */
export interface Rule {
  serviceId: string;
  fieldId: string;
  groupId: string;
  tenantId: string;
  type: MappingType;
  cost: string;
}

/** The rule of rating's answer: rating always gives it, so an answer without it is the gateway's 500. */
function answered<T>(rule: T | undefined, noun: string): T {
  if (rule === undefined) throw new ApiError(500, `rating answered without the ${noun}`);
  return rule;
}

/** The attributes of CloudKitty's Mapping and Threshold models that a Rule gives. */
const ruleOut = (r: Rule) => ({
  type: typeName(r.type),
  cost: r.cost,
  service_id: nullable(r.serviceId),
  field_id: nullable(r.fieldId),
  group_id: nullable(r.groupId),
  tenant_id: nullable(r.tenantId),
});

/** CloudKitty's Mapping model, with the validity and audit attributes of 23.0.0 (ratemesh keeps no user ids). */
export function mappingOut(given: HashMapping | undefined) {
  const m = answered(given, "mapping");
  return {
    mapping_id: m.mappingId,
    value: m.value,
    ...ruleOut(m),
    created_at: dateOrNull(m.createdAt),
    start: dateOrNull(m.start),
    end: dateOrNull(m.end),
    name: nullable(m.name),
    description: nullable(m.description),
    deleted: dateOrNull(m.deletedAt),
    created_by: null,
    updated_by: null,
    deleted_by: null,
  };
}

export function thresholdOut(given: HashThreshold | undefined) {
  const t = answered(given, "threshold");
  return { threshold_id: t.thresholdId, level: t.level, ...ruleOut(t) };
}

/** Request bodies, as CloudKitty's WSME models declare them (a JSON number in a money position arrives as its text, see json.ts). */
const nonEmptyText = { type: "string", minLength: 1 } as const;
const optionalText = { type: ["string", "null"] } as const;
const money = { type: ["string", "number"] } as const;
const mapTypeSchema = { enum: ["flat", "rate", null] } as const;
const parents = { service_id: optionalText, field_id: optionalText, group_id: optionalText, tenant_id: optionalText } as const;
const mappingProperties = {
  ...parents,
  mapping_id: optionalText,
  value: optionalText,
  type: mapTypeSchema,
  cost: money,
  start: optionalText,
  end: optionalText,
  name: optionalText,
  description: optionalText,
} as const;
const thresholdProperties = {
  ...parents,
  threshold_id: optionalText,
  level: { type: ["string", "number", "null"] },
  type: mapTypeSchema,
  cost: money,
} as const;
export const BODY = {
  named: { body: { type: "object", required: ["name"], properties: { name: nonEmptyText } } },
  field: { body: { type: "object", required: ["name", "service_id"], properties: { name: nonEmptyText, service_id: nonEmptyText } } },
  mapping: { body: { type: "object", required: ["cost"], properties: mappingProperties } },
  mappingUpdate: { body: { type: "object", properties: mappingProperties } },
  threshold: { body: { type: "object", required: ["cost"], properties: thresholdProperties } },
  thresholdUpdate: { body: { type: "object", properties: thresholdProperties } },
} as const;

/** WSME's message for a mandatory attribute that is missing. */
export function mandatory(field: string): ApiError {
  return badRequest(`Invalid input for field/attribute ${field}. Value: 'None'. Mandatory field missing.`);
}

export function mappingType(value: unknown, field = "type"): MappingType {
  if (value === undefined || value === null || value === "flat") return MappingType.MAPPING_TYPE_FLAT;
  if (value === "rate") return MappingType.MAPPING_TYPE_RATE;
  throw badRequest(`Invalid input for field/attribute ${field}. Value: '${String(value)}'. Value should be one of: flat, rate`);
}

/** A money value of a body: a JSON number keeps its digits (see json.ts). */
export function decimalText(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" || typeof value === "number") return String(value);
  throw badRequest(`Invalid input for field/attribute ${field}. Value: '${JSON.stringify(value)}'. Not a decimal`);
}

/** Equal as decimals ("2.5" and "2.50"), or as text when either is not a decimal. */
export function sameDecimal(a: string, b: string): boolean {
  try {
    return Decimal.parse(a).eq(Decimal.parse(b));
  } catch {
    return a === b;
  }
}

/** CloudKitty's EndDayDatetime: an end given as a date only means 23:59:59 that day. */
export function endOfDay(value: unknown, field: string): Date | undefined {
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value.trim())) return timestamp(`${value.trim()}T23:59:59`, field);
  return timestamp(value, field);
}

export function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function bodyOf(request: FastifyRequest): Body {
  const b = request.body;
  return b !== null && typeof b === "object" && !Array.isArray(b) ? (b as Body) : {};
}

/**
 * The id of the resource a PUT or DELETE is about: from the path, or from
 * the body, where python-cloudkittyclient puts it (it sends these requests
 * to the collection's URL, which CloudKitty accepts).
 */
export function idOf(request: FastifyRequest, key: string): string {
  const fromPath = (request.params as { id?: string }).id;
  if (fromPath !== undefined && fromPath !== "") return fromPath;
  const fromBody = bodyOf(request)[key];
  if (typeof fromBody === "string" && fromBody !== "") return fromBody;
  throw mandatory(key);
}
