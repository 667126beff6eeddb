/**
 * Rows for the hashmap's in-process tests: a mapping with every column
 * set, "m1" a flat mapping of service "s1" at 0 in force from the epoch,
 * unless `over` says otherwise.
 */
import type { MappingRow } from "./model.js";

export function mappingRow(over: Partial<MappingRow>): MappingRow {
  return {
    mappingId: "m1",
    serviceId: "s1",
    fieldId: null,
    value: null,
    type: "flat",
    cost: "0",
    groupId: null,
    tenantId: null,
    start: 0,
    end: null,
    name: null,
    description: "",
    createdAt: 0,
    deletedAt: null,
    seq: 1,
    ...over,
  };
}
