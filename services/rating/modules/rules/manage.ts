/**
 * Managing CEL price rules: a rule is compiled before it is stored (a rule
 * that does not compile is refused with the position of the error), and its
 * validity window follows the same rules as the hashmap's mappings
 * (validity.ts): start defaults to now, a past start needs force, and a rule
 * that has started may only get an end.
 */
import { randomUUID } from "node:crypto";
import { AlreadyExistsError, InvalidArgumentError } from "../../../../libs/errors/errors.js";
import { PriceListManager } from "../../price-list-manager.js";
import type { Page } from "../../store/table.js";
import { overlaps, ValidityRules } from "../../validity.js";
import { CelCompileError, compileCel } from "./cel.js";
import type { RuleRow } from "./repository.js";
import * as repo from "./repository.js";

export interface CreateRuleInput {
  name: string;
  condition: string;
  expression: string;
  order: number;
  tenantId: string | null;
  start: Date | undefined;
  end: Date | undefined;
  description: string;
  force: boolean;
}

export interface UpdateRuleInput {
  ruleId: string;
  condition?: string | undefined;
  expression?: string | undefined;
  order?: number | undefined;
  start?: Date | undefined;
  end?: Date | undefined;
  description?: string | undefined;
}

const WINDOW = new ValidityRules("rule");

/** Compiles a condition or expression, or refuses it naming the field and the position. */
export function checkCel(source: string, field: string): void {
  try {
    compileCel(source);
  } catch (err) {
    if (err instanceof CelCompileError) throw new InvalidArgumentError(field, err.message);
    throw err;
  }
}

export class RulesManager extends PriceListManager {
  protected readonly conflict = "a rule with this name was created at the same time; list the rules and retry";

  createRule(input: CreateRuleInput): Promise<RuleRow> {
    if (input.condition !== "") checkCel(input.condition, "condition");
    checkCel(input.expression, "expression");
    return this.write(async (tx) => {
      const now = this.clock.now().getTime();
      const { start, end } = WINDOW.created(input.start, input.end, input.force, now);
      // A name names one rule at any instant: taken if a live rule of that name shares an instant with this one.
      const named = (await repo.liveRulesNamed(tx, input.name)).find((r) => overlaps(r.start, r.end, start, end));
      if (named !== undefined) throw new AlreadyExistsError(`a rule named ${JSON.stringify(input.name)} already exists (${named.ruleId})`);
      return repo.insertRule(tx, {
        ruleId: randomUUID(),
        name: input.name,
        condition: input.condition,
        expression: input.expression,
        order: input.order,
        tenantId: input.tenantId,
        start,
        end,
        description: input.description,
        createdAt: now,
        deletedAt: null,
      });
    });
  }

  getRule(id: string): Promise<RuleRow> {
    return this.db.read((tx) => repo.rules.must(tx, id));
  }

  listRules(filter: repo.RuleFilter, page: Page): Promise<RuleRow[]> {
    return this.db.read((tx) => repo.listRules(tx, filter, page));
  }

  updateRule(input: UpdateRuleInput): Promise<RuleRow> {
    if (input.condition !== undefined && input.condition !== "") checkCel(input.condition, "condition");
    if (input.expression !== undefined) checkCel(input.expression, "expression");
    return this.write(async (tx) => {
      const current = await repo.rules.must(tx, input.ruleId);
      const changed: string[] = [];
      if (input.condition !== undefined && input.condition !== current.condition) changed.push("condition");
      if (input.expression !== undefined && input.expression !== current.expression) changed.push("expression");
      if (input.order !== undefined && input.order !== current.order) changed.push("order");
      if (input.start !== undefined && input.start.getTime() !== current.start) changed.push("start");
      if (input.end !== undefined && input.end.getTime() !== current.end) changed.push("end");
      if (input.description !== undefined && input.description !== current.description) changed.push("description");
      return WINDOW.updated(current, current.ruleId, this.clock.now().getTime(), {
        changed,
        end: input.end,
        next: () => ({
          ...current,
          condition: input.condition ?? current.condition,
          expression: input.expression ?? current.expression,
          order: input.order ?? current.order,
          start: input.start?.getTime() ?? current.start,
          end: input.end === undefined ? current.end : input.end.getTime(),
          description: input.description ?? current.description,
        }),
        check: async (next) => {
          const named = (await repo.liveRulesNamed(tx, next.name)).find(
            (r) => r.ruleId !== next.ruleId && overlaps(r.start, r.end, next.start, next.end),
          );
          if (named !== undefined) {
            throw new AlreadyExistsError(`a rule named ${JSON.stringify(next.name)} is in force at the same time (${named.ruleId})`);
          }
        },
        save: (next) => repo.updateRule(tx, next),
      });
    });
  }

  deleteRule(id: string): Promise<void> {
    return this.write(async (tx) => {
      const current = await repo.rules.must(tx, id);
      await repo.updateRule(tx, WINDOW.deleted(current, id, this.clock.now().getTime()));
    });
  }
}
