/**
 * The hashmap rating module: CloudKitty's HashMap, priced from the in-memory
 * index of the current snapshot (see README.md in this folder).
 */

import { Decimal } from "../../../../libs/money/decimal.js";
import { type ExplainStep, PointError, type RatingFrame, type RatingModule, type RatingPoint } from "../../domain.js";
import type { ServiceEntries } from "./entries.js";
import type { HashmapIndex } from "./hashmap-index.js";
import { FieldValueError, priceReference } from "./reference.js";
import { monthAmount } from "./tiers.js";

export class HashmapModule implements RatingModule {
  readonly name = "hashmap";
  readonly description = "CloudKitty's HashMap: prices by service, field values, thresholds and groups.";

  constructor(private readonly index: () => HashmapIndex) {}

  rate(frame: RatingFrame): void {
    const index = this.index();
    if (index.isEmpty) return;
    const view = index.view(frame.scopeId, frame.at.getTime());
    const points = frame.points;
    // Consecutive points of one type are the common case: skip the map lookup for them.
    let lastType: string | undefined;
    let svc = undefined as ReturnType<typeof view.get>;
    // Month-to-date of each tiered type, advanced point by point (tiers.ts): the quantity m and
    // F(m) summed over the service's tiered mappings, so each point costs one F(m + q).
    let running: Map<string, { m: Decimal; f: Decimal }> | undefined;
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as RatingPoint;
      if (p.type !== lastType) {
        lastType = p.type;
        svc = view.get(p.type);
      }
      if (svc === undefined) continue;
      try {
        svc.priceInto(p);
        if (svc.tiered !== undefined) {
          frame.monthDependent = true;
          running ??= new Map();
          let before = running.get(p.type);
          if (before === undefined) {
            const m = Decimal.parse(frame.monthToDate?.get(p.type) ?? "0");
            before = { m, f: monthAmounts(svc.entries, m) };
          }
          const m = before.m.add(Decimal.parse(p.qty));
          const f = monthAmounts(svc.entries, m);
          const amount = f.sub(before.f);
          const price = p.price;
          p.price = price === "0" || price === "" ? amount.toString() : Decimal.parse(price).add(amount).toString();
          running.set(p.type, { m, f });
        }
      } catch (err) {
        throw asPointError(err, i);
      }
    }
  }

  /** A service of that name with a mapping in force, or a threshold, at the instant for the scope. */
  covers(type: string, scopeId: string, at: Date): boolean {
    const index = this.index();
    if (index.isEmpty) return false;
    const e = index.view(scopeId, at.getTime()).get(type)?.entries;
    if (e === undefined) return false;
    return e.mappings.size > 0 || e.thresholds.size > 0 || e.fields.some((f) => f.mappings.size > 0 || f.thresholds.size > 0);
  }

  explain(point: RatingPoint, scopeId: string, at: Date, monthToDate = "0"): ExplainStep[] {
    const steps: ExplainStep[] = [];
    const svc = this.index().service(scopeId, at.getTime(), point.type);
    try {
      point.price = priceReference(svc, point, (s) => steps.push(s), Decimal.parse(monthToDate));
    } catch (err) {
      throw asPointError(err, 0);
    }
    return steps;
  }
}

/** F(x) summed over the service's tiered mappings: the month's first x units (tiers.ts). */
function monthAmounts(svc: ServiceEntries, x: Decimal): Decimal {
  let sum = Decimal.ZERO;
  for (const rule of svc.mappings.values()) if (rule.tiers !== undefined) sum = sum.add(monthAmount(rule.tiers, x));
  return sum;
}

function asPointError(err: unknown, index: number): unknown {
  if (err instanceof FieldValueError) return new PointError(index, `${err.source}.${err.field}`, err.message);
  return err;
}
