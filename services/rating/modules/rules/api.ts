/** RulesService handlers: field-by-field checks, then the manager. */
import { InvalidArgumentError } from "../../../../libs/errors/errors.js";
import type { PriceRule, RulesServiceService } from "../../../../libs/gen/ratemesh/v1/rating.js";
import type { Handlers } from "../../../../libs/grpc/server.js";
import { optionalDate, requireText } from "../../../../libs/validation/fields.js";
import { pageOf, requestedPage } from "../../paging.js";
import { MAX_SOURCE } from "./cel.js";
import type { RulesManager } from "./manage.js";
import type { RuleRow } from "./repository.js";

/** The row as stored, with its times as dates and no tenant as "". */
function toRuleMessage(r: RuleRow): PriceRule {
  const { seq: _, ...rule } = r;
  return {
    ...rule,
    tenantId: r.tenantId ?? "",
    start: new Date(r.start),
    end: r.end === null ? undefined : new Date(r.end),
    createdAt: new Date(r.createdAt),
    deletedAt: r.deletedAt === null ? undefined : new Date(r.deletedAt),
  };
}

function limited(value: string, field: string, max: number): string {
  if (value.length > max) throw new InvalidArgumentError(field, `is ${value.length} characters long; at most ${max}`);
  return value;
}

export function rulesHandlers(manager: RulesManager): Handlers<typeof RulesServiceService> {
  return {
    async createRule(req) {
      const name = requireText(req.name, "name");
      if (name !== name.trim()) throw new InvalidArgumentError("name", `${JSON.stringify(name)} has leading or trailing spaces`);
      const rule = await manager.createRule({
        name: limited(name, "name", 64),
        condition: limited(req.condition, "condition", MAX_SOURCE),
        expression: limited(requireText(req.expression, "expression"), "expression", MAX_SOURCE),
        order: req.order,
        tenantId: req.tenantId === "" ? null : limited(req.tenantId, "tenant_id", 255),
        start: optionalDate(req.start, "start"),
        end: optionalDate(req.end, "end"),
        description: limited(req.description, "description", 256),
        force: req.force,
      });
      return { rule: toRuleMessage(rule) };
    },
    async getRule(req) {
      return { rule: toRuleMessage(await manager.getRule(requireText(req.ruleId, "rule_id"))) };
    },
    async listRules(req) {
      const p = requestedPage(req.pageToken, req.pageSize);
      const rows = await manager.listRules(
        { tenantId: req.tenantId, includeDeleted: req.includeDeleted, activeAt: optionalDate(req.activeAt, "active_at")?.getTime() },
        p,
      );
      const { items, next } = pageOf(rows, p);
      return { rules: items.map(toRuleMessage), nextPageToken: next };
    },
    async updateRule(req) {
      const ruleId = requireText(req.ruleId, "rule_id");
      if (req.expression !== undefined) requireText(req.expression, "expression");
      const rule = await manager.updateRule({
        ruleId,
        condition: req.condition === undefined ? undefined : limited(req.condition, "condition", MAX_SOURCE),
        expression: req.expression === undefined ? undefined : limited(req.expression, "expression", MAX_SOURCE),
        order: req.order,
        start: optionalDate(req.start, "start"),
        end: optionalDate(req.end, "end"),
        description: req.description === undefined ? undefined : limited(req.description, "description", 256),
      });
      return { rule: toRuleMessage(rule) };
    },
    async deleteRule(req) {
      await manager.deleteRule(requireText(req.ruleId, "rule_id"));
      return {};
    },
  };
}
