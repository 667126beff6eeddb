/**
 * The rules rating module: sandboxed CEL price rules in place of
 * CloudKitty's pyscripts. For each point, the rules in force (for the
 * frame's scope, at the frame's begin) run in descending `order`, then by
 * name; each rule whose condition holds sets the price to its expression's
 * value, which the next rules see as `price`.
 */
import { DeadlineExceededError } from "../../../../libs/errors/errors.js";
import { type ExplainStep, PointError, type RatingFrame, type RatingModule, type RatingPoint } from "../../domain.js";
import { type Bindings, bindings, CelEvalError, type CompiledExpr, evalCondition, evalPrice } from "./cel.js";
import type { ActiveRule, RulesIndex } from "./rules-index.js";

export interface RulesModuleOptions {
  /** Wall time a frame may spend in rules, in seconds. */
  frameTimeout: number;
}

export class RulesModule implements RatingModule {
  readonly name = "rules";
  readonly description = "Sandboxed CEL price rules (in place of CloudKitty's pyscripts).";

  constructor(
    private readonly index: () => RulesIndex,
    private readonly opts: RulesModuleOptions,
  ) {}

  rate(frame: RatingFrame): void {
    const index = this.index();
    if (index.isEmpty) return;
    const rules = index.active(frame.scopeId, frame.at.getTime());
    if (rules.length === 0) return;
    const deadline = performance.now() + this.opts.frameTimeout * 1000;
    const points = frame.points;
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as RatingPoint;
      const b = bindings(ruleInput(p, frame.at, frame.scopeId));
      for (const rule of rules) {
        try {
          const price = apply(rule, b);
          if (price !== undefined) p.price = price;
        } catch (err) {
          throw pointError(err, i, rule);
        }
      }
      if ((i & 15) === 15 && performance.now() > deadline) {
        throw new DeadlineExceededError(
          `rules: the frame of scope ${JSON.stringify(frame.scopeId)} spent more than ${this.opts.frameTimeout} s in price rules (at point ${i} of ${points.length}); simplify the rules or raise [rating] rules_frame_timeout`,
        );
      }
    }
  }

  /**
   * A rule in force for the scope at the instant covers every type: its
   * condition decides point by point, and a condition that does not hold is
   * the rule's own answer, not a missing rule.
   */
  covers(_type: string, scopeId: string, at: Date): boolean {
    const index = this.index();
    return !index.isEmpty && index.active(scopeId, at.getTime()).length > 0;
  }

  explain(point: RatingPoint, scopeId: string, at: Date): ExplainStep[] {
    const steps: ExplainStep[] = [];
    const rules = this.index().active(scopeId, at.getTime());
    if (rules.length === 0) steps.push({ group: "", kind: "rule", ruleId: "", detail: "no rule in force", value: "" });
    const b = bindings(ruleInput(point, at, scopeId));
    for (const rule of rules) {
      const before = point.price;
      let price: string | undefined;
      try {
        price = apply(rule, b);
      } catch (err) {
        throw pointError(err, 0, rule);
      }
      const name = `rule ${JSON.stringify(rule.row.name)} (order ${rule.row.order})`;
      if (price === undefined) {
        steps.push({
          group: "",
          kind: "rule",
          ruleId: rule.row.ruleId,
          detail: `${name}: condition ${rule.row.condition} is false`,
          value: before,
        });
      } else {
        point.price = price;
        steps.push({
          group: "",
          kind: "rule",
          ruleId: rule.row.ruleId,
          detail: `${name}: ${rule.row.condition === "" ? "always applies" : `condition ${rule.row.condition} holds`}; ${rule.row.expression} = ${price} (price was ${before})`,
          value: price,
        });
      }
    }
    return steps;
  }
}

/** What a rule sees of a point (read property by property: wire points build their maps on demand). */
function ruleInput(p: RatingPoint, begin: Date, scopeId: string) {
  return { type: p.type, unit: p.unit, qty: p.qty, price: p.price, groupby: p.groupby, metadata: p.metadata, begin, scopeId };
}

/** The rule's new price for the point, or undefined when its condition is false. */
function apply(rule: ActiveRule, b: Bindings): string | undefined {
  if (rule.broken !== undefined) throw new CelEvalError(rule.broken);
  if (rule.condition !== undefined && !evalCondition(rule.condition, b)) return undefined;
  const price = evalPrice(rule.expression as CompiledExpr, b);
  b.price = price;
  return price;
}

function pointError(err: unknown, index: number, rule: ActiveRule): unknown {
  if (err instanceof CelEvalError) {
    return new PointError(index, "", `rule ${JSON.stringify(rule.row.name)} (${rule.row.ruleId}): ${err.message}`, "failed_precondition");
  }
  return err;
}
