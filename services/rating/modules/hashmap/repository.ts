/**
 * SQL on the hashmap tables, the same for SQLite and PostgreSQL. No
 * validation here: manage.ts decides, inside one write transaction, what may
 * be written.
 */
import { num, numOrNull, type Page, PagedSelect, type SqlExecutor, strOrNull } from "../../store/sql.js";
import { type WindowFilter, windowFilter } from "../../validity.js";
import type { FieldRow, GroupRow, HashmapData, MappingRow, MapType, ServiceRow, ThresholdRow } from "./model.js";

type R = Record<string, unknown>;

const SERVICE_COLS = "seq, service_id, name";
const FIELD_COLS = "seq, field_id, service_id, name";
const GROUP_COLS = "seq, group_id, name";
const MAPPING_COLS =
  "seq, mapping_id, service_id, field_id, value, map_type, cost, group_id, tenant_id, start_ms, end_ms, name, description, created_ms, deleted_ms";
const THRESHOLD_COLS = "seq, threshold_id, service_id, field_id, level, map_type, cost, group_id, tenant_id";

function service(r: R): ServiceRow {
  return { seq: num(r.seq), serviceId: String(r.service_id), name: String(r.name) };
}

function field(r: R): FieldRow {
  return { seq: num(r.seq), fieldId: String(r.field_id), serviceId: String(r.service_id), name: String(r.name) };
}

function group(r: R): GroupRow {
  return { seq: num(r.seq), groupId: String(r.group_id), name: String(r.name) };
}

function mapping(r: R): MappingRow {
  return {
    seq: num(r.seq),
    mappingId: String(r.mapping_id),
    serviceId: strOrNull(r.service_id),
    fieldId: strOrNull(r.field_id),
    value: strOrNull(r.value),
    type: r.map_type as MapType,
    cost: String(r.cost),
    groupId: strOrNull(r.group_id),
    tenantId: strOrNull(r.tenant_id),
    start: num(r.start_ms),
    end: numOrNull(r.end_ms),
    name: strOrNull(r.name),
    description: String(r.description ?? ""),
    createdAt: num(r.created_ms),
    deletedAt: numOrNull(r.deleted_ms),
  };
}

function threshold(r: R): ThresholdRow {
  return {
    seq: num(r.seq),
    thresholdId: String(r.threshold_id),
    serviceId: strOrNull(r.service_id),
    fieldId: strOrNull(r.field_id),
    level: String(r.level),
    type: r.map_type as MapType,
    cost: String(r.cost),
    groupId: strOrNull(r.group_id),
    tenantId: strOrNull(r.tenant_id),
  };
}

/** Every row pricing can use (deleted mappings left out), for the in-memory index. */
export async function loadHashmap(tx: SqlExecutor): Promise<HashmapData> {
  return {
    services: (await tx.all<R>(`SELECT ${SERVICE_COLS} FROM hashmap_services ORDER BY seq`)).map(service),
    fields: (await tx.all<R>(`SELECT ${FIELD_COLS} FROM hashmap_fields ORDER BY seq`)).map(field),
    groups: (await tx.all<R>(`SELECT ${GROUP_COLS} FROM hashmap_groups ORDER BY seq`)).map(group),
    mappings: (await tx.all<R>(`SELECT ${MAPPING_COLS} FROM hashmap_mappings WHERE deleted_ms IS NULL ORDER BY seq`)).map(mapping),
    thresholds: (await tx.all<R>(`SELECT ${THRESHOLD_COLS} FROM hashmap_thresholds ORDER BY seq`)).map(threshold),
  };
}

// Services.

export async function getService(tx: SqlExecutor, id: string): Promise<ServiceRow | undefined> {
  return (await tx.all<R>(`SELECT ${SERVICE_COLS} FROM hashmap_services WHERE service_id = ?`, [id])).map(service)[0];
}

export async function findServiceByName(tx: SqlExecutor, name: string): Promise<ServiceRow | undefined> {
  return (await tx.all<R>(`SELECT ${SERVICE_COLS} FROM hashmap_services WHERE name = ?`, [name])).map(service)[0];
}

export async function insertService(tx: SqlExecutor, id: string, name: string): Promise<ServiceRow> {
  return service(
    (await tx.all<R>(`INSERT INTO hashmap_services (service_id, name) VALUES (?, ?) RETURNING ${SERVICE_COLS}`, [id, name]))[0] as R,
  );
}

export async function renameService(tx: SqlExecutor, id: string, name: string): Promise<void> {
  await tx.run("UPDATE hashmap_services SET name = ? WHERE service_id = ?", [name, id]);
}

export async function deleteService(tx: SqlExecutor, id: string): Promise<void> {
  await tx.run("DELETE FROM hashmap_services WHERE service_id = ?", [id]);
}

export async function listServices(tx: SqlExecutor, name: string, page: Page): Promise<ServiceRow[]> {
  return (await new PagedSelect(`SELECT ${SERVICE_COLS} FROM hashmap_services`, page).eq("name", name).all(tx)).map(service);
}

// Fields.

export async function getField(tx: SqlExecutor, id: string): Promise<FieldRow | undefined> {
  return (await tx.all<R>(`SELECT ${FIELD_COLS} FROM hashmap_fields WHERE field_id = ?`, [id])).map(field)[0];
}

export async function findField(tx: SqlExecutor, serviceId: string, name: string): Promise<FieldRow | undefined> {
  return (await tx.all<R>(`SELECT ${FIELD_COLS} FROM hashmap_fields WHERE service_id = ? AND name = ?`, [serviceId, name])).map(field)[0];
}

export async function insertField(tx: SqlExecutor, id: string, serviceId: string, name: string): Promise<FieldRow> {
  return field(
    (
      await tx.all<R>(`INSERT INTO hashmap_fields (field_id, service_id, name) VALUES (?, ?, ?) RETURNING ${FIELD_COLS}`, [
        id,
        serviceId,
        name,
      ])
    )[0] as R,
  );
}

export async function renameField(tx: SqlExecutor, id: string, name: string): Promise<void> {
  await tx.run("UPDATE hashmap_fields SET name = ? WHERE field_id = ?", [name, id]);
}

export async function deleteField(tx: SqlExecutor, id: string): Promise<void> {
  await tx.run("DELETE FROM hashmap_fields WHERE field_id = ?", [id]);
}

export async function listFields(tx: SqlExecutor, serviceId: string, page: Page): Promise<FieldRow[]> {
  return (await new PagedSelect(`SELECT ${FIELD_COLS} FROM hashmap_fields`, page).eq("service_id", serviceId).all(tx)).map(field);
}

// Groups.

export async function getGroup(tx: SqlExecutor, id: string): Promise<GroupRow | undefined> {
  return (await tx.all<R>(`SELECT ${GROUP_COLS} FROM hashmap_groups WHERE group_id = ?`, [id])).map(group)[0];
}

export async function findGroupByName(tx: SqlExecutor, name: string): Promise<GroupRow | undefined> {
  return (await tx.all<R>(`SELECT ${GROUP_COLS} FROM hashmap_groups WHERE name = ?`, [name])).map(group)[0];
}

export async function insertGroup(tx: SqlExecutor, id: string, name: string): Promise<GroupRow> {
  return group((await tx.all<R>(`INSERT INTO hashmap_groups (group_id, name) VALUES (?, ?) RETURNING ${GROUP_COLS}`, [id, name]))[0] as R);
}

export async function renameGroup(tx: SqlExecutor, id: string, name: string): Promise<void> {
  await tx.run("UPDATE hashmap_groups SET name = ? WHERE group_id = ?", [name, id]);
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
  await tx.run("DELETE FROM hashmap_groups WHERE group_id = ?", [id]);
}

export async function listGroups(tx: SqlExecutor, page: Page): Promise<GroupRow[]> {
  return (await new PagedSelect(`SELECT ${GROUP_COLS} FROM hashmap_groups`, page).all(tx)).map(group);
}

// Mappings.

export async function getMapping(tx: SqlExecutor, id: string): Promise<MappingRow | undefined> {
  return (await tx.all<R>(`SELECT ${MAPPING_COLS} FROM hashmap_mappings WHERE mapping_id = ?`, [id])).map(mapping)[0];
}

export async function insertMapping(tx: SqlExecutor, m: Omit<MappingRow, "seq">): Promise<MappingRow> {
  const rows = await tx.all<R>(
    `INSERT INTO hashmap_mappings (mapping_id, service_id, field_id, value, map_type, cost, group_id, tenant_id, start_ms, end_ms, name, description, created_ms, deleted_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${MAPPING_COLS}`,
    [
      m.mappingId,
      m.serviceId,
      m.fieldId,
      m.value,
      m.type,
      m.cost,
      m.groupId,
      m.tenantId,
      m.start,
      m.end,
      m.name,
      m.description,
      m.createdAt,
      m.deletedAt,
    ],
  );
  return mapping(rows[0] as R);
}

export async function updateMapping(tx: SqlExecutor, m: MappingRow): Promise<void> {
  await tx.run(
    `UPDATE hashmap_mappings SET value = ?, map_type = ?, cost = ?, group_id = ?, start_ms = ?, end_ms = ?, name = ?, description = ?, deleted_ms = ?
     WHERE mapping_id = ?`,
    [m.value, m.type, m.cost, m.groupId, m.start, m.end, m.name, m.description, m.deletedAt, m.mappingId],
  );
}

/** Live mappings with the same parent, value, group and tenant: the candidates for an overlap. */
export async function siblingMappings(
  tx: SqlExecutor,
  m: Pick<MappingRow, "serviceId" | "fieldId" | "value" | "groupId" | "tenantId">,
): Promise<MappingRow[]> {
  const rows = await tx.all<R>(
    `SELECT ${MAPPING_COLS} FROM hashmap_mappings
     WHERE deleted_ms IS NULL AND COALESCE(service_id, field_id) = ? AND COALESCE(value, '') = ?
       AND COALESCE(group_id, '') = ? AND COALESCE(tenant_id, '') = ?`,
    [(m.serviceId ?? m.fieldId) as string, m.value ?? "", m.groupId ?? "", m.tenantId ?? ""],
  );
  return rows.map(mapping);
}

export async function liveMappingNamed(tx: SqlExecutor, name: string): Promise<MappingRow | undefined> {
  return (await tx.all<R>(`SELECT ${MAPPING_COLS} FROM hashmap_mappings WHERE name = ? AND deleted_ms IS NULL`, [name])).map(mapping)[0];
}

export interface MappingFilter extends ThresholdFilter, WindowFilter {}

export async function listMappings(tx: SqlExecutor, f: MappingFilter, page: Page): Promise<MappingRow[]> {
  return (await windowFilter(byParent(`SELECT ${MAPPING_COLS} FROM hashmap_mappings`, f, page), f).all(tx)).map(mapping);
}

// Thresholds.

export async function getThreshold(tx: SqlExecutor, id: string): Promise<ThresholdRow | undefined> {
  return (await tx.all<R>(`SELECT ${THRESHOLD_COLS} FROM hashmap_thresholds WHERE threshold_id = ?`, [id])).map(threshold)[0];
}

export async function thresholdAtLevel(
  tx: SqlExecutor,
  parentId: string,
  tenantId: string | null,
  levelKey: string,
): Promise<ThresholdRow | undefined> {
  return (
    await tx.all<R>(
      `SELECT ${THRESHOLD_COLS} FROM hashmap_thresholds WHERE COALESCE(service_id, field_id) = ? AND COALESCE(tenant_id, '') = ? AND level_key = ?`,
      [parentId, tenantId ?? "", levelKey],
    )
  ).map(threshold)[0];
}

export async function insertThreshold(tx: SqlExecutor, t: Omit<ThresholdRow, "seq">, levelKey: string): Promise<ThresholdRow> {
  const rows = await tx.all<R>(
    `INSERT INTO hashmap_thresholds (threshold_id, service_id, field_id, level, level_key, map_type, cost, group_id, tenant_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${THRESHOLD_COLS}`,
    [t.thresholdId, t.serviceId, t.fieldId, t.level, levelKey, t.type, t.cost, t.groupId, t.tenantId],
  );
  return threshold(rows[0] as R);
}

export async function updateThreshold(tx: SqlExecutor, t: ThresholdRow, levelKey: string): Promise<void> {
  await tx.run("UPDATE hashmap_thresholds SET level = ?, level_key = ?, map_type = ?, cost = ?, group_id = ? WHERE threshold_id = ?", [
    t.level,
    levelKey,
    t.type,
    t.cost,
    t.groupId,
    t.thresholdId,
  ]);
}

export async function deleteThreshold(tx: SqlExecutor, id: string): Promise<void> {
  await tx.run("DELETE FROM hashmap_thresholds WHERE threshold_id = ?", [id]);
}

export interface ThresholdFilter {
  serviceId: string;
  fieldId: string;
  groupId: string;
  noGroup: boolean;
  tenantId: string;
}

export async function listThresholds(tx: SqlExecutor, f: ThresholdFilter, page: Page): Promise<ThresholdRow[]> {
  return (await byParent(`SELECT ${THRESHOLD_COLS} FROM hashmap_thresholds`, f, page).all(tx)).map(threshold);
}

/** The filters of mappings and thresholds alike. */
function byParent(select: string, f: ThresholdFilter, page: Page): PagedSelect {
  const q = new PagedSelect(select, page)
    .eq("service_id", f.serviceId)
    .eq("field_id", f.fieldId)
    .eq("group_id", f.groupId)
    .eq("tenant_id", f.tenantId);
  return f.noGroup ? q.where("group_id IS NULL") : q;
}
