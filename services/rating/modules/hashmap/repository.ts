/**
 * SQL on the hashmap tables, the same for SQLite and PostgreSQL. No
 * validation here: manage.ts decides, inside one write transaction, what may
 * be written.
 */
import { num, type SqlExecutor, strOrNull } from "../../store/sql.js";
import { type Page, type PagedSelect, Table } from "../../store/table.js";
import { readWindow, type WindowFilter, windowFilter } from "../../validity.js";
import type { FieldRow, GroupRow, HashmapData, MappingRow, MapType, ServiceRow, ThresholdRow } from "./model.js";
import type { Tiers, TimeOfUse } from "./tiers.js";

export const services = new Table<ServiceRow>("hashmap_services", "service_id", "hashmap service", "seq, service_id, name", (r) => ({
  seq: num(r.seq),
  serviceId: String(r.service_id),
  name: String(r.name),
}));

export const fields = new Table<FieldRow>("hashmap_fields", "field_id", "field", "seq, field_id, service_id, name", (r) => ({
  seq: num(r.seq),
  fieldId: String(r.field_id),
  serviceId: String(r.service_id),
  name: String(r.name),
}));

export const groups = new Table<GroupRow>("hashmap_groups", "group_id", "group", "seq, group_id, name", (r) => ({
  seq: num(r.seq),
  groupId: String(r.group_id),
  name: String(r.name),
}));

export const mappings = new Table<MappingRow>(
  "hashmap_mappings",
  "mapping_id",
  "mapping",
  "seq, mapping_id, service_id, field_id, value, map_type, cost, group_id, tenant_id, start_ms, end_ms, name, description, created_ms, deleted_ms, tiers, time_of_use",
  (r) => ({
    seq: num(r.seq),
    mappingId: String(r.mapping_id),
    serviceId: strOrNull(r.service_id),
    fieldId: strOrNull(r.field_id),
    value: strOrNull(r.value),
    type: r.map_type as MapType,
    cost: String(r.cost),
    groupId: strOrNull(r.group_id),
    tenantId: strOrNull(r.tenant_id),
    ...readWindow(r),
    name: strOrNull(r.name),
    tiers: jsonOrNull<Tiers>(r.tiers),
    timeOfUse: jsonOrNull<TimeOfUse>(r.time_of_use),
  }),
);

function jsonOrNull<T>(v: unknown): T | null {
  return v === null || v === undefined || v === "" ? null : (JSON.parse(String(v)) as T);
}

function jsonText(v: unknown): string | null {
  return v === null || v === undefined ? null : JSON.stringify(v);
}

export const thresholds = new Table<ThresholdRow>(
  "hashmap_thresholds",
  "threshold_id",
  "threshold",
  "seq, threshold_id, service_id, field_id, level, map_type, cost, group_id, tenant_id",
  (r) => ({
    seq: num(r.seq),
    thresholdId: String(r.threshold_id),
    serviceId: strOrNull(r.service_id),
    fieldId: strOrNull(r.field_id),
    level: String(r.level),
    type: r.map_type as MapType,
    cost: String(r.cost),
    groupId: strOrNull(r.group_id),
    tenantId: strOrNull(r.tenant_id),
  }),
);

/** Every row pricing can use (deleted mappings left out), for the in-memory index. */
export async function loadHashmap(tx: SqlExecutor): Promise<HashmapData> {
  return {
    services: await services.select(tx, "ORDER BY seq"),
    fields: await fields.select(tx, "ORDER BY seq"),
    groups: await groups.select(tx, "ORDER BY seq"),
    mappings: await mappings.select(tx, "WHERE deleted_ms IS NULL ORDER BY seq"),
    thresholds: await thresholds.select(tx, "ORDER BY seq"),
  };
}

// Services, fields and groups: ids and unique names.

export function serviceNamed(tx: SqlExecutor, name: string): Promise<ServiceRow | undefined> {
  return services.first(tx, "name = ?", [name]);
}

export function listServices(tx: SqlExecutor, name: string, page: Page): Promise<ServiceRow[]> {
  return services.page(page).eq("name", name).all(tx);
}

export function fieldNamed(tx: SqlExecutor, serviceId: string, name: string): Promise<FieldRow | undefined> {
  return fields.first(tx, "service_id = ? AND name = ?", [serviceId, name]);
}

export function listFields(tx: SqlExecutor, serviceId: string, page: Page): Promise<FieldRow[]> {
  return fields.page(page).eq("service_id", serviceId).all(tx);
}

export function groupNamed(tx: SqlExecutor, name: string): Promise<GroupRow | undefined> {
  return groups.first(tx, "name = ?", [name]);
}

/**
 * Deletes a group. recursive: its live mappings are soft-deleted and its
 * thresholds deleted; otherwise the foreign keys' ON DELETE SET NULL moves
 * them to the implicit _DEFAULT_ group, as CloudKitty's API does.
 */
export async function deleteGroup(tx: SqlExecutor, id: string, recursive: boolean, now: number): Promise<void> {
  if (recursive) {
    await tx.run("UPDATE hashmap_mappings SET deleted_ms = ? WHERE group_id = ? AND deleted_ms IS NULL", [now, id]);
    await tx.run("DELETE FROM hashmap_thresholds WHERE group_id = ?", [id]);
  }
  await groups.delete(tx, id);
}

// Mappings.

export function insertMapping(tx: SqlExecutor, m: Omit<MappingRow, "seq">): Promise<MappingRow> {
  return mappings.insert(tx, {
    mapping_id: m.mappingId,
    service_id: m.serviceId,
    field_id: m.fieldId,
    value: m.value,
    map_type: m.type,
    cost: m.cost,
    group_id: m.groupId,
    tenant_id: m.tenantId,
    start_ms: m.start,
    end_ms: m.end,
    name: m.name,
    description: m.description,
    created_ms: m.createdAt,
    deleted_ms: m.deletedAt,
    tiers: jsonText(m.tiers),
    time_of_use: jsonText(m.timeOfUse),
  });
}

export function updateMapping(tx: SqlExecutor, m: MappingRow): Promise<void> {
  return mappings.update(tx, m.mappingId, {
    value: m.value,
    map_type: m.type,
    cost: m.cost,
    group_id: m.groupId,
    start_ms: m.start,
    end_ms: m.end,
    name: m.name,
    description: m.description,
    deleted_ms: m.deletedAt,
    tiers: jsonText(m.tiers),
    time_of_use: jsonText(m.timeOfUse),
  });
}

/** Live mappings with the same parent, value, group and tenant: the candidates for an overlap. */
export function siblingMappings(
  tx: SqlExecutor,
  m: Pick<MappingRow, "serviceId" | "fieldId" | "value" | "groupId" | "tenantId">,
): Promise<MappingRow[]> {
  return mappings.select(
    tx,
    `WHERE deleted_ms IS NULL AND COALESCE(service_id, field_id) = ? AND COALESCE(value, '') = ?
       AND COALESCE(group_id, '') = ? AND COALESCE(tenant_id, '') = ?`,
    [(m.serviceId ?? m.fieldId) as string, m.value ?? "", m.groupId ?? "", m.tenantId ?? ""],
  );
}

/** The live mappings of this name (a published price list ends one and starts its successor under the same name). */
export function liveMappingsNamed(tx: SqlExecutor, name: string): Promise<MappingRow[]> {
  return mappings.select(tx, "WHERE name = ? AND deleted_ms IS NULL ORDER BY seq", [name]);
}

export interface MappingFilter extends ThresholdFilter, WindowFilter {}

export function listMappings(tx: SqlExecutor, f: MappingFilter, page: Page): Promise<MappingRow[]> {
  return windowFilter(byParent(mappings, f, page), f).all(tx);
}

// Thresholds.

export function thresholdAtLevel(
  tx: SqlExecutor,
  parentId: string,
  tenantId: string | null,
  levelKey: string,
): Promise<ThresholdRow | undefined> {
  return thresholds.first(tx, "COALESCE(service_id, field_id) = ? AND COALESCE(tenant_id, '') = ? AND level_key = ?", [
    parentId,
    tenantId ?? "",
    levelKey,
  ]);
}

export function insertThreshold(tx: SqlExecutor, t: Omit<ThresholdRow, "seq">, levelKey: string): Promise<ThresholdRow> {
  return thresholds.insert(tx, {
    threshold_id: t.thresholdId,
    service_id: t.serviceId,
    field_id: t.fieldId,
    level: t.level,
    level_key: levelKey,
    map_type: t.type,
    cost: t.cost,
    group_id: t.groupId,
    tenant_id: t.tenantId,
  });
}

export function updateThreshold(tx: SqlExecutor, t: ThresholdRow, levelKey: string): Promise<void> {
  return thresholds.update(tx, t.thresholdId, { level: t.level, level_key: levelKey, map_type: t.type, cost: t.cost, group_id: t.groupId });
}

export interface ThresholdFilter {
  serviceId: string;
  fieldId: string;
  groupId: string;
  noGroup: boolean;
  tenantId: string;
}

export function listThresholds(tx: SqlExecutor, f: ThresholdFilter, page: Page): Promise<ThresholdRow[]> {
  return byParent(thresholds, f, page).all(tx);
}

/** The filters of mappings and thresholds alike. */
function byParent<T>(table: Table<T>, f: ThresholdFilter, page: Page): PagedSelect<T> {
  const q = table.page(page).eq("service_id", f.serviceId).eq("field_id", f.fieldId).eq("group_id", f.groupId).eq("tenant_id", f.tenantId);
  return f.noGroup ? q.where("group_id IS NULL") : q;
}
