/**
 * Exact decimals on SQLite: a value is kept in four columns, the integer
 * parts <name>_i, <name>_f1, <name>_f2 and the text <name>_x (see
 * ../engine/exact.ts). SQLite sums the parts natively and exactly; the few
 * values kept as text, and sums beyond int64, are summed in BigInt.
 */
import type { Statement } from "better-sqlite3";
import { Decimal } from "../../../libs/money/decimal.js";
import type { ExactColumns, GroupSumRow, GroupSums, Param, Row, TypeSum } from "../engine/dialect.js";
import { decimalOfSums, type Parts, PartsSum, partsOfDecimal } from "../engine/exact.js";

export const EXACT_COLUMNS = "qty_i, qty_f1, qty_f2, qty_x, price_i, price_f1, price_f2, price_x";

const S_EXACT_COLUMNS = EXACT_COLUMNS.split(", ")
  .map((c) => `s.${c}`)
  .join(", ");

export function exactValue(i: unknown, f1: unknown, f2: unknown, x: unknown): Decimal {
  const v = decimalOfSums(i as bigint, f1 as bigint, f2 as bigint);
  return x === null || x === undefined ? v : v.add(Decimal.parse(x as string));
}

export function partsParams(d: Decimal): Param[] {
  const p = partsOfDecimal(d);
  return [p.i, p.f1, p.f2, p.x];
}

/** The parts of a value read with safe integers (i may be a bigint). */
function partsOf(row: Row, name: string): Parts {
  return {
    i: row[`${name}_i`] as bigint,
    f1: Number(row[`${name}_f1`]),
    f2: Number(row[`${name}_f2`]),
    x: row[`${name}_x`] as string | null,
  };
}

export const PARTS: ExactColumns = {
  select: (name: string, alias?: string) =>
    ["i", "f1", "f2", "x"].map((part) => (alias === undefined ? `${name}_${part}` : `${alias}.${name}_${part}`)).join(", "),
  read: (row: Row, name: string) => exactValue(row[`${name}_i`], row[`${name}_f1`], row[`${name}_f2`], row[`${name}_x`]),
  text: (name: string, alias: string) => {
    const c = (part: string) => `${alias}.${name}_${part}`;
    // A point's parts share its sign and |f1|, |f2| < 10^9 (../engine/exact.ts); a value kept as text has zero parts.
    return `(CASE WHEN ${c("x")} IS NOT NULL THEN ${c("x")} ELSE (CASE WHEN ${c("i")} < 0 OR ${c("f1")} < 0 OR ${c("f2")} < 0 THEN '-' ELSE '' END) || abs(${c("i")}) || (CASE WHEN ${c("f1")} = 0 AND ${c("f2")} = 0 THEN '' ELSE '.' || rtrim(printf('%09d%09d', abs(${c("f1")}), abs(${c("f2")})), '0') END) END)`;
  },
};

export function isOverflow(err: unknown): boolean {
  return err instanceof Error && /integer overflow/.test(err.message);
}

type Prepare = (sql: string) => Statement<unknown[]>;

/** SELECT list, GROUP BY list and count expression of grouped sums. */
function shape(q: GroupSums): { select: string; groupBy: string; n: string } {
  return {
    select: q.groups.map((g, n) => `${g} AS g${n}`).join(", "),
    groupBy: q.groups.map((_, n) => n + 1).join(", "),
    n: q.count ?? "1",
  };
}

const keyOf = (r: Row, groups: number) => Array.from({ length: groups }, (_, n) => String(r[`g${n}`])).join("\u0000");
const keysOf = (r: Row, groups: number) => Array.from({ length: groups }, (_, n) => r[`g${n}`]);

/**
 * Exact grouped sums: SUM() over the integer parts in SQL, plus the few
 * values kept as text; when an integer sum leaves int64 (SQLite raises an
 * error), the same rows summed in BigInt.
 */
export function sumGroups(prepare: Prepare, q: GroupSums): GroupSumRow[] {
  const { select, groupBy, n } = shape(q);
  const count = q.count === undefined ? "COUNT(*)" : `SUM(${q.count})`;
  const k = q.groups.length;
  const out = new Map<string, GroupSumRow>();
  try {
    const rows = prepare(
      `SELECT ${select}, ${count} AS n, SUM(s.qty_i) AS qi, SUM(s.qty_f1) AS qf1, SUM(s.qty_f2) AS qf2,
         SUM(s.price_i) AS pi, SUM(s.price_f1) AS pf1, SUM(s.price_f2) AS pf2,
         SUM(s.qty_x IS NOT NULL OR s.price_x IS NOT NULL) AS xn
       FROM ${q.from} WHERE ${q.where} GROUP BY ${groupBy}`,
    ).all(q.params) as Row[];
    let texts = false;
    for (const r of rows) {
      out.set(keyOf(r, k), {
        keys: keysOf(r, k),
        count: Number(r.n),
        qty: decimalOfSums(r.qi as bigint, r.qf1 as bigint, r.qf2 as bigint),
        price: decimalOfSums(r.pi as bigint, r.pf1 as bigint, r.pf2 as bigint),
      });
      if (Number(r.xn) > 0) texts = true;
    }
    if (!texts) return [...out.values()];
    // The few values kept as text were counted above with zero parts: add them.
    const extra = prepare(
      `SELECT ${select}, s.qty_x, s.price_x FROM ${q.from} WHERE ${q.where} AND (s.qty_x IS NOT NULL OR s.price_x IS NOT NULL)`,
    ).iterate(q.params) as Iterable<Row>;
    for (const r of extra) {
      const row = out.get(keyOf(r, k));
      if (row === undefined) continue;
      if (r.qty_x !== null) row.qty = row.qty.add(Decimal.parse(r.qty_x as string));
      if (r.price_x !== null) row.price = row.price.add(Decimal.parse(r.price_x as string));
    }
    return [...out.values()];
  } catch (err) {
    if (!isOverflow(err)) throw err;
  }
  // Integer parts whose sum leaves int64: the same rows, summed in BigInt.
  const sums = new Map<string, { keys: unknown[]; count: number; qty: PartsSum; price: PartsSum }>();
  const rows = prepare(`SELECT ${select}, ${n} AS n, ${S_EXACT_COLUMNS} FROM ${q.from} WHERE ${q.where}`).iterate(
    q.params,
  ) as Iterable<Row>;
  for (const r of rows) {
    const key = keyOf(r, k);
    let s = sums.get(key);
    if (s === undefined) {
      s = { keys: keysOf(r, k), count: 0, qty: new PartsSum(), price: new PartsSum() };
      sums.set(key, s);
    }
    s.count += Number(r.n);
    s.qty.add(partsOf(r, "qty"));
    s.price.add(partsOf(r, "price"));
  }
  return [...sums.values()].map((s) => ({ keys: s.keys, count: s.count, qty: s.qty.value(), price: s.price.value() }));
}

/** INSERT INTO table the grouped sums: in SQL when the integer parts suffice, else through sumGroups. */
export function insertSums(prepare: Prepare, table: string, columns: string[], q: GroupSums): void {
  const into = `INSERT INTO ${table} (${columns.join(", ")}, points, ${EXACT_COLUMNS})`;
  const texts = prepare(
    `SELECT EXISTS (SELECT 1 FROM ${q.from} WHERE ${q.where} AND (s.qty_x IS NOT NULL OR s.price_x IS NOT NULL)) AS x`,
  ).get(q.params) as Row;
  if (Number(texts.x) === 0) {
    try {
      const { select, groupBy, n } = shape(q);
      prepare(
        `${into} SELECT ${select}, SUM(${n}), SUM(s.qty_i), SUM(s.qty_f1), SUM(s.qty_f2), NULL,
           SUM(s.price_i), SUM(s.price_f1), SUM(s.price_f2), NULL
         FROM ${q.from} WHERE ${q.where} GROUP BY ${groupBy}`,
      ).run(q.params);
      return;
    } catch (err) {
      if (!isOverflow(err)) throw err;
    }
  }
  const insert = prepare(
    `${into} VALUES (${Array(columns.length + 9)
      .fill("?")
      .join(", ")})`,
  );
  for (const g of sumGroups(prepare, q)) insert.run([...g.keys, g.count, ...partsParams(g.qty), ...partsParams(g.price)] as unknown[]);
}

/**
 * The period's sums_period rows; sums_day is read, added to exactly in
 * BigInt, and written back (the parts of a sum stay normalised).
 */
export function writeSums(prepare: Prepare, scopeRef: number, begin: number, day: number, period: TypeSum[], dayDelta: TypeSum[]): void {
  const insert = prepare(
    `INSERT INTO sums_period (scope_ref, begin, type_ref, points, ${EXACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const s of period) insert.run(scopeRef, begin, s.typeRef, s.count, ...partsParams(s.qty), ...partsParams(s.price));
  const read = prepare(`SELECT points, ${EXACT_COLUMNS} FROM sums_day WHERE scope_ref = ? AND day = ? AND type_ref = ?`);
  const upsert = prepare(
    `INSERT INTO sums_day (scope_ref, day, type_ref, points, ${EXACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (scope_ref, day, type_ref) DO UPDATE SET points = excluded.points,
       qty_i = excluded.qty_i, qty_f1 = excluded.qty_f1, qty_f2 = excluded.qty_f2, qty_x = excluded.qty_x,
       price_i = excluded.price_i, price_f1 = excluded.price_f1, price_f2 = excluded.price_f2, price_x = excluded.price_x`,
  );
  for (const d of dayDelta) {
    const row = read.get(scopeRef, day, d.typeRef) as Row | undefined;
    const count = (row === undefined ? 0 : Number(row.points)) + d.count;
    if (count === 0) {
      prepare("DELETE FROM sums_day WHERE scope_ref = ? AND day = ? AND type_ref = ?").run(scopeRef, day, d.typeRef);
      continue;
    }
    const qty = row === undefined ? d.qty : exactValue(row.qty_i, row.qty_f1, row.qty_f2, row.qty_x).add(d.qty);
    const price = row === undefined ? d.price : exactValue(row.price_i, row.price_f1, row.price_f2, row.price_x).add(d.price);
    upsert.run(scopeRef, day, d.typeRef, count, ...partsParams(qty), ...partsParams(price));
  }
}
