/** SQL on the price_rules table, the same for SQLite and PostgreSQL. */
import { num, numOrNull, type Page, PagedSelect, type SqlExecutor, strOrNull } from "../../store/sql.js";
import { type WindowFilter, windowFilter } from "../../validity.js";

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

type R = Record<string, unknown>;

const COLS = "seq, rule_id, name, condition, expression, rule_order, tenant_id, start_ms, end_ms, description, created_ms, deleted_ms";

function rule(r: R): RuleRow {
  return {
    seq: num(r.seq),
    ruleId: String(r.rule_id),
    name: String(r.name),
    condition: String(r.condition),
    expression: String(r.expression),
    order: num(r.rule_order),
    tenantId: strOrNull(r.tenant_id),
    start: num(r.start_ms),
    end: numOrNull(r.end_ms),
    description: String(r.description ?? ""),
    createdAt: num(r.created_ms),
    deletedAt: numOrNull(r.deleted_ms),
  };
}

export async function loadRules(tx: SqlExecutor): Promise<RuleRow[]> {
  return (await tx.all<R>(`SELECT ${COLS} FROM price_rules WHERE deleted_ms IS NULL ORDER BY seq`)).map(rule);
}

export async function getRule(tx: SqlExecutor, id: string): Promise<RuleRow | undefined> {
  return (await tx.all<R>(`SELECT ${COLS} FROM price_rules WHERE rule_id = ?`, [id])).map(rule)[0];
}

export async function liveRuleNamed(tx: SqlExecutor, name: string): Promise<RuleRow | undefined> {
  return (await tx.all<R>(`SELECT ${COLS} FROM price_rules WHERE name = ? AND deleted_ms IS NULL`, [name])).map(rule)[0];
}

export async function insertRule(tx: SqlExecutor, r: Omit<RuleRow, "seq">): Promise<RuleRow> {
  const rows = await tx.all<R>(
    `INSERT INTO price_rules (rule_id, name, condition, expression, rule_order, tenant_id, start_ms, end_ms, description, created_ms, deleted_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLS}`,
    [r.ruleId, r.name, r.condition, r.expression, r.order, r.tenantId, r.start, r.end, r.description, r.createdAt, r.deletedAt],
  );
  return rule(rows[0] as R);
}

export async function updateRule(tx: SqlExecutor, r: RuleRow): Promise<void> {
  await tx.run(
    "UPDATE price_rules SET condition = ?, expression = ?, rule_order = ?, start_ms = ?, end_ms = ?, description = ?, deleted_ms = ? WHERE rule_id = ?",
    [r.condition, r.expression, r.order, r.start, r.end, r.description, r.deletedAt, r.ruleId],
  );
}

export interface RuleFilter extends WindowFilter {
  tenantId: string;
}

export async function listRules(tx: SqlExecutor, f: RuleFilter, page: Page): Promise<RuleRow[]> {
  const q = new PagedSelect(`SELECT ${COLS} FROM price_rules`, page).eq("tenant_id", f.tenantId);
  return (await windowFilter(q, f).all(tx)).map(rule);
}
