/** A WHERE clause built up condition by condition, with its parameters in the order they appear. */
import type { Param, Sql } from "./dialect.js";

export class Where {
  private readonly conditions: string[] = [];
  readonly params: Param[] = [];

  constructor(private readonly sql: Sql) {}

  add(condition: string, ...params: Param[]): this {
    this.conditions.push(condition);
    this.params.push(...params);
    return this;
  }

  /** `column` is one of `values`. */
  anyOf(column: string, values: readonly string[] | readonly number[], type: "text" | "int"): this {
    const [condition, list] = this.sql.anyOf(column, values, type);
    return this.add(condition, list);
  }

  /** The conditions joined with AND. */
  toString(): string {
    return this.conditions.join(" AND ");
  }

  /** "WHERE ... " or nothing when there is no condition. */
  clause(): string {
    return this.conditions.length > 0 ? `WHERE ${this} ` : "";
  }
}
