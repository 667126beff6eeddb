/** SQL on the price_rules table, the same for SQLite and PostgreSQL. */
import { num, type SqlExecutor, strOrNull } from "../../store/sql.js";
import { type Page, Table } from "../../store/table.js";
import { readWindow, type WindowFilter, windowFilter } from "../../validity.js";

export interface RuleRow {
  ruleId: string;
  name: string;
  /** Empty: always. */
  condition: string;
  expression: string;
  order: number;
  tenantId: string | null;
  start: number;
  end: number | null;
  description: string;
  createdAt: number;
  deletedAt: number | null;
  seq: number;
}

export const rules = new Table<RuleRow>(
  "price_rules",
  "rule_id",
  "rule",
  "seq, rule_id, name, condition, expression, rule_order, tenant_id, start_ms, end_ms, description, created_ms, deleted_ms",
  (r) => ({
    seq: num(r.seq),
    ruleId: String(r.rule_id),
    name: String(r.name),
    condition: String(r.condition),
    expression: String(r.expression),
    order: num(r.rule_order),
    tenantId: strOrNull(r.tenant_id),
    ...readWindow(r),
  }),
);

export function loadRules(tx: SqlExecutor): Promise<RuleRow[]> {
  return rules.select(tx, "WHERE deleted_ms IS NULL ORDER BY seq");
}

/** The live rules of this name (a published price list ends one and starts its successor under the same name). */
export function liveRulesNamed(tx: SqlExecutor, name: string): Promise<RuleRow[]> {
  return rules.select(tx, "WHERE name = ? AND deleted_ms IS NULL ORDER BY seq", [name]);
}

export function insertRule(tx: SqlExecutor, r: Omit<RuleRow, "seq">): Promise<RuleRow> {
  return rules.insert(tx, {
    rule_id: r.ruleId,
    name: r.name,
    condition: r.condition,
    expression: r.expression,
    rule_order: r.order,
    tenant_id: r.tenantId,
    start_ms: r.start,
    end_ms: r.end,
    description: r.description,
    created_ms: r.createdAt,
    deleted_ms: r.deletedAt,
  });
}

export function updateRule(tx: SqlExecutor, r: RuleRow): Promise<void> {
  return rules.update(tx, r.ruleId, {
    condition: r.condition,
    expression: r.expression,
    rule_order: r.order,
    start_ms: r.start,
    end_ms: r.end,
    description: r.description,
    deleted_ms: r.deletedAt,
  });
}

export interface RuleFilter extends WindowFilter {
  tenantId: string;
}

export function listRules(tx: SqlExecutor, f: RuleFilter, page: Page): Promise<RuleRow[]> {
  return windowFilter(rules.page(page).eq("tenant_id", f.tenantId), f).all(tx);
}
