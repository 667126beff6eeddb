/**
 * The compiled CEL rules of one snapshot of the price list, and the rules in
 * force per tenant and validity window (cached: two instants between the
 * same two window boundaries see the same rules).
 */
import { inForce, WindowBoundaries } from "../../validity.js";
import { CelCompileError, type CompiledExpr, compileCel } from "./cel.js";
import type { RuleRow } from "./repository.js";

export interface ActiveRule {
  row: RuleRow;
  condition: CompiledExpr | undefined;
  expression: CompiledExpr | undefined;
  /** Set when a stored rule no longer compiles: it fails every point it would price. */
  broken: string | undefined;
}

/** The compiled rules of one snapshot, with the rules in force per (tenant, window) cached. */
export class RulesIndex {
  private readonly compiled: ActiveRule[];
  private readonly windows: WindowBoundaries;
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
    this.windows = new WindowBoundaries(this.compiled.map((r) => r.row));
    this.tenants = new Set(this.compiled.flatMap((r) => (r.row.tenantId === null ? [] : [r.row.tenantId])));
  }

  get isEmpty(): boolean {
    return this.compiled.length === 0;
  }

  /** The rules in force for the tenant at the instant, in the order they run. */
  active(tenantId: string, at: number): ActiveRule[] {
    const tenant = this.tenants.has(tenantId) ? tenantId : "";
    const key = `${this.windows.window(at)}\u0000${tenant}`;
    let list = this.views.get(key);
    if (list === undefined) {
      list = this.compiled
        .filter((r) => (r.row.tenantId === null || r.row.tenantId === tenant) && inForce(r.row, at))
        .sort((a, b) => b.row.order - a.row.order || (a.row.name < b.row.name ? -1 : a.row.name > b.row.name ? 1 : 0));
      this.views.set(key, list);
    }
    return list;
  }
}
