/**
 * Counting the points of a frame that no rule priced: never silently zero.
 * A point is unpriced when no module that prices is enabled, or when no
 * enabled module has a rule in force for its type (for the frame's scope,
 * at the frame's begin). A point whose type has rules that simply give 0
 * (no field value matched) is priced, as CloudKitty prices it. Asked once
 * per type and frame, never per rule.
 */
import type { RatingFrame, RatingModule, Unpriced } from "./domain.js";

/** The unpriced points of a frame rated by `pricing` (the enabled modules that price), or undefined when there are none. */
export function unpricedOf(frame: RatingFrame, pricing: readonly RatingModule[]): Unpriced | undefined {
  const points = frame.points;
  if (points.length === 0) return undefined;
  const covered = new Map<string, boolean>();
  let count = 0;
  let lastType: string | undefined;
  let lastCovered = true;
  for (let i = 0; i < points.length; i++) {
    const type = (points[i] as RatingFrame["points"][number]).type;
    if (type !== lastType) {
      lastType = type;
      let c = covered.get(type);
      if (c === undefined) {
        c = pricing.some((m) => m.covers?.(type, frame.scopeId, frame.at) === true);
        covered.set(type, c);
      }
      lastCovered = c;
    }
    if (!lastCovered) count++;
  }
  if (count === 0) return undefined;
  const types = [...covered]
    .filter(([, c]) => !c)
    .map(([t]) => t)
    .sort();
  return { points: count, types, reason: pricing.length === 0 ? "no_module_enabled" : "no_rule_in_force" };
}
