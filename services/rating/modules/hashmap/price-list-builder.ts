/**
 * A hashmap price list built in memory, row after row in creation order
 * (each row's seq is the next number): how the README's examples, the
 * benchmarks and the differential tests write theirs. A rule gets the values
 * a new row gets for what is not given (global, in _DEFAULT_, no name, not
 * deleted, in force from the epoch on) and, without an id, the next of
 * m1, t2, m3...
 */
import type { FieldRow, GroupRow, HashmapData, MappingRow, MapType, ServiceRow, ThresholdRow } from "./model.js";

/** What a mapping and a threshold both have. */
export interface RuleSpec {
  id?: string;
  serviceId?: string | null;
  fieldId?: string | null;
  type: MapType;
  cost: string;
  groupId?: string | null;
  tenantId?: string | null;
}

export interface MappingSpec extends RuleSpec {
  value?: string | null;
  start?: number;
  end?: number | null;
}

export interface ThresholdSpec extends RuleSpec {
  level: string;
}

export class PriceListBuilder {
  readonly data: HashmapData = { services: [], fields: [], groups: [], mappings: [], thresholds: [] };
  private seq = 0;
  private ids = 0;

  service(serviceId: string, name: string): ServiceRow {
    const s = { serviceId, name, seq: ++this.seq };
    this.data.services.push(s);
    return s;
  }

  field(serviceId: string, name: string, fieldId = `${serviceId}-${name}`): FieldRow {
    const f = { fieldId, serviceId, name, seq: ++this.seq };
    this.data.fields.push(f);
    return f;
  }

  group(groupId: string, name: string): GroupRow {
    const g = { groupId, name, seq: ++this.seq };
    this.data.groups.push(g);
    return g;
  }

  mapping(spec: MappingSpec): MappingRow {
    const m: MappingRow = {
      mappingId: spec.id ?? `m${++this.ids}`,
      ...this.rule(spec),
      value: spec.value ?? null,
      start: spec.start ?? 0,
      end: spec.end ?? null,
      name: null,
      description: "",
      createdAt: 0,
      deletedAt: null,
      seq: ++this.seq,
    };
    this.data.mappings.push(m);
    return m;
  }

  threshold(spec: ThresholdSpec): ThresholdRow {
    const t: ThresholdRow = { thresholdId: spec.id ?? `t${++this.ids}`, ...this.rule(spec), level: spec.level, seq: ++this.seq };
    this.data.thresholds.push(t);
    return t;
  }

  private rule(spec: RuleSpec) {
    return {
      serviceId: spec.serviceId ?? null,
      fieldId: spec.fieldId ?? null,
      type: spec.type,
      cost: spec.cost,
      groupId: spec.groupId ?? null,
      tenantId: spec.tenantId ?? null,
    };
  }
}
