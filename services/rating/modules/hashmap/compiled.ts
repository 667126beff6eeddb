/**
 * The hashmap's fast path for one service in one view (a tenant and a
 * validity window).
 *
 * Everything the reference algorithm does before it looks at the quantity
 * (service mappings, field mappings, field thresholds: steps 3 and 5)
 * depends only on the values of the service's fields in the point. Those
 * results are computed once per distinct tuple of relevant values and kept
 * as a Plan in a trie (one level per field). A field value no rule mentions
 * collapses into one "other" branch, so the trie stays as small as the price
 * list. Per point there remains: walk the trie, pick each group's service
 * threshold from the quantity, and do `unit × qty (+|× threshold)` and the
 * sum in fixed point (libs/money/fixed.ts), with the reference path as the fallback
 * whenever fixed point could not be exact.
 */
import { PYTHON_CONTEXT as ctx, Decimal } from "../../../../libs/money/decimal.js";
import { type Fixed, formatFixed, LIMIT, parseFixedInto, reg, timesPow10, toFixed } from "../../../../libs/money/fixed.js";
import { ByteSlots, KeyTable } from "../../codec/byte-slots.js";
import { reserveKeys } from "../../codec/wire-frames.js";
import { descValue, type RatingPoint } from "../../domain.js";
import type { LevelRule, ServiceEntries } from "./entries.js";
import { fieldReaches } from "./pydecimal.js";
import { fieldNumber, priceReference, tieredGroups } from "./reference.js";

const INT0 = Decimal.of(0);
const INT1 = Decimal.of(1);
const MINUS_ONE = Decimal.of(-1);

/** A unit price (rate × flat) in both forms; fixed is undefined when it does not fit. */
interface Unit {
  exact: Decimal;
  fixed: Fixed | undefined;
}

interface ServiceThreshold {
  level: Decimal;
  levelFixed: Fixed | undefined;
  type: "flat" | "rate";
  cost: Decimal;
  costFixed: Fixed | undefined;
  /** level > -1: only then can it become the group's threshold. */
  effective: boolean;
}

interface GroupPlan {
  /** Touched by a mapping or a matched field threshold (else only a service threshold can touch it). */
  touched: boolean;
  /** Level of the group's best field threshold, or undefined. */
  fieldLevel: Decimal | undefined;
  /** rate × (flat + 0): no threshold in force. */
  plain: Unit;
  /** With the best field threshold folded in. */
  withField: Unit;
  /** rate × flat: a service threshold in force. */
  bare: Unit;
  /** The group's service thresholds, highest level first. */
  service: ServiceThreshold[];
}

export interface Plan {
  groups: GroupPlan[];
  /** Every unit and threshold fits fixed point: the fast path may be tried. */
  fast: boolean;
  /**
   * Prices already computed for this plan from a zero price, by quantity
   * string. A price is a function of (plan, qty) then, and handing back the
   * same string object saves formatting it and, above all, allocating a new
   * string per point that the garbage collector must then promote and trace.
   */
  memo: Map<string, string>;
  /** The same for points that take fixed-point prices. */
  memoFixed: Map<string, Fixed>;
}

interface TrieNode {
  plan: Plan | undefined;
  /** By value slot of the next field (0: absent, 1: a value no rule mentions, 2...: a value). */
  children: Array<TrieNode | undefined>;
}

interface KeyField {
  name: string;
  /** The name's UTF-8 bytes, for points that read attributes from the request bytes. */
  utf8: Uint8Array;
  /** The same slots, by the value's UTF-8 bytes. */
  bytes: ByteSlots;
  /**
   * Value → slot. For a field without thresholds it holds the values some
   * mapping matches, once and for all (any other value shares slot 1); for
   * a field with thresholds the value matters as a number, so every value
   * seen gets a slot of its own, up to MAX_SLOTS.
   */
  slots: Map<string, number>;
  thresholded: boolean;
}

const ABSENT = 0;
const OTHER = 1;
/** Distinct values of a thresholded field given a slot; beyond, points are priced without caching. */
const MAX_SLOTS = 10_000;

/** Plans kept per service view; beyond this, further tuples are priced without caching. */
export const MAX_PLANS = 20_000;
/**
 * Memoized prices: at most this many per plan, and a budget shared by all
 * the plans of one index (see MemoBudget). Quantities that repeat (1
 * instance, 1 address, the same volume sizes every hour) are seen early and
 * often; quantities that never repeat (traffic in bytes) just stop filling
 * the memo once the budget is spent.
 */
export const MAX_MEMO_PER_PLAN = 4096;

/** How many memoized prices an index may still keep (about 150 bytes each). */
export interface MemoBudget {
  left: number;
}

function unit(rate: Decimal, flat: Decimal): Unit {
  const exact = ctx.mul(rate, flat);
  return { exact, fixed: toFixed(exact) };
}

function newNode(): TrieNode {
  return { plan: undefined, children: [] };
}

export class CompiledService {
  private readonly keyFields: KeyField[];
  /** The key fields' names and byte slots, for points read from the request bytes. */
  private readonly keyTable: KeyTable;
  private readonly found: Int32Array;
  private readonly root = newNode();
  private plans = 0;
  /** Groups whose service mapping is tiered (priced apart, see tiers.ts), or undefined. */
  readonly tiered: Set<string> | undefined;

  constructor(
    readonly entries: ServiceEntries,
    private readonly budget: MemoBudget = { left: 100_000 },
  ) {
    this.tiered = tieredGroups(entries);
    this.keyFields = [];
    for (const f of entries.fields) {
      const slots = new Map<string, number>();
      for (const values of f.mappings.values()) for (const v of values.keys()) if (!slots.has(v)) slots.set(v, slots.size + 2);
      const thresholded = f.thresholds.size > 0;
      // A field no rule of this view mentions cannot change a price: it is not part of the key.
      const bytes = new ByteSlots();
      for (const [v, slot] of slots) bytes.add(v, slot);
      if (slots.size > 0 || thresholded)
        this.keyFields.push({ name: f.name, utf8: Buffer.from(f.name, "utf8"), bytes, slots, thresholded });
    }
    this.keyTable = new KeyTable(
      this.keyFields.map((f) => f.utf8),
      this.keyFields.map((f) => f.bytes),
    );
    this.found = new Int32Array(this.keyFields.length);
    reserveKeys(this.keyFields.length);
  }

  /**
   * Sets the point's new price. A point that takes a fixed-point price (one
   * decoded from the wire) gets the scaled integer as is: its digits are
   * written straight into the response, no string is made for it.
   */
  priceInto(point: RatingPoint): void {
    if (point.setFixedPrice === undefined) {
      point.price = this.price(point);
      return;
    }
    const plan = this.planFor(point);
    const zero = point.price === "0" || point.price === "";
    if (zero) {
      const known = plan.memoFixed.get(point.qty);
      if (known !== undefined) {
        point.setFixedPrice(known.m, known.s);
        return;
      }
    }
    if (plan.fast && computeFast(plan, point.qty, point.price)) {
      const { m, s } = fastResult;
      point.setFixedPrice(m, s);
      if (zero && this.budget.left > 0 && plan.memoFixed.size < MAX_MEMO_PER_PLAN) {
        plan.memoFixed.set(point.qty, { m, s });
        this.budget.left--;
      }
    } else {
      point.price = priceReference(this.entries, point);
    }
  }

  /** The point's new price. Throws FieldValueError for a non-numeric thresholded field value. */
  price(point: RatingPoint): string {
    const plan = this.planFor(point);
    const zero = point.price === "0" || point.price === "";
    if (zero) {
      const known = plan.memo.get(point.qty);
      if (known !== undefined) return known;
    }
    let price: string | undefined;
    if (plan.fast) price = priceFast(plan, point.qty, point.price);
    if (price === undefined) price = priceReference(this.entries, point);
    if (zero && this.budget.left > 0 && plan.memo.size < MAX_MEMO_PER_PLAN) {
      plan.memo.set(point.qty, price);
      this.budget.left--;
    }
    return price;
  }

  planFor(point: RatingPoint): Plan {
    let node = this.root;
    const fields = this.keyFields;
    // Points decoded from the wire answer attr() from their bytes; plain points have their maps.
    const wire = point.attrSlots !== undefined;
    const groupby = wire ? undefined : point.groupby;
    const metadata = wire ? undefined : point.metadata;
    const found = this.found;
    if (wire) point.attrSlots?.(this.keyTable, found);
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as KeyField;
      // descValue, inlined: groupby wins over metadata.
      let value: string | undefined;
      let slot = -1;
      if (wire) {
        const found = this.found[i] as number;
        if (found === -2) slot = ABSENT;
        else if (found >= 0) slot = found;
        else if (!f.thresholded) slot = OTHER;
        else value = point.attr?.(f.name, f.utf8);
      } else {
        value = (groupby as Record<string, string>)[f.name];
        if (typeof value !== "string") value = (metadata as Record<string, string>)[f.name];
      }
      if (slot >= 0) {
        // Found from the bytes.
      } else if (typeof value !== "string") {
        slot = ABSENT;
      } else {
        const known = f.slots.get(value);
        if (known !== undefined) {
          slot = known;
        } else if (!f.thresholded) {
          slot = OTHER;
        } else {
          if (f.slots.size >= MAX_SLOTS) return this.buildPlan(point);
          slot = f.slots.size + 2;
          f.slots.set(value, slot);
          f.bytes.add(value, slot);
        }
      }
      let child = node.children[slot];
      if (child === undefined) {
        if (this.plans >= MAX_PLANS) return this.buildPlan(point);
        child = newNode();
        node.children[slot] = child;
      }
      node = child;
    }
    let plan = node.plan;
    if (plan === undefined) {
      plan = this.buildPlan(point);
      node.plan = plan;
      this.plans++;
    }
    return plan;
  }

  /** Steps 3 and 5 of the reference, for the point's field values; the quantity is left for later. */
  private buildPlan(point: RatingPoint): Plan {
    const svc = this.entries;
    interface Acc {
      flat: Decimal;
      rate: Decimal;
      touched: boolean;
      field: { level: Decimal; type: "flat" | "rate"; cost: Decimal } | undefined;
    }
    const acc = new Map<string, Acc>();
    const touch = (g: string): Acc => {
      let a = acc.get(g);
      if (a === undefined) {
        a = { flat: INT0, rate: INT1, touched: false, field: undefined };
        acc.set(g, a);
      }
      return a;
    };
    // Groups priced by tiers (tiers.ts) are left out: the module adds their amount.
    const tiered = this.tiered;
    const apply = (g: string, type: "flat" | "rate", cost: Decimal) => {
      if (tiered?.has(g)) return;
      const a = touch(g);
      a.touched = true;
      if (type === "rate") a.rate = ctx.mul(a.rate, cost);
      else if (cost.gt(a.flat)) a.flat = cost;
    };
    for (const [g, r] of svc.mappings) apply(g, r.type, r.cost);
    // Groups with service thresholds get a slot now; whether they are touched depends on qty.
    for (const g of svc.thresholds.keys()) if (!tiered?.has(g)) touch(g);
    for (const f of svc.fields) {
      const value = descValue(point, f.name);
      if (value === undefined) continue;
      for (const [g, values] of f.mappings) {
        const r = values.get(value);
        if (r !== undefined) apply(g, r.type, r.cost);
      }
      if (f.thresholds.size > 0) {
        const n = fieldNumber(point, f.name, value, svc.name);
        for (const [g, levels] of f.thresholds) {
          if (tiered?.has(g)) continue;
          for (const t of levels.values()) {
            if (!fieldReaches(n, t.level)) continue;
            const a = touch(g);
            a.touched = true;
            // Strictly above the best so far (and above -1): the first field wins a tie.
            const best = a.field?.level ?? MINUS_ONE;
            if (t.level.gt(best)) a.field = { level: t.level, type: t.type, cost: t.cost };
          }
        }
      }
    }
    let fast = true;
    const groups: GroupPlan[] = [];
    for (const [g, a] of acc) {
      const plain = unit(a.rate, ctx.add(a.flat, INT0));
      const bare = unit(a.rate, a.flat);
      let withField = plain;
      if (a.field !== undefined) {
        withField = a.field.type === "flat" ? unit(a.rate, ctx.add(a.flat, a.field.cost)) : unit(ctx.mul(a.rate, a.field.cost), a.flat);
      }
      const service = [...(svc.thresholds.get(g)?.values() ?? [])].sort((x, y) => y.level.cmp(x.level)).map(serviceThreshold);
      if (plain.fixed === undefined || withField.fixed === undefined || bare.fixed === undefined) fast = false;
      if (service.some((t) => t.levelFixed === undefined || t.costFixed === undefined)) fast = false;
      groups.push({ touched: a.touched, fieldLevel: a.field?.level, plain, withField, bare, service });
    }
    return { groups, fast, memo: new Map(), memoFixed: new Map() };
  }
}

function serviceThreshold(t: LevelRule): ServiceThreshold {
  return {
    level: t.level,
    levelFixed: toFixed(t.level),
    type: t.type,
    cost: t.cost,
    costFixed: toFixed(t.cost),
    effective: t.level.gt(MINUS_ONE),
  };
}

/** a >= b for two fixed values; undefined when aligning them is not exact. */
function gteFixed(am: number, as: number, b: Fixed): boolean | undefined {
  if (as === b.s) return am >= b.m;
  if (as > b.s) {
    const bm = timesPow10(b.m, as - b.s);
    return Number.isNaN(bm) ? undefined : am >= bm;
  }
  const aa = timesPow10(am, b.s - as);
  return Number.isNaN(aa) ? undefined : aa >= b.m;
}

// Accumulator registers for addFixed (no allocation per point).
let accM = 0;
let accS = 0;

/** acc += m / 10^s; false when not exact. */
function addFixed(m: number, s: number): boolean {
  let a = accM;
  let b = m;
  let scale = accS;
  // Aligned on the larger scale; NaN (not exact) fails the bound check below.
  if (s > scale) {
    a = timesPow10(a, s - scale);
    scale = s;
  } else if (s < scale) {
    b = timesPow10(b, scale - s);
  }
  const sum = a + b;
  if (!(Math.abs(sum) < LIMIT)) return false;
  accM = sum;
  accS = scale;
  return true;
}

/** Where computeFast leaves its result: price = m / 10^s. */
export const fastResult = { m: 0, s: 0 };

/**
 * The price in fixed point, in fastResult; false when some step could not be
 * exact (the caller then uses the reference path).
 */
export function computeFast(plan: Plan, qtyText: string, priceText: string): boolean {
  if (!parseFixedInto(qtyText)) return false;
  const qm = reg.m;
  const qs = reg.s;
  if (priceText === "" || priceText === "0") {
    accM = 0;
    accS = 0;
  } else {
    if (!parseFixedInto(priceText)) return false;
    accM = reg.m;
    accS = reg.s;
  }
  const groups = plan.groups;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as GroupPlan;
    let svc: ServiceThreshold | undefined;
    let matched = false;
    const ths = g.service;
    for (let k = 0; k < ths.length; k++) {
      const t = ths[k] as ServiceThreshold;
      const reaches = gteFixed(qm, qs, t.levelFixed as Fixed);
      if (reaches === undefined) return false;
      if (reaches) {
        matched = true;
        if (t.effective) svc = t;
        break;
      }
    }
    if (!g.touched && !matched) continue;
    let u: Fixed;
    if (g.fieldLevel !== undefined && (svc === undefined || g.fieldLevel.gt(svc.level))) {
      u = g.withField.fixed as Fixed;
      svc = undefined;
    } else if (svc !== undefined) {
      u = g.bare.fixed as Fixed;
    } else {
      u = g.plain.fixed as Fixed;
    }
    let rm = u.m * qm;
    if (!(Math.abs(rm) < LIMIT)) return false;
    let rs = u.s + qs;
    if (svc !== undefined) {
      const c = svc.costFixed as Fixed;
      if (svc.type === "rate") {
        rm *= c.m;
        if (!(Math.abs(rm) < LIMIT)) return false;
        rs += c.s;
      } else {
        const savedM = accM;
        const savedS = accS;
        accM = rm;
        accS = rs;
        if (!addFixed(c.m, c.s)) return false;
        rm = accM;
        rs = accS;
        accM = savedM;
        accS = savedS;
      }
    }
    if (!addFixed(rm, rs)) return false;
  }
  fastResult.m = accM;
  fastResult.s = accS;
  return true;
}

/** The price as a string, or undefined when the fast path cannot be exact. */
export function priceFast(plan: Plan, qtyText: string, priceText: string): string | undefined {
  return computeFast(plan, qtyText, priceText) ? formatFixed(fastResult.m, fastResult.s) : undefined;
}
