/**
 * Managing CEL price rules: a rule is compiled before it is stored (a rule
 * that does not compile is refused with the position of the error), and its
 * validity window follows the hashmap mappings' rules: start defaults to
 * now, a past start needs force, and a rule that has started may only get
 * an end.
 */
import { randomUUID } from "node:crypto";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../../../libs/errors/errors.js";
import type { Clock } from "../../../../libs/time/period.js";
import { isUniqueViolation, type SqlDatabase, type SqlExecutor } from "../../store/sql.js";
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

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Compiles a condition or expression, or refuses it naming the field and the position. */
export function checkCel(source: string, field: string): void {
  try {
    compileCel(source);
  } catch (err) {
    if (err instanceof CelCompileError) throw new InvalidArgumentError(field, err.message);
    throw err;
  }
}

export class RulesManager {
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
    private readonly onChange: (version: number) => Promise<void>,
  ) {}

  private async write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let out: { result: T; version: number };
    try {
      out = await this.db.write(fn);
    } catch (err) {
      if (isUniqueViolation(err))
        throw new AlreadyExistsError("a rule with this name was created at the same time; list the rules and retry");
      throw err;
    }
    await this.onChange(out.version);
    return out.result;
  }

  createRule(input: CreateRuleInput): Promise<RuleRow> {
    if (input.condition !== "") checkCel(input.condition, "condition");
    checkCel(input.expression, "expression");
    return this.write(async (tx) => {
      const now = this.clock.now().getTime();
      const start = input.start?.getTime() ?? now;
      if (!input.force && start < now) {
        throw new InvalidArgumentError(
          "start",
          `${iso(start)} is in the past (now ${iso(now)}): it would change the price of periods that may already be rated; set force to do it anyway`,
        );
      }
      const end = input.end?.getTime() ?? null;
      if (end !== null && end <= start)
        throw new InvalidArgumentError("end", `${iso(end)} is not after start ${iso(start)}: the rule would never apply`);
      const named = await repo.liveRuleNamed(tx, input.name);
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
    return this.db.read((tx) => mustRule(tx, id));
  }

  listRules(filter: repo.RuleFilter, page: { afterSeq: number; limit: number }): Promise<RuleRow[]> {
    return this.db.read((tx) => repo.listRules(tx, filter, page));
  }

  updateRule(input: UpdateRuleInput): Promise<RuleRow> {
    if (input.condition !== undefined && input.condition !== "") checkCel(input.condition, "condition");
    if (input.expression !== undefined) checkCel(input.expression, "expression");
    return this.write(async (tx) => {
      const current = await mustRule(tx, input.ruleId);
      if (current.deletedAt !== null)
        throw new FailedPreconditionError(`rule ${current.ruleId} was deleted at ${iso(current.deletedAt)} and cannot change`);
      const now = this.clock.now().getTime();
      const changed: string[] = [];
      if (input.condition !== undefined && input.condition !== current.condition) changed.push("condition");
      if (input.expression !== undefined && input.expression !== current.expression) changed.push("expression");
      if (input.order !== undefined && input.order !== current.order) changed.push("order");
      if (input.start !== undefined && input.start.getTime() !== current.start) changed.push("start");
      if (input.end !== undefined && input.end.getTime() !== current.end) changed.push("end");
      if (input.description !== undefined && input.description !== current.description) changed.push("description");
      if (current.start <= now) {
        const other = changed.find((f) => f !== "end");
        if (other !== undefined) {
          throw new InvalidArgumentError(
            other,
            `cannot change: the rule has been in force since ${iso(current.start)}; only its end can be set (end-date it and create a new rule)`,
          );
        }
        if (!changed.includes("end")) return current;
        if (current.end !== null)
          throw new InvalidArgumentError("end", `cannot change: the rule has started and already ends at ${iso(current.end)}`);
        const end = (input.end as Date).getTime();
        if (end < now) throw new InvalidArgumentError("end", `${iso(end)} is in the past (now ${iso(now)}): an end must be in the future`);
        const next = { ...current, end };
        await repo.updateRule(tx, next);
        return next;
      }
      if (changed.length === 0) return current;
      const next: RuleRow = {
        ...current,
        condition: input.condition ?? current.condition,
        expression: input.expression ?? current.expression,
        order: input.order ?? current.order,
        start: input.start?.getTime() ?? current.start,
        end: input.end === undefined ? current.end : input.end.getTime(),
        description: input.description ?? current.description,
      };
      if (next.start < now)
        throw new InvalidArgumentError(
          "start",
          `${iso(next.start)} is in the past (now ${iso(now)}): a rule's start cannot move into the past`,
        );
      if (next.end !== null && next.end <= next.start) {
        throw new InvalidArgumentError("end", `${iso(next.end)} is not after start ${iso(next.start)}: the rule would never apply`);
      }
      await repo.updateRule(tx, next);
      return next;
    });
  }

  deleteRule(id: string): Promise<void> {
    return this.write(async (tx) => {
      const current = await mustRule(tx, id);
      if (current.deletedAt !== null) throw new FailedPreconditionError(`rule ${id} was already deleted at ${iso(current.deletedAt)}`);
      await repo.updateRule(tx, { ...current, deletedAt: this.clock.now().getTime() });
    });
  }
}

async function mustRule(tx: SqlExecutor, id: string): Promise<RuleRow> {
  const r = await repo.getRule(tx, id);
  if (r === undefined) throw new NotFoundError("rule_id: rule", id);
  return r;
}
