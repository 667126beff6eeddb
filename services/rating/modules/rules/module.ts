/**
 * The rules rating module: sandboxed CEL price rules in place of
 * CloudKitty's pyscripts. For each point, the rules in force (for the
 * frame's scope, at the frame's begin) run in descending `order`, then by
 * name; each rule whose condition holds sets the price to its expression's
 * value, which the next rules see as `price`.
 */
import { DeadlineExceededError } from "../../../../libs/errors/errors.js";
import { type ExplainStep, PointError, type RatingFrame, type RatingModule, type RatingPoint } from "../../domain.js";
import { type Bindings, bindings, CelCompileError, CelEvalError, type CompiledExpr, compileCel, evalCondition, evalPrice } from "./cel.js";
import type { RuleRow } from "./repository.js";

interface ActiveRule {
  row: RuleRow;
  condition: CompiledExpr | undefined;
  expression: CompiledExpr | undefined;
  /** Set when a stored rule no longer compiles: it fails every point it would price. */
  broken: string | undefined;
}

/** The compiled rules of one snapshot, with the rules in force per (tenant, window) cached. */
export class RulesIndex {
  private readonly compiled: ActiveRule[];
  private readonly boundaries: number[];
  private readonly tenants: Set<string>;
  private readonly views = new Map<string, ActiveRule[]>();

  constructor(rows: RuleRow[]) {
    this.compiled = rows
      .filter((r) => r.deletedAt === null)
      .map((row) => {
        try {
          return {
            row,
            condition: row.condition === "" ? undefined : compileCel(row.condition),
            expression: compileCel(row.expression),
            broken: undefined,
          };
        } catch (err) {
          const problem = err instanceof CelCompileError ? err.message : String(err);
          return { row, condition: undefined, expression: undefined, broken: `does not compile: ${problem}` };
        }
      });
    const b = new Set<number>();
    for (const r of this.compiled) {
      b.add(r.row.start);
      if (r.row.end !== null) b.add(r.row.end);
    }
    this.boundaries = [...b].sort((x, y) => x - y);
    this.tenants = new Set(this.compiled.flatMap((r) => (r.row.tenantId === null ? [] : [r.row.tenantId])));
  }

  get isEmpty(): boolean {
    return this.compiled.length === 0;
  }

  /** The rules in force for the tenant at the instant, in the order they run. */
  active(tenantId: string, at: number): ActiveRule[] {
    const tenant = this.tenants.has(tenantId) ? tenantId : "";
    const window = this.boundaries.filter((x) => x <= at).length;
    const key = `${window}\u0000${tenant}`;
    let list = this.views.get(key);
    if (list === undefined) {
      list = this.compiled
        .filter(
          (r) => (r.row.tenantId === null || r.row.tenantId === tenant) && r.row.start <= at && (r.row.end === null || at < r.row.end),
        )
        .sort((a, b) => b.row.order - a.row.order || (a.row.name < b.row.name ? -1 : a.row.name > b.row.name ? 1 : 0));
      this.views.set(key, list);
    }
    return list;
  }
}

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
