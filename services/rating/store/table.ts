/**
 * One table of the rating database, its rows read as T: the statements every
 * repository writes alike (a row by id, insert, update, delete, a page of a
 * listing), written once. Values are always parameters; table and column
 * names come from the repositories, never from a request.
 */
import { NotFoundError } from "../../../libs/errors/errors.js";
import type { Row, SqlExecutor, SqlValue } from "./sql.js";

/** One page of a listing in creation order: the rows after seq `afterSeq`, at most `limit` of them. */
export interface Page {
  afterSeq: number;
  limit: number;
}

export class Table<T> {
  constructor(
    readonly name: string,
    /** The id column; a NOT_FOUND names it as the field ("service_id: hashmap service"). */
    readonly idColumn: string,
    /** What a NOT_FOUND calls a row. */
    private readonly noun: string,
    /** The columns a row is read from, seq among them. */
    private readonly columns: string,
    private readonly read: (r: Row) => T,
  ) {}

  /** The rows of `SELECT columns FROM table <rest>`, rest being WHERE and ORDER BY clauses. */
  async select(tx: SqlExecutor, rest: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await tx.all(`SELECT ${this.columns} FROM ${this.name} ${rest}`, params)).map(this.read);
  }

  async first(tx: SqlExecutor, where: string, params: readonly SqlValue[]): Promise<T | undefined> {
    return (await this.select(tx, `WHERE ${where}`, params))[0];
  }

  get(tx: SqlExecutor, id: string): Promise<T | undefined> {
    return this.first(tx, `${this.idColumn} = ?`, [id]);
  }

  /** The row with this id, or NOT_FOUND. */
  async must(tx: SqlExecutor, id: string): Promise<T> {
    const row = await this.get(tx, id);
    if (row === undefined) throw new NotFoundError(`${this.idColumn}: ${this.noun}`, id);
    return row;
  }

  /** Inserts a row (column → value) and returns it as stored. */
  async insert(tx: SqlExecutor, values: Record<string, SqlValue>): Promise<T> {
    const columns = Object.keys(values);
    const rows = await tx.all(
      `INSERT INTO ${this.name} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) RETURNING ${this.columns}`,
      Object.values(values),
    );
    return this.read(rows[0] as Row);
  }

  /** Sets the columns (column → value) of the row with this id. */
  async update(tx: SqlExecutor, id: string, values: Record<string, SqlValue>): Promise<void> {
    const columns = Object.keys(values);
    await tx.run(`UPDATE ${this.name} SET ${columns.map((c) => `${c} = ?`).join(", ")} WHERE ${this.idColumn} = ?`, [
      ...Object.values(values),
      id,
    ]);
  }

  async delete(tx: SqlExecutor, id: string): Promise<void> {
    await tx.run(`DELETE FROM ${this.name} WHERE ${this.idColumn} = ?`, [id]);
  }

  /** A page of the table in creation order, to narrow with filters. */
  page(page: Page): PagedSelect<T> {
    return new PagedSelect(`SELECT ${this.columns} FROM ${this.name}`, page, this.read);
  }
}

/** A listing in creation order, one page of it, with filters added one by one. */
export class PagedSelect<T> {
  private readonly conditions = ["seq > ?"];
  private readonly params: SqlValue[];

  constructor(
    private readonly select: string,
    private readonly page: Page,
    private readonly read: (r: Row) => T,
  ) {
    this.params = [page.afterSeq];
  }

  /** `column = value`; an empty value does not filter. */
  eq(column: string, value: string): this {
    if (value !== "") this.where(`${column} = ?`, value);
    return this;
  }

  where(condition: string, ...params: SqlValue[]): this {
    this.conditions.push(condition);
    this.params.push(...params);
    return this;
  }

  async all(tx: SqlExecutor): Promise<T[]> {
    const sql = `${this.select} WHERE ${this.conditions.join(" AND ")} ORDER BY seq LIMIT ?`;
    return (await tx.all(sql, [...this.params, this.page.limit])).map(this.read);
  }
}
