/**
 * The rules in force for one scope at one instant, keyed the way CloudKitty's
 * HashMap loader keys them (README steps 1-2). JS Maps keep insertion order
 * and `set` on an existing key keeps its position, exactly like Python dicts
 * and `dict.update`, so iteration orders (which decide the order of rounded
 * multiplications and sums) are the same as upstream's.
 */
import { Decimal } from "../../../../libs/money/decimal.js";
import { inForce } from "../../validity.js";
import { DEFAULT_GROUP, type HashmapData, type MappingRow, type MapType, type ThresholdRow } from "./model.js";
import { type ParsedTiers, parseTiers, touWindow } from "./tiers.js";

export interface RuleRef {
  type: MapType;
  cost: Decimal;
  /** The mapping or threshold id, for Explain. */
  id: string;
  tenantId: string | null;
  /** A tiered service mapping: its group is priced by the tiers alone (tiers.ts). */
  tiers?: ParsedTiers;
  /** A time-of-use mapping: which cost applies at the instant, for Explain. */
  timeOfUse?: string;
}

export interface LevelRule extends RuleRef {
  level: Decimal;
}

/** group → (level key → rule). Level keys compare by value: 64 and 64.0 are one key. */
export type ThresholdGroups = Map<string, Map<string, LevelRule>>;

export interface FieldEntries {
  fieldId: string;
  name: string;
  /** group → (value → rule). */
  mappings: Map<string, Map<string, RuleRef>>;
  thresholds: ThresholdGroups;
}

export interface ServiceEntries {
  serviceId: string;
  name: string;
  /** group → the one service mapping of that group. */
  mappings: Map<string, RuleRef>;
  thresholds: ThresholdGroups;
  /** In creation order. */
  fields: FieldEntries[];
}

export type Entries = Map<string, ServiceEntries>;

/** Parsed costs and levels, shared by every view of one snapshot. */
export class ParsedRows {
  private readonly costs = new Map<string, Decimal>();

  cost(text: string): Decimal {
    let d = this.costs.get(text);
    if (d === undefined) {
      d = Decimal.parse(text);
      this.costs.set(text, d);
    }
    return d;
  }
}

/** The value at key, created by make() if absent. */
export function bucket<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

export function levelKey(level: Decimal): string {
  return level.normalize().toString();
}

/**
 * Loads what CloudKitty's `_load_rates` loads for tenant `tenantId` (empty:
 * global rules only, as a quote) with the mappings active at `at`.
 */
export function loadEntries(data: HashmapData, tenantId: string, at: number, parsed = new ParsedRows()): Entries {
  const groupName = new Map(data.groups.map((g) => [g.groupId, g.name]));
  const nameOf = (groupId: string | null) => (groupId === null ? DEFAULT_GROUP : (groupName.get(groupId) ?? DEFAULT_GROUP));
  const bySeq = <T extends { seq: number }>(rows: T[]) => [...rows].sort((a, b) => a.seq - b.seq);
  // The two passes: global rows, then the tenant's own rows merged on top.
  // A quote (no tenant) runs the global pass twice upstream, which changes nothing.
  const passes: Array<string | null> = tenantId === "" ? [null] : [null, tenantId];

  const mappingsOf = new Map<string, MappingRow[]>();
  for (const m of bySeq(data.mappings)) {
    if (!inForce(m, at)) continue;
    const parent = (m.serviceId ?? m.fieldId) as string;
    bucket(mappingsOf, parent, () => []).push(m);
  }
  const thresholdsOf = new Map<string, ThresholdRow[]>();
  for (const t of bySeq(data.thresholds)) {
    const parent = (t.serviceId ?? t.fieldId) as string;
    bucket(thresholdsOf, parent, () => []).push(t);
  }

  const rule = (r: MappingRow | ThresholdRow, id: string): RuleRef => ({
    type: r.type,
    cost: parsed.cost(r.cost),
    id,
    tenantId: r.tenantId,
  });
  // A mapping's cost at the instant: a time-of-use window's, else its own; a tiered one carries its tiers.
  const mappingRule = (m: MappingRow): RuleRef => {
    const r = rule(m, m.mappingId);
    if (m.timeOfUse) {
      const i = touWindow(m.timeOfUse, at);
      const w = m.timeOfUse.windows[i];
      if (w !== undefined) r.cost = parsed.cost(w.cost);
      r.timeOfUse = `time of use in ${m.timeOfUse.timeZone}: ${w === undefined ? "outside every window, its own cost" : `window ${i + 1}`}`;
    }
    if (m.tiers) r.tiers = parseTiers(m.tiers);
    return r;
  };

  const loadThresholds = (parent: string): ThresholdGroups => {
    const out: ThresholdGroups = new Map();
    for (const tenant of passes) {
      // One pass builds its own dict, then merges it group by group.
      const pass: ThresholdGroups = new Map();
      for (const t of thresholdsOf.get(parent) ?? []) {
        if (t.tenantId !== tenant) continue;
        const g = nameOf(t.groupId);
        const levels = bucket(pass, g, () => new Map<string, LevelRule>());
        const level = parsed.cost(t.level);
        levels.set(levelKey(level), { ...rule(t, t.thresholdId), level });
      }
      mergeGroups(out, pass, (into, from) => {
        for (const [k, v] of from) {
          // dict.update keeps the first key object (its level) and takes the new value.
          const kept = into.get(k);
          into.set(k, kept === undefined ? v : { ...v, level: kept.level });
        }
      });
    }
    return out;
  };

  const entries: Entries = new Map();
  const fieldsOf = new Map<string, Array<{ fieldId: string; name: string }>>();
  for (const f of bySeq(data.fields)) {
    bucket(fieldsOf, f.serviceId, () => []).push(f);
  }
  for (const s of bySeq(data.services)) {
    const mappings = new Map<string, RuleRef>();
    for (const tenant of passes) {
      const pass = new Map<string, RuleRef>();
      for (const m of mappingsOf.get(s.serviceId) ?? []) {
        if (m.tenantId === tenant) pass.set(nameOf(m.groupId), mappingRule(m));
      }
      for (const [g, r] of pass) mappings.set(g, r);
    }
    const fields: FieldEntries[] = [];
    for (const f of fieldsOf.get(s.serviceId) ?? []) {
      const fm = new Map<string, Map<string, RuleRef>>();
      for (const tenant of passes) {
        const pass = new Map<string, Map<string, RuleRef>>();
        for (const m of mappingsOf.get(f.fieldId) ?? []) {
          if (m.tenantId !== tenant) continue;
          const g = nameOf(m.groupId);
          bucket(pass, g, () => new Map<string, RuleRef>()).set(m.value ?? "", mappingRule(m));
        }
        mergeGroups(fm, pass, (into, from) => {
          for (const [k, v] of from) into.set(k, v);
        });
      }
      fields.push({ fieldId: f.fieldId, name: f.name, mappings: fm, thresholds: loadThresholds(f.fieldId) });
    }
    // Two services cannot share a name (unique), so a later one never hides an earlier one.
    entries.set(s.name, { serviceId: s.serviceId, name: s.name, mappings, thresholds: loadThresholds(s.serviceId), fields });
  }
  return entries;
}

/** `res[group].update(values)` if the group is there, else `res[group] = values`. */
function mergeGroups<V extends Map<string, unknown>>(into: Map<string, V>, from: Map<string, V>, update: (into: V, from: V) => void): void {
  for (const [g, values] of from) {
    const existing = into.get(g);
    if (existing === undefined) into.set(g, values);
    else update(existing, values);
  }
}
