/**
 * What storage's behaviour needs from a database engine, and all it needs.
 * The behaviour (engine/*.ts) is written once against these two
 * interfaces; an engine (sqlite/, postgres/) implements them with its
 * driver, its SQL and its way of keeping exact decimals.
 *
 * SQL handed to `all` and `run` is the part both engines understand:
 * `?` placeholders, `INSERT ... ON CONFLICT ... DO NOTHING/UPDATE`,
 * `RETURNING`, row values, `"end"` quoted. What differs goes through the
 * fragments below (lists, row locks, byte-order comparison) or is a
 * statement of its own (bulk inserts, exact sums).
 */
import type { Decimal } from "../../../libs/money/decimal.js";
import type { ConnectionStats, StoredPoint } from "../domain.js";
import type { Parts } from "./exact.js";

export type Param = string | number | bigint | boolean | null;

/** A row as the driver returns it: integers may come as number, bigint or string, and are converted by the reader. */
export type Row = Record<string, unknown>;

export interface Column {
  name: string;
  type: ColumnType;
}

export type ColumnType = "int" | "bigint" | "text" | "numeric";

/** The columns of an insert, in order: { name: type, ... }. */
export function columns(types: Record<string, ColumnType>): Column[] {
  return Object.entries(types).map(([name, type]) => ({ name, type }));
}

/** Exact sums of qty and price over `from`, grouped by `groups` (SQL expressions over the alias s). */
export interface GroupSums {
  groups: string[];
  from: string;
  where: string;
  params: Param[];
  /** The number of points a row stands for; undefined: each row is one point. */
  count?: string;
}

export interface GroupSumRow {
  /** The value of each group expression. */
  keys: unknown[];
  count: number;
  qty: Decimal;
  price: Decimal;
}

export interface InsertOptions {
  /** Skip a row that conflicts on this unique key (columns). */
  skipConflictOn?: string;
  /** Return these columns of the rows inserted. */
  returning?: string;
}

/** What follows the rows of an INSERT with these options. */
export function insertTail(opts: InsertOptions): string {
  return (
    (opts.skipConflictOn === undefined ? "" : ` ON CONFLICT (${opts.skipConflictOn}) DO NOTHING`) +
    (opts.returning === undefined ? "" : ` RETURNING ${opts.returning}`)
  );
}

/** A type's totals: a row of sums_period, or a change to a row of sums_day. */
export interface TypeSum {
  typeRef: number;
  count: number;
  qty: Decimal;
  price: Decimal;
}

/** The rows of one frame's points, added one by one from the commit's loop and stored in bulk. */
export interface PointRows {
  /** The row of point `seq`; `qty` and `price` are its parsed parts, reused for the next point: copy what you keep. */
  add(seq: number, typeRef: number, groupsetRef: number, point: StoredPoint, qty: Parts, price: Parts): void;
  /** Stores what add() has not stored yet. */
  flush(): Promise<void>;
}

/** How an engine reads an exact decimal column (`name`: qty, price): one NUMERIC, or several parts. */
export interface ExactColumns {
  /** The select list that reads `name` (from the table alias, if given). */
  select(name: string, alias?: string): string;
  /** The value of `name` in a row read with select(). */
  read(row: Row, name: string): Decimal;
  /**
   * An SQL expression of the value of `name` (of the table alias) as exact
   * text ("12.50", "-3", "0.001"; trailing zeros may remain), for reads
   * that take rows as arrays (Sql.arrays).
   */
  text(name: string, alias: string): string;
}

/**
 * A handle on the database inside one transaction or read: statements,
 * the engine's fragments of SQL, and the statements only the engine can
 * write.
 */
export interface Sql {
  all<R extends object = Row>(text: string, params?: readonly Param[]): Promise<R[]>;
  /**
   * Rows as arrays, integers as JS numbers: only for integer columns known
   * to stay below 2^53 (references, epoch seconds, sequence numbers); read
   * exact decimals as text (ExactColumns.text). Faster than all() for bulk
   * reads: no object per row, no BigInt per integer.
   */
  arrays(text: string, params?: readonly Param[]): Promise<unknown[][]>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(text: string, params?: readonly Param[]): Promise<number>;

  /** A condition "column is one of values", taking one parameter: [condition, parameter]. */
  anyOf(column: string, values: readonly string[] | readonly number[], type: "text" | "int"): [string, Param];
  /** The end of a SELECT that locks the rows it reads (of one table alias) until the transaction ends; "" if writers are already serialised. */
  lock(alias?: string): string;
  /** A text column compared and ordered byte by byte, whatever the database's collation. */
  bytewise(column: string): string;
  readonly exact: ExactColumns;
  /** How groupsets are keyed: by the canonical JSON itself, or by a digest of it (a long map would not fit an index entry). */
  readonly groupsetKey: { column: string; of(canon: string): string };

  /** INSERT rows into table (see InsertOptions). */
  insertRows(table: string, columns: readonly Column[], rows: Param[][], opts?: InsertOptions): Promise<Row[]>;
  pointRows(scopeRef: number, begin: number, count: number): PointRows;
  /** Inserts a period's sums_period rows, and adds `dayDelta` to sums_day (a row left with no point goes). */
  writeSums(scopeRef: number, begin: number, day: number, period: TypeSum[], dayDelta: TypeSum[]): Promise<void>;
  /** Exact grouped sums. */
  sumGroups(q: GroupSums): Promise<GroupSumRow[]>;
  /** INSERT INTO table (columns..., points, the exact qty and price columns) the rows of sumGroups(q). */
  insertSums(table: string, columns: string[], q: GroupSums): Promise<void>;
}

/** An engine's connection(s). Every statement runs through one of these. */
export interface Dialect {
  /**
   * One write transaction, all or nothing. Its writes are serialised with
   * every other writer of the rows it locks (SQLite: of the whole file),
   * so what it reads before writing is still true when it commits.
   */
  write<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /** Reads that see one snapshot of the database from the first to the last. */
  snapshot<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /** Reads with no snapshot in common (each statement sees what is committed when it runs). */
  read<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  ping(): Promise<boolean>;
  connections(): ConnectionStats;
  close(): Promise<void>;
}

/** Integer columns come back as number (SQLite, pg INTEGER), bigint (SQLite safe integers) or string (pg BIGINT). */
export function int(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}

export function intOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : int(v);
}

/** A BOOLEAN (pg) or an INTEGER 0/1 (SQLite). */
export function bool(v: unknown): boolean {
  return v === true || v === 1 || v === 1n;
}
