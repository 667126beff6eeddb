/**
 * Managing hashmap price lists with CloudKitty's rules (cloudkitty.md §4.2):
 * what may be created, changed or deleted, checked inside the write
 * transaction so that a refused request changes nothing and two replicas
 * cannot both pass a uniqueness check. Inputs arrive validated field by
 * field (api.ts); this layer checks them against the stored state.
 */
import { randomUUID } from "node:crypto";
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from "../../../../libs/errors/errors.js";
import { Decimal } from "../../../../libs/money/decimal.js";
import type { Clock } from "../../../../libs/time/period.js";
import { isUniqueViolation, type Page, type SqlDatabase, type SqlExecutor } from "../../store/sql.js";
import { isoTime as iso, overlaps, ValidityRules } from "../../validity.js";
import { levelKey } from "./entries.js";
import type { FieldRow, GroupRow, MappingRow, MapType, ServiceRow, ThresholdRow } from "./model.js";
import * as repo from "./repository.js";

export interface Parent {
  serviceId: string | null;
  fieldId: string | null;
}

export interface CreateMappingInput extends Parent {
  value: string | null;
  type: MapType;
  cost: string;
  groupId: string | null;
  tenantId: string | null;
  start: Date | undefined;
  end: Date | undefined;
  name: string | null;
  description: string;
  force: boolean;
}

export interface UpdateMappingInput {
  mappingId: string;
  value?: string | undefined;
  type?: MapType | undefined;
  cost?: string | undefined;
  /** null: move to _DEFAULT_. */
  groupId?: string | null | undefined;
  start?: Date | undefined;
  end?: Date | undefined;
  name?: string | null | undefined;
  description?: string | undefined;
}

export interface CreateThresholdInput extends Parent {
  level: Decimal;
  levelText: string;
  type: MapType;
  cost: string;
  groupId: string | null;
  tenantId: string | null;
}

export interface UpdateThresholdInput {
  thresholdId: string;
  level?: { value: Decimal; text: string } | undefined;
  type?: MapType | undefined;
  cost?: string | undefined;
  groupId?: string | null | undefined;
}

/** Called with the new version after every committed change, so this replica sees it at once. */
export type OnChange = (version: number) => Promise<void>;

/** A mapping's validity window follows the rules of validity.ts. */
const WINDOW = new ValidityRules("mapping");

export class HashmapManager {
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
    private readonly onChange: OnChange,
  ) {}

  private async write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let out: { result: T; version: number };
    try {
      out = await this.db.write(fn);
    } catch (err) {
      // The checks run first; this only happens when a replica slipped in between.
      if (isUniqueViolation(err)) throw new AlreadyExistsError("an equal rule was created at the same time; list the rules and retry");
      throw err;
    }
    await this.onChange(out.version);
    return out.result;
  }

  // Services.

  createService(name: string): Promise<ServiceRow> {
    return this.write(async (tx) => {
      const existing = await repo.findServiceByName(tx, name);
      if (existing !== undefined)
        throw new AlreadyExistsError(`hashmap service ${JSON.stringify(name)} already exists (${existing.serviceId})`);
      return repo.insertService(tx, randomUUID(), name);
    });
  }

  getService(id: string): Promise<ServiceRow> {
    return this.db.read((tx) => mustService(tx, id, "service_id"));
  }

  listServices(name: string, page: Page): Promise<ServiceRow[]> {
    return this.db.read((tx) => repo.listServices(tx, name, page));
  }

  updateService(id: string, name: string | undefined): Promise<ServiceRow> {
    return this.write(async (tx) => {
      const s = await mustService(tx, id, "service_id");
      if (name === undefined || name === s.name) return s;
      const clash = await repo.findServiceByName(tx, name);
      if (clash !== undefined) throw new AlreadyExistsError(`hashmap service ${JSON.stringify(name)} already exists (${clash.serviceId})`);
      await repo.renameService(tx, id, name);
      return { ...s, name };
    });
  }

  deleteService(id: string): Promise<void> {
    return this.write(async (tx) => {
      await mustService(tx, id, "service_id");
      await repo.deleteService(tx, id);
    });
  }

  // Fields.

  createField(serviceId: string, name: string): Promise<FieldRow> {
    return this.write(async (tx) => {
      await mustService(tx, serviceId, "service_id");
      const existing = await repo.findField(tx, serviceId, name);
      if (existing !== undefined) {
        throw new AlreadyExistsError(`field ${JSON.stringify(name)} of service ${serviceId} already exists (${existing.fieldId})`);
      }
      return repo.insertField(tx, randomUUID(), serviceId, name);
    });
  }

  getField(id: string): Promise<FieldRow> {
    return this.db.read((tx) => mustField(tx, id, "field_id"));
  }

  listFields(serviceId: string, page: Page): Promise<FieldRow[]> {
    return this.db.read((tx) => repo.listFields(tx, serviceId, page));
  }

  updateField(id: string, name: string | undefined): Promise<FieldRow> {
    return this.write(async (tx) => {
      const f = await mustField(tx, id, "field_id");
      if (name === undefined || name === f.name) return f;
      const clash = await repo.findField(tx, f.serviceId, name);
      if (clash !== undefined)
        throw new AlreadyExistsError(`field ${JSON.stringify(name)} of service ${f.serviceId} already exists (${clash.fieldId})`);
      await repo.renameField(tx, id, name);
      return { ...f, name };
    });
  }

  deleteField(id: string): Promise<void> {
    return this.write(async (tx) => {
      await mustField(tx, id, "field_id");
      await repo.deleteField(tx, id);
    });
  }

  // Groups.

  createGroup(name: string): Promise<GroupRow> {
    return this.write(async (tx) => {
      const existing = await repo.findGroupByName(tx, name);
      if (existing !== undefined) throw new AlreadyExistsError(`group ${JSON.stringify(name)} already exists (${existing.groupId})`);
      return repo.insertGroup(tx, randomUUID(), name);
    });
  }

  getGroup(id: string): Promise<{ group: GroupRow; mappings: MappingRow[]; thresholds: ThresholdRow[] }> {
    return this.db.read(async (tx) => {
      const group = await mustGroup(tx, id, "group_id");
      const all = { afterSeq: 0, limit: 1_000_000 };
      const mappings = await repo.listMappings(
        tx,
        { serviceId: "", fieldId: "", groupId: id, noGroup: false, tenantId: "", includeDeleted: false, activeAt: undefined },
        all,
      );
      const thresholds = await repo.listThresholds(tx, { serviceId: "", fieldId: "", groupId: id, noGroup: false, tenantId: "" }, all);
      return { group, mappings, thresholds };
    });
  }

  listGroups(page: Page): Promise<GroupRow[]> {
    return this.db.read((tx) => repo.listGroups(tx, page));
  }

  updateGroup(id: string, name: string | undefined): Promise<GroupRow> {
    return this.write(async (tx) => {
      const g = await mustGroup(tx, id, "group_id");
      if (name === undefined || name === g.name) return g;
      const clash = await repo.findGroupByName(tx, name);
      if (clash !== undefined) throw new AlreadyExistsError(`group ${JSON.stringify(name)} already exists (${clash.groupId})`);
      await repo.renameGroup(tx, id, name);
      return { ...g, name };
    });
  }

  deleteGroup(id: string, recursive: boolean): Promise<void> {
    return this.write(async (tx) => {
      await mustGroup(tx, id, "group_id");
      await repo.deleteGroup(tx, id, recursive, this.clock.now().getTime());
    });
  }

  // Mappings.

  createMapping(input: CreateMappingInput): Promise<MappingRow> {
    return this.write(async (tx) => {
      await mustParent(tx, input);
      if (input.groupId !== null) await mustGroup(tx, input.groupId, "group_id");
      const now = this.clock.now().getTime();
      const { start, end } = WINDOW.created(input.start, input.end, input.force, now);
      const row: Omit<MappingRow, "seq"> = {
        mappingId: randomUUID(),
        serviceId: input.serviceId,
        fieldId: input.fieldId,
        value: input.value,
        type: input.type,
        cost: input.cost,
        groupId: input.groupId,
        tenantId: input.tenantId,
        start,
        end,
        name: input.name,
        description: input.description,
        createdAt: now,
        deletedAt: null,
      };
      await checkUniqueMapping(tx, row);
      return repo.insertMapping(tx, row);
    });
  }

  getMapping(id: string): Promise<MappingRow> {
    return this.db.read((tx) => mustMapping(tx, id, "mapping_id"));
  }

  listMappings(filter: repo.MappingFilter, page: Page): Promise<MappingRow[]> {
    return this.db.read((tx) => repo.listMappings(tx, filter, page));
  }

  /**
   * The window rules (validity.ts): a mapping that has started may only get
   * an end. A mapping not started yet may change anything but its parent
   * and project.
   */
  updateMapping(input: UpdateMappingInput): Promise<MappingRow> {
    return this.write(async (tx) => {
      const current = await mustMapping(tx, input.mappingId, "mapping_id");
      return WINDOW.updated(current, current.mappingId, this.clock.now().getTime(), {
        changed: changedFields(current, input),
        end: input.end,
        next: async () => {
          const next: MappingRow = {
            ...current,
            value: input.value ?? current.value,
            type: input.type ?? current.type,
            cost: input.cost ?? current.cost,
            groupId: input.groupId === undefined ? current.groupId : input.groupId,
            start: input.start?.getTime() ?? current.start,
            end: input.end === undefined ? current.end : input.end.getTime(),
            name: input.name === undefined ? current.name : input.name,
            description: input.description ?? current.description,
          };
          if (next.fieldId !== null && (next.value === null || next.value === ""))
            throw new InvalidArgumentError("value", "is required for a field mapping");
          if (next.serviceId !== null && next.value !== null) throw new InvalidArgumentError("value", "a service mapping has no value");
          if (next.groupId !== null && next.groupId !== current.groupId) await mustGroup(tx, next.groupId, "group_id");
          return next;
        },
        check: (next) => checkUniqueMapping(tx, next),
        save: (next) => repo.updateMapping(tx, next),
      });
    });
  }

  deleteMapping(id: string): Promise<void> {
    return this.write(async (tx) => {
      const current = await mustMapping(tx, id, "mapping_id");
      await repo.updateMapping(tx, WINDOW.deleted(current, id, this.clock.now().getTime()));
    });
  }

  // Thresholds.

  createThreshold(input: CreateThresholdInput): Promise<ThresholdRow> {
    return this.write(async (tx) => {
      await mustParent(tx, input);
      if (input.groupId !== null) await mustGroup(tx, input.groupId, "group_id");
      const key = levelKey(input.level);
      await checkUniqueLevel(tx, (input.serviceId ?? input.fieldId) as string, input.tenantId, key, undefined);
      return repo.insertThreshold(
        tx,
        {
          thresholdId: randomUUID(),
          serviceId: input.serviceId,
          fieldId: input.fieldId,
          level: input.levelText,
          type: input.type,
          cost: input.cost,
          groupId: input.groupId,
          tenantId: input.tenantId,
        },
        key,
      );
    });
  }

  getThreshold(id: string): Promise<ThresholdRow> {
    return this.db.read((tx) => mustThreshold(tx, id, "threshold_id"));
  }

  listThresholds(filter: repo.ThresholdFilter, page: Page): Promise<ThresholdRow[]> {
    return this.db.read((tx) => repo.listThresholds(tx, filter, page));
  }

  updateThreshold(input: UpdateThresholdInput): Promise<ThresholdRow> {
    return this.write(async (tx) => {
      const current = await mustThreshold(tx, input.thresholdId, "threshold_id");
      const next: ThresholdRow = {
        ...current,
        level: input.level?.text ?? current.level,
        type: input.type ?? current.type,
        cost: input.cost ?? current.cost,
        groupId: input.groupId === undefined ? current.groupId : input.groupId,
      };
      if (next.groupId !== null && next.groupId !== current.groupId) await mustGroup(tx, next.groupId, "group_id");
      const key = levelKey(input.level?.value ?? parseLevel(current.level));
      if (input.level !== undefined) {
        await checkUniqueLevel(tx, (current.serviceId ?? current.fieldId) as string, current.tenantId, key, current.thresholdId);
      }
      await repo.updateThreshold(tx, next, key);
      return next;
    });
  }

  deleteThreshold(id: string): Promise<void> {
    return this.write(async (tx) => {
      await mustThreshold(tx, id, "threshold_id");
      await repo.deleteThreshold(tx, id);
    });
  }
}

/** Levels are stored validated: re-parsing one cannot fail. */
function parseLevel(text: string): Decimal {
  return Decimal.parse(text);
}

/** The fields of an update that differ from the stored mapping (same value given again is no change, as upstream). */
function changedFields(current: MappingRow, input: UpdateMappingInput): string[] {
  const out: string[] = [];
  if (input.value !== undefined && input.value !== current.value) out.push("value");
  if (input.type !== undefined && input.type !== current.type) out.push("type");
  if (input.cost !== undefined && !Decimal.parse(input.cost).eq(Decimal.parse(current.cost))) out.push("cost");
  if (input.groupId !== undefined && input.groupId !== current.groupId) out.push("group_id");
  if (input.start !== undefined && input.start.getTime() !== current.start) out.push("start");
  if (input.end !== undefined && input.end.getTime() !== current.end) out.push("end");
  if (input.name !== undefined && input.name !== current.name) out.push("name");
  if (input.description !== undefined && input.description !== current.description) out.push("description");
  return out;
}

async function checkUniqueMapping(tx: SqlExecutor, m: Omit<MappingRow, "seq">): Promise<void> {
  if (m.name !== null) {
    const named = await repo.liveMappingNamed(tx, m.name);
    if (named !== undefined && named.mappingId !== m.mappingId) {
      throw new AlreadyExistsError(`a mapping named ${JSON.stringify(m.name)} already exists (${named.mappingId})`);
    }
  }
  for (const s of await repo.siblingMappings(tx, m)) {
    if (s.mappingId === m.mappingId) continue;
    if (overlaps(s.start, s.end, m.start, m.end)) {
      const what = m.value === null ? "a service mapping" : `a mapping for value ${JSON.stringify(m.value)}`;
      throw new AlreadyExistsError(
        `${what} of this ${m.serviceId !== null ? "service" : "field"}, group and project is already in force from ${iso(s.start)}${
          s.end === null ? " on" : ` to ${iso(s.end)}`
        } (${s.mappingId}); end-date it first`,
      );
    }
  }
}

async function checkUniqueLevel(
  tx: SqlExecutor,
  parentId: string,
  tenantId: string | null,
  key: string,
  self: string | undefined,
): Promise<void> {
  const clash = await repo.thresholdAtLevel(tx, parentId, tenantId, key);
  if (clash !== undefined && clash.thresholdId !== self) {
    throw new AlreadyExistsError(`a threshold at level ${clash.level} already exists for this parent and project (${clash.thresholdId})`);
  }
}

async function mustService(tx: SqlExecutor, id: string, field: string): Promise<ServiceRow> {
  const s = await repo.getService(tx, id);
  if (s === undefined) throw new NotFoundError(`${field}: hashmap service`, id);
  return s;
}

async function mustField(tx: SqlExecutor, id: string, field: string): Promise<FieldRow> {
  const f = await repo.getField(tx, id);
  if (f === undefined) throw new NotFoundError(`${field}: field`, id);
  return f;
}

async function mustGroup(tx: SqlExecutor, id: string, field: string): Promise<GroupRow> {
  const g = await repo.getGroup(tx, id);
  if (g === undefined) throw new NotFoundError(`${field}: group`, id);
  return g;
}

async function mustMapping(tx: SqlExecutor, id: string, field: string): Promise<MappingRow> {
  const m = await repo.getMapping(tx, id);
  if (m === undefined) throw new NotFoundError(`${field}: mapping`, id);
  return m;
}

async function mustThreshold(tx: SqlExecutor, id: string, field: string): Promise<ThresholdRow> {
  const t = await repo.getThreshold(tx, id);
  if (t === undefined) throw new NotFoundError(`${field}: threshold`, id);
  return t;
}

async function mustParent(tx: SqlExecutor, p: Parent): Promise<void> {
  if (p.serviceId !== null) await mustService(tx, p.serviceId, "service_id");
  else await mustField(tx, p.fieldId as string, "field_id");
}
