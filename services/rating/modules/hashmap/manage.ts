/**
 * Managing hashmap price lists with CloudKitty's rules (cloudkitty.md §4.2):
 * what may be created, changed or deleted, checked inside the write
 * transaction so that a refused request changes nothing and two replicas
 * cannot both pass a uniqueness check. Inputs arrive validated field by
 * field (api.ts); this layer checks them against the stored state.
 */
import { randomUUID } from "node:crypto";
import { AlreadyExistsError, InvalidArgumentError } from "../../../../libs/errors/errors.js";
import { Decimal } from "../../../../libs/money/decimal.js";
import { PriceListManager } from "../../price-list-manager.js";
import type { SqlExecutor } from "../../store/sql.js";
import type { Page, Table } from "../../store/table.js";
import { isoTime as iso, overlaps, ValidityRules } from "../../validity.js";
import { levelKey } from "./entries.js";
import type { FieldRow, GroupRow, MappingRow, MapType, ServiceRow, ThresholdRow } from "./model.js";
import * as repo from "./repository.js";
import { shapeProblem, type Tiers, type TimeOfUse } from "./tiers.js";

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
  tiers: Tiers | null;
  timeOfUse: TimeOfUse | null;
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
  tiers?: Tiers | undefined;
  timeOfUse?: TimeOfUse | undefined;
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

/** A mapping's validity window follows the rules of validity.ts. */
const WINDOW = new ValidityRules("mapping");

interface Named {
  name: string;
}

/** Services, fields and groups: rows with a name that is unique in its scope (a field's service; the others have none: ""). */
interface NamedKind<T extends Named> {
  table: Table<T>;
  /** The row named `name` in the scope, if any. */
  named(tx: SqlExecutor, name: string, scope: string): Promise<T | undefined>;
  scope(row: T): string;
  /** The refusal when `name` is taken by `clash`. */
  taken(name: string, scope: string, clash: T): string;
  /** Where the scope is a row of another table (a field's service): that table, and the column that holds its id. */
  parent?: { table: Table<unknown>; column: string };
}

const SERVICES: NamedKind<ServiceRow> = {
  table: repo.services,
  named: (tx, name) => repo.serviceNamed(tx, name),
  scope: () => "",
  taken: (name, _, clash) => `hashmap service ${JSON.stringify(name)} already exists (${clash.serviceId})`,
};

const FIELDS: NamedKind<FieldRow> = {
  table: repo.fields,
  named: (tx, name, serviceId) => repo.fieldNamed(tx, serviceId, name),
  scope: (f) => f.serviceId,
  taken: (name, serviceId, clash) => `field ${JSON.stringify(name)} of service ${serviceId} already exists (${clash.fieldId})`,
  parent: { table: repo.services, column: "service_id" },
};

const GROUPS: NamedKind<GroupRow> = {
  table: repo.groups,
  named: (tx, name) => repo.groupNamed(tx, name),
  scope: () => "",
  taken: (name, _, clash) => `group ${JSON.stringify(name)} already exists (${clash.groupId})`,
};

export class HashmapManager extends PriceListManager {
  protected readonly conflict = "an equal rule was created at the same time; list the rules and retry";

  /** The row with this id, or NOT_FOUND naming the id field. */
  private get<T>(table: Table<T>, id: string): Promise<T> {
    return this.db.read((tx) => table.must(tx, id));
  }

  /** A new service, field or group, unless its name is taken in its scope (a field's service, which must exist). */
  private create<T extends Named>(kind: NamedKind<T>, name: string, scope = ""): Promise<T> {
    return this.write(async (tx) => {
      const parent = kind.parent;
      if (parent !== undefined) await parent.table.must(tx, scope);
      const existing = await kind.named(tx, name, scope);
      if (existing !== undefined) throw new AlreadyExistsError(kind.taken(name, scope, existing));
      const id = randomUUID();
      return kind.table.insert(
        tx,
        parent === undefined ? { [kind.table.idColumn]: id, name } : { [kind.table.idColumn]: id, [parent.column]: scope, name },
      );
    });
  }

  /** Renames a service, field or group, unless the new name is taken (in its scope); no name: unchanged. */
  private rename<T extends Named>(kind: NamedKind<T>, id: string, name: string | undefined): Promise<T> {
    return this.write(async (tx) => {
      const row = await kind.table.must(tx, id);
      if (name === undefined || name === row.name) return row;
      const scope = kind.scope(row);
      const clash = await kind.named(tx, name, scope);
      if (clash !== undefined) throw new AlreadyExistsError(kind.taken(name, scope, clash));
      await kind.table.update(tx, id, { name });
      return { ...row, name };
    });
  }

  private remove<T>(table: Table<T>, id: string): Promise<void> {
    return this.write(async (tx) => {
      await table.must(tx, id);
      await table.delete(tx, id);
    });
  }

  // Services.

  createService(name: string): Promise<ServiceRow> {
    return this.create(SERVICES, name);
  }

  getService(id: string): Promise<ServiceRow> {
    return this.get(repo.services, id);
  }

  listServices(name: string, page: Page): Promise<ServiceRow[]> {
    return this.db.read((tx) => repo.listServices(tx, name, page));
  }

  updateService(id: string, name: string | undefined): Promise<ServiceRow> {
    return this.rename(SERVICES, id, name);
  }

  deleteService(id: string): Promise<void> {
    return this.remove(repo.services, id);
  }

  // Fields.

  createField(serviceId: string, name: string): Promise<FieldRow> {
    return this.create(FIELDS, name, serviceId);
  }

  getField(id: string): Promise<FieldRow> {
    return this.get(repo.fields, id);
  }

  listFields(serviceId: string, page: Page): Promise<FieldRow[]> {
    return this.db.read((tx) => repo.listFields(tx, serviceId, page));
  }

  updateField(id: string, name: string | undefined): Promise<FieldRow> {
    return this.rename(FIELDS, id, name);
  }

  deleteField(id: string): Promise<void> {
    return this.remove(repo.fields, id);
  }

  // Groups.

  createGroup(name: string): Promise<GroupRow> {
    return this.create(GROUPS, name);
  }

  getGroup(id: string): Promise<{ group: GroupRow; mappings: MappingRow[]; thresholds: ThresholdRow[] }> {
    return this.db.read(async (tx) => {
      const group = await repo.groups.must(tx, id);
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
    return this.db.read((tx) => repo.groups.page(page).all(tx));
  }

  updateGroup(id: string, name: string | undefined): Promise<GroupRow> {
    return this.rename(GROUPS, id, name);
  }

  deleteGroup(id: string, recursive: boolean): Promise<void> {
    return this.write(async (tx) => {
      await repo.groups.must(tx, id);
      await repo.deleteGroup(tx, id, recursive, this.clock.now().getTime());
    });
  }

  // Mappings.

  createMapping(input: CreateMappingInput): Promise<MappingRow> {
    return this.write(async (tx) => {
      await mustParent(tx, input);
      if (input.groupId !== null) await repo.groups.must(tx, input.groupId);
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
        tiers: input.tiers,
        timeOfUse: input.timeOfUse,
      };
      checkShape(row);
      await checkUniqueMapping(tx, row);
      return repo.insertMapping(tx, row);
    });
  }

  getMapping(id: string): Promise<MappingRow> {
    return this.get(repo.mappings, id);
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
      const current = await repo.mappings.must(tx, input.mappingId);
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
            tiers: input.tiers ?? current.tiers ?? null,
            timeOfUse: input.timeOfUse ?? current.timeOfUse ?? null,
          };
          checkShape(next);
          if (next.fieldId !== null && (next.value === null || next.value === ""))
            throw new InvalidArgumentError("value", "is required for a field mapping");
          if (next.serviceId !== null && next.value !== null) throw new InvalidArgumentError("value", "a service mapping has no value");
          if (next.groupId !== null && next.groupId !== current.groupId) await repo.groups.must(tx, next.groupId);
          return next;
        },
        check: (next) => checkUniqueMapping(tx, next),
        save: (next) => repo.updateMapping(tx, next),
      });
    });
  }

  deleteMapping(id: string): Promise<void> {
    return this.write(async (tx) => {
      const current = await repo.mappings.must(tx, id);
      await repo.updateMapping(tx, WINDOW.deleted(current, id, this.clock.now().getTime()));
    });
  }

  // Thresholds.

  createThreshold(input: CreateThresholdInput): Promise<ThresholdRow> {
    return this.write(async (tx) => {
      await mustParent(tx, input);
      if (input.groupId !== null) await repo.groups.must(tx, input.groupId);
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
    return this.get(repo.thresholds, id);
  }

  listThresholds(filter: repo.ThresholdFilter, page: Page): Promise<ThresholdRow[]> {
    return this.db.read((tx) => repo.listThresholds(tx, filter, page));
  }

  updateThreshold(input: UpdateThresholdInput): Promise<ThresholdRow> {
    return this.write(async (tx) => {
      const current = await repo.thresholds.must(tx, input.thresholdId);
      const next: ThresholdRow = {
        ...current,
        level: input.level?.text ?? current.level,
        type: input.type ?? current.type,
        cost: input.cost ?? current.cost,
        groupId: input.groupId === undefined ? current.groupId : input.groupId,
      };
      if (next.groupId !== null && next.groupId !== current.groupId) await repo.groups.must(tx, next.groupId);
      const key = levelKey(input.level?.value ?? parseLevel(current.level));
      if (input.level !== undefined) {
        await checkUniqueLevel(tx, (current.serviceId ?? current.fieldId) as string, current.tenantId, key, current.thresholdId);
      }
      await repo.updateThreshold(tx, next, key);
      return next;
    });
  }

  deleteThreshold(id: string): Promise<void> {
    return this.remove(repo.thresholds, id);
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
  if (input.tiers !== undefined && JSON.stringify(input.tiers) !== JSON.stringify(current.tiers ?? null)) out.push("tiers");
  if (input.timeOfUse !== undefined && JSON.stringify(input.timeOfUse) !== JSON.stringify(current.timeOfUse ?? null))
    out.push("time_of_use");
  return out;
}

function checkShape(m: Parameters<typeof shapeProblem>[0]): void {
  const p = shapeProblem(m);
  if (p !== undefined) throw new InvalidArgumentError(p.field, p.problem);
}

async function checkUniqueMapping(tx: SqlExecutor, m: Omit<MappingRow, "seq">): Promise<void> {
  if (m.name !== null) {
    // A name names one mapping at any instant: taken if another live mapping of that name shares an instant with this one.
    const named = (await repo.liveMappingsNamed(tx, m.name)).find(
      (n) => n.mappingId !== m.mappingId && overlaps(n.start, n.end, m.start, m.end),
    );
    if (named !== undefined) {
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

async function mustParent(tx: SqlExecutor, p: Parent): Promise<void> {
  if (p.serviceId !== null) await repo.services.must(tx, p.serviceId);
  else await repo.fields.must(tx, p.fieldId as string);
}
