/**
 * CloudKitty's HashMap pricing of one point, step by step (README steps
 * 3-8), in the same order of operations and with Python's default decimal
 * context (28 significant digits, ROUND_HALF_EVEN on every operation).
 *
 * This is the reference: Explain uses it (with a trace), the fast path in
 * compiled.ts must give the very same strings (a property test compares
 * them), and the fast path falls back to it whenever its fixed-point
 * arithmetic could not be exact.
 */
import { PYTHON_CONTEXT as ctx, Decimal } from "../../../../libs/money/decimal.js";
import { descSource, descValue, type ExplainStep, type RatingPoint } from "../../domain.js";
import type { LevelRule, RuleRef, ServiceEntries, ThresholdGroups } from "./entries.js";
import type { MapType } from "./model.js";
import { type FieldNumber, fieldReaches, parsePythonDecimal } from "./pydecimal.js";
import { tieredAmount } from "./tiers.js";

/** Python's `int` 0 and 1, which the accumulator starts from (exponent 0). */
const INT0 = Decimal.of(0);
const INT1 = Decimal.of(1);
const MINUS_ONE = Decimal.of(-1);

interface Threshold {
  level: Decimal;
  cost: Decimal;
  type: MapType;
  scope: "field" | "service";
  id: string;
}

interface GroupResult {
  flat: Decimal;
  rate: Decimal;
  threshold: Threshold;
}

/** A field value that has thresholds but is not a number: upstream aborts the period. */
export class FieldValueError extends Error {
  constructor(
    readonly field: string,
    readonly source: "groupby" | "metadata",
    readonly value: string,
    readonly service: string,
  ) {
    super(
      `${JSON.stringify(value)} is not a number, and field ${JSON.stringify(field)} of hashmap service ${JSON.stringify(service)} has thresholds`,
    );
    this.name = "FieldValueError";
  }
}

export type Trace = (step: ExplainStep) => void;

function show(d: Decimal): string {
  return d.toString();
}

/** Reads a field value for thresholds as Python's Decimal() would, or throws FieldValueError. */
export function fieldNumber(
  point: RatingPoint,
  field: string,
  value: string,
  service: string,
): FieldNumber & { kind: "finite" | "infinite" } {
  const n = parsePythonDecimal(value);
  if (n === null || n.kind === "nan") throw new FieldValueError(field, descSource(point, field), value, service);
  return n;
}

/**
 * The point's new price as a decimal string. `entries` is the service the
 * point's type names (undefined: not a hashmap service, the price is kept).
 */
export function priceReference(svc: ServiceEntries | undefined, point: RatingPoint, trace?: Trace, monthToDate?: Decimal): string {
  if (svc === undefined) {
    trace?.({
      group: "",
      kind: "service",
      ruleId: "",
      detail: `no hashmap service named ${JSON.stringify(point.type)}: price kept`,
      value: "",
    });
    return point.price;
  }
  const qty = Decimal.parse(point.qty);
  const res = new Map<string, GroupResult>();
  // A group whose service mapping is tiered is priced by its tiers alone (tiers.ts), after the others.
  const tiered = tieredGroups(svc);
  const touch = (group: string): GroupResult => {
    let r = res.get(group);
    if (r === undefined) {
      r = { flat: INT0, rate: INT1, threshold: { level: MINUS_ONE, cost: INT0, type: "flat", scope: "field", id: "" } };
      res.set(group, r);
    }
    return r;
  };
  const update = (group: string, rule: RuleRef, kind: string, mapping: string) => {
    if (tiered?.has(group)) return;
    const what = rule.timeOfUse === undefined ? mapping : `${mapping} (${rule.timeOfUse})`;
    const r = touch(group);
    if (rule.type === "rate") {
      const before = r.rate;
      r.rate = ctx.mul(r.rate, rule.cost);
      trace?.({
        group,
        kind,
        ruleId: rule.id,
        detail: `${what}: rate ${show(before)} × ${show(rule.cost)} = ${show(r.rate)}`,
        value: show(r.rate),
      });
    } else if (rule.cost.gt(r.flat)) {
      trace?.({
        group,
        kind,
        ruleId: rule.id,
        detail: `${what}: flat ${show(rule.cost)} replaces ${show(r.flat)}`,
        value: show(rule.cost),
      });
      r.flat = rule.cost;
    } else {
      trace?.({
        group,
        kind,
        ruleId: rule.id,
        detail: `${what}: flat ${show(rule.cost)} ignored, not above the group's flat ${show(r.flat)}`,
        value: show(r.flat),
      });
    }
  };
  const thresholds = (groups: ThresholdGroups, reaches: (l: LevelRule) => boolean, scope: "field" | "service", what: string) => {
    for (const [group, levels] of groups) {
      if (tiered?.has(group)) continue;
      for (const t of levels.values()) {
        if (!reaches(t)) continue;
        const r = touch(group);
        if (t.level.gt(r.threshold.level)) {
          trace?.({
            group,
            kind: "threshold",
            ruleId: t.id,
            detail: `${what} >= ${show(t.level)}: ${scope} threshold ${t.type} ${show(t.cost)} becomes the group's threshold (level ${show(r.threshold.level)} before)`,
            value: show(t.cost),
          });
          r.threshold = { level: t.level, cost: t.cost, type: t.type, scope, id: t.id };
        } else {
          trace?.({
            group,
            kind: "threshold",
            ruleId: t.id,
            detail: `${what} >= ${show(t.level)}, but the group already holds a threshold of level ${show(r.threshold.level)}: ignored`,
            value: "",
          });
        }
      }
    }
  };

  // Step 3: service mappings always apply.
  for (const [group, rule] of svc.mappings) update(group, rule, "service_mapping", `service ${svc.name} mapping`);
  // Step 4: service thresholds, on the quantity.
  thresholds(svc.thresholds, (t) => qty.gte(t.level), "service", `qty ${show(qty)}`);
  // Step 5: fields present in the point, mappings by string equality, thresholds on the value.
  for (const field of svc.fields) {
    const value = descValue(point, field.name);
    if (value === undefined) continue;
    for (const [group, values] of field.mappings) {
      const rule = values.get(value);
      if (rule !== undefined) update(group, rule, "field_mapping", `${field.name} = ${JSON.stringify(value)}`);
    }
    if (field.thresholds.size > 0) {
      const n = fieldNumber(point, field.name, value, svc.name);
      thresholds(field.thresholds, (t) => fieldReaches(n, t.level), "field", `${field.name} ${value.trim()}`);
    }
  }

  // Steps 6-8: combine each group, add the group totals to the price in order.
  let price = point.price === "" ? INT0 : Decimal.parse(point.price);
  if (res.size === 0 && tiered === undefined) {
    trace?.({
      group: "",
      kind: "service",
      ruleId: "",
      detail: `no rule of service ${svc.name} applies to this point: price kept`,
      value: show(price),
    });
  }
  for (const [group, g] of res) {
    let { flat, rate } = g;
    const th = g.threshold;
    if (th.scope === "field") {
      if (th.type === "flat") flat = ctx.add(flat, th.cost);
      else rate = ctx.mul(rate, th.cost);
    }
    const unit = ctx.mul(rate, flat);
    let total = ctx.mul(unit, qty);
    let detail = `rate ${show(rate)} × flat ${show(flat)} × qty ${show(qty)} = ${show(total)}`;
    if (th.scope === "service") {
      const before = total;
      total = th.type === "flat" ? ctx.add(total, th.cost) : ctx.mul(total, th.cost);
      detail += th.type === "flat" ? `; + service threshold ${show(th.cost)}` : `; × service threshold ${show(th.cost)}`;
      detail += ` (${show(before)} → ${show(total)})`;
    } else if (th.id !== "") {
      detail = `field threshold ${th.type} ${show(th.cost)} folded in; ${detail}`;
    }
    const before = price;
    price = ctx.add(price, total);
    trace?.({
      group,
      kind: "combine",
      ruleId: th.id,
      detail: `${detail}; price ${show(before)} + ${show(total)} = ${show(price)}`,
      value: show(total),
    });
  }
  if (tiered !== undefined && monthToDate !== undefined) price = price.add(tieredPart(svc, qty, monthToDate, trace));
  return price.toString();
}

/** The groups of the service whose service mapping is tiered, or undefined when none is. */
export function tieredGroups(svc: ServiceEntries): Set<string> | undefined {
  const out = new Set<string>();
  for (const [group, rule] of svc.mappings) if (rule.tiers !== undefined) out.add(group);
  return out.size === 0 ? undefined : out;
}

/** The sum of the service's tiered mappings for qty units after monthToDate units of the month (exact). */
export function tieredPart(svc: ServiceEntries, qty: Decimal, monthToDate: Decimal, trace?: Trace): Decimal {
  let sum = INT0;
  for (const [group, rule] of svc.mappings) {
    if (rule.tiers === undefined) continue;
    sum = sum.add(tieredAmount(rule.tiers, monthToDate, qty, trace, group, rule.id));
  }
  return sum;
}
