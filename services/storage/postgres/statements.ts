/**
 * PostgreSQL's side of the Sql handle (pg): `?` numbered as `$n`, lists as
 * array parameters (one parameter however long the list), NUMERIC for
 * exact decimals (pg hands them over as text), row locks, COPY for the
 * points and unnest() for other bulk inserts: few round trips per commit.
 */
import { createHash } from "node:crypto";
import type { PgClient } from "../../../libs/db/postgres.js";
import { type Column, type InsertOptions, insertTail, type Param, type Row, type Sql } from "../engine/dialect.js";
import { arrayLiteral } from "./arrays.js";
import { copyPointRows } from "./copy.js";
import { insertSums, NUMERIC, type Queryable, sumGroups, writeSums } from "./numeric.js";

export class PgStatements implements Sql {
  readonly exact = NUMERIC;
  /** A long map would not fit a btree entry: groupsets are keyed by the SHA-256 of the map. */
  readonly groupsetKey = { column: "digest", of: (canon: string) => createHash("sha256").update(canon).digest("hex") };

  /**
   * @param db the transaction's client, or the pool for reads
   * @param numbered SQL texts with `$n` placeholders, by their `?` text
   */
  constructor(
    private readonly db: Queryable,
    private readonly numbered: Map<string, string>,
    private readonly client: PgClient | undefined,
  ) {}

  /** The text with `$n` placeholders. */
  private readonly text = (sql: string): string => {
    let out = this.numbered.get(sql);
    if (out === undefined) {
      let n = 0;
      out = sql.replace(/\?/g, () => `$${++n}`);
      this.numbered.set(sql, out);
    }
    return out;
  };

  async all<R extends object = Row>(text: string, params: readonly Param[] = []): Promise<R[]> {
    return (await this.db.query(this.text(text), params as unknown[])).rows as R[];
  }

  async arrays(text: string, params: readonly Param[] = []): Promise<unknown[][]> {
    return (await this.db.query({ text: this.text(text), values: params as unknown[], rowMode: "array" })).rows as unknown[][];
  }

  async run(text: string, params: readonly Param[] = []): Promise<number> {
    return (await this.db.query(this.text(text), params as unknown[])).rowCount ?? 0;
  }

  anyOf(column: string, values: readonly string[] | readonly number[], type: "text" | "int"): [string, Param] {
    return [`${column} = ANY(?::${type}[])`, arrayLiteral(values, type === "text")];
  }

  lock(alias?: string): string {
    return alias === undefined ? " FOR UPDATE" : ` FOR UPDATE OF ${alias}`;
  }

  bytewise(column: string): string {
    return `${column} COLLATE "C"`;
  }

  async insertRows(table: string, columns: readonly Column[], rows: Param[][], opts: InsertOptions = {}): Promise<Row[]> {
    const arrays = columns.map((c, j) =>
      arrayLiteral(
        rows.map((r) => r[j] ?? null),
        c.type === "text",
      ),
    );
    const text =
      `INSERT INTO ${table} (${columns.map((c) => c.name).join(", ")}) ` +
      `SELECT * FROM unnest(${columns.map((c, j) => `$${j + 1}::${c.type}[]`).join(", ")})${insertTail(opts)}`;
    return (await this.db.query(text, arrays)).rows as Row[];
  }

  /** COPY: about twice as fast as an INSERT over unnest(). */
  readonly pointRows: Sql["pointRows"] = (...args) => {
    if (this.client === undefined) throw new Error("points are written in a write transaction");
    return copyPointRows(this.client, ...args);
  };

  readonly writeSums: Sql["writeSums"] = (...args) => writeSums(this.db, ...args);
  readonly sumGroups: Sql["sumGroups"] = (q) => sumGroups(this.db, this.text, q);
  readonly insertSums: Sql["insertSums"] = (...args) => insertSums(this.db, this.text, ...args);
}
