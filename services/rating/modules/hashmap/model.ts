/**
 * The hashmap price list as stored: services, fields, groups, mappings and
 * thresholds, with CloudKitty's columns. Costs and levels are kept as the
 * exact decimal strings they were given in.
 */

import type { Tiers, TimeOfUse } from "./tiers.js";

export type MapType = "flat" | "rate";

/** The implicit group of rules that have none. */
export const DEFAULT_GROUP = "_DEFAULT_";

export interface ServiceRow {
  serviceId: string;
  name: string;
  /** Creation order: the order CloudKitty's loader visits rows in. */
  seq: number;
}

export interface FieldRow {
  fieldId: string;
  serviceId: string;
  name: string;
  seq: number;
}

export interface GroupRow {
  groupId: string;
  name: string;
  seq: number;
}

export interface MappingRow {
  mappingId: string;
  /** Exactly one of serviceId and fieldId is set. */
  serviceId: string | null;
  fieldId: string | null;
  /** The matched value of a field mapping; null for a service mapping. */
  value: string | null;
  type: MapType;
  cost: string;
  groupId: string | null;
  /** null: a global rule. */
  tenantId: string | null;
  /** Epoch milliseconds; the rule applies to periods starting in [start, end). */
  start: number;
  end: number | null;
  name: string | null;
  description: string;
  createdAt: number;
  deletedAt: number | null;
  seq: number;
  /** A tiered price over the billing month (service flat mappings only; tiers.ts); cost is then unused. */
  tiers?: Tiers | null;
  /** A cost by the period's local hour and day of week (tiers.ts); cost applies outside its windows. */
  timeOfUse?: TimeOfUse | null;
}

export interface ThresholdRow {
  thresholdId: string;
  serviceId: string | null;
  fieldId: string | null;
  level: string;
  type: MapType;
  cost: string;
  groupId: string | null;
  tenantId: string | null;
  seq: number;
}

/** Everything pricing needs: the rows that can apply (deleted mappings are left out). */
export interface HashmapData {
  services: ServiceRow[];
  fields: FieldRow[];
  groups: GroupRow[];
  mappings: MappingRow[];
  thresholds: ThresholdRow[];
}

export const EMPTY_HASHMAP: HashmapData = { services: [], fields: [], groups: [], mappings: [], thresholds: [] };
