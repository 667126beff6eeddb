/**
 * `ratemesh summary` and `ratemesh total`: exact sums from storage over a
 * time range, grouped by any groupby keys, type, scope and a time bucket.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { SummaryRequest } from "../../libs/gen/ratemesh/v1/storage.js";
import { Decimal } from "../../libs/money/decimal.js";
import { monthStart, nextMonthStart } from "../../libs/time/period.js";
import { action, type Context } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { collectList, dateOption, examples, filterOption, formatOption, parseIntArg, precisionOption } from "../options.js";
import { type Column, displayDecimal, type Format, type Row, renderRows } from "../output.js";

const BUCKETS: Record<string, string> = { period: "time", day: "time-d", week: "time-w", month: "time-m", year: "time-y" };
const TIME_BUCKETS = new Set(Object.values(BUCKETS));
const PAGE = 1000;

interface RangeOptions {
  begin?: Date;
  end?: Date;
  filter?: Array<{ key: string; values: string[] }>;
  scope?: string[];
  type?: string[];
}

interface SummaryOptions extends RangeOptions {
  asOf?: Date;
  groupBy?: string[];
  per?: string;
  orderBy?: Array<{ column: string; descending: boolean }>;
  limit?: number;
  format: Format;
  precision: number;
  currency?: string;
}

export function addRangeOptions(cmd: Command): Command {
  return cmd
    .addOption(dateOption("-b, --begin <when>", "start of the range, included (default: start of this month, UTC)"))
    .addOption(dateOption("-e, --end <when>", "end of the range, excluded (default: start of next month)"))
    .addOption(filterOption())
    .addOption(new Option("--scope <ids>", "only these scopes (comma-separated); repeatable").argParser(collectList))
    .addOption(new Option("--type <types>", "only these rating types (comma-separated); repeatable").argParser(collectList));
}

/** The range and filters of a query, with the defaults filled in. */
export function rangeOf(o: RangeOptions, now: Date) {
  const begin = o.begin ?? monthStart(now);
  // Without an end, everything rated so far: up to the month after the later of begin and now.
  const end = o.end ?? nextMonthStart(o.begin !== undefined && o.begin > now ? o.begin : now);
  const filters = [...(o.filter ?? [])];
  if (o.scope !== undefined) filters.push({ key: "scope_id", values: o.scope });
  if (o.type !== undefined) filters.push({ key: "type", values: o.type });
  return { begin, end, filters };
}

function collectOrder(v: string, previous: Array<{ column: string; descending: boolean }> = []) {
  const m = /^([^:]+)(?::(asc|desc))?$/.exec(v);
  if (m === null) throw new InvalidArgumentError(`${JSON.stringify(v)} is not column[:asc|:desc]`);
  return [...previous, { column: m[1] as string, descending: m[2] === "desc" }];
}

/** type -> unit, from the collector's metrics configuration; empty when no collector answers. */
async function unitsByType(ctx: Context): Promise<Map<string, string>> {
  const units = new Map<string, string>();
  try {
    const { metrics } = await ctx.collector.listMetrics({}, { deadlineSeconds: 2, retry: false });
    for (const m of metrics) units.set(m.altName || m.name, m.unit);
  } catch {
    // Units are a courtesy of the table: the sums do not depend on them.
  }
  return units;
}

async function summary(ctx: Context, o: SummaryOptions): Promise<void> {
  const { begin, end, filters } = rangeOf(o, ctx.now());
  const bucket = o.per === undefined ? undefined : BUCKETS[o.per];
  const keys = (o.groupBy ?? []).filter((k) => !TIME_BUCKETS.has(k));
  const groupBy = [...(o.groupBy ?? []), ...(bucket === undefined ? [] : [bucket])];
  const bucketed = groupBy.some((k) => TIME_BUCKETS.has(k));
  const rows: Row[] = [];
  let pageToken = "";
  let totalRows = 0;
  do {
    const pageSize = o.limit === undefined ? PAGE : Math.min(PAGE, o.limit - rows.length);
    const res = await ctx.storage.summary(
      SummaryRequest.fromPartial({ begin, end, groupBy, filters, orderBy: o.orderBy ?? [], pageSize, pageToken, asOf: o.asOf }),
    );
    for (const r of res.rows) rows.push(Object.fromEntries(res.columns.map((c, i) => [c, r.values[i] ?? ""])));
    totalRows = Number(res.totalRows);
    pageToken = res.nextPageToken;
  } while (pageToken !== "" && (o.limit === undefined || rows.length < o.limit));

  const priceTitle = o.currency === undefined ? "price" : `price (${o.currency})`;
  if (o.format !== "table") {
    const columns: Column[] = [{ key: "begin" }, { key: "end" }, ...keys.map((key) => ({ key })), { key: "qty" }, { key: "price" }];
    await ctx.write(renderRows(o.format, columns, rows));
    return;
  }
  const units = keys.includes("type") ? await unitsByType(ctx) : new Map<string, string>();
  for (const r of rows) {
    r.unit = units.get(r.type ?? "") ?? "";
    r.begin = shortTime(r.begin);
    r.end = shortTime(r.end);
  }
  const columns: Column[] = [
    ...(bucketed ? [{ key: "begin" }, { key: "end" }] : []),
    ...keys.map((key) => ({ key })),
    ...(units.size > 0 ? [{ key: "unit" }] : []),
    { key: "qty", decimal: true },
    { key: "price", title: priceTitle, decimal: true },
  ];
  const billed = o.asOf === undefined ? "" : `, as billed at ${iso(o.asOf)}`;
  let text = `summary from ${iso(begin)} to ${iso(end)}${billed}\n\n${renderRows("table", columns, rows, o.precision)}`;
  if (rows.length > 1 && rows.length === totalRows) {
    const total = rows.reduce((sum, r) => sum.add(Decimal.parse(r.price || "0")), Decimal.ZERO);
    text += `\ntotal ${priceTitle}: ${displayDecimal(total.toString(), o.precision)}\n`;
  } else if (rows.length < totalRows) {
    text += `\n(${rows.length} of ${totalRows} rows; see --limit)\n`;
  }
  await ctx.write(text);
}

interface TotalOptions extends RangeOptions {
  asOf?: Date;
  format: Format;
  precision: number;
}

async function total(ctx: Context, o: TotalOptions): Promise<void> {
  const { begin, end, filters } = rangeOf(o, ctx.now());
  const res = await ctx.storage.total({ begin, end, filters, asOf: o.asOf });
  const row = { begin: iso(begin), end: iso(end), qty: res.qty, price: res.price, points: res.points };
  const columns: Column[] = [
    { key: "begin" },
    { key: "end" },
    { key: "qty", decimal: true },
    { key: "price", decimal: true },
    { key: "points", right: true },
  ];
  await ctx.write(renderRows(o.format, columns, [row], o.precision));
}

/** --as-of: the amounts as billed then, before the adjustments recorded after it (`ratemesh adjustments`). */
function asOfOption(): Option {
  return dateOption("--as-of <when>", "the amounts as billed at that time, before later re-ratings (default: now)");
}

export function register(program: Command): void {
  addRangeOptions(
    program
      .command("summary")
      .description("Exact sums of quantity and price, grouped by any keys and by time bucket")
      .addOption(
        new Option(
          "-g, --group-by <keys>",
          "group by these keys (comma-separated; repeatable): any groupby key, type, scope_id, or a time bucket time, time-d, time-w, time-m, time-y",
        ).argParser(collectList),
      )
      .addOption(new Option("--per <bucket>", "one row per time bucket").choices(Object.keys(BUCKETS))),
  )
    .addOption(
      new Option("--order-by <column[:desc]>", "sort by a result column (begin, qty, price or a key); repeatable").argParser(collectOrder),
    )
    .addOption(new Option("--limit <rows>", "at most this many rows").argParser(parseIntArg))
    .addOption(formatOption())
    .addOption(precisionOption())
    .option("--currency <code>", "label of the price column in tables, e.g. EUR")
    .addOption(asOfOption())
    .addHelpText(
      "after",
      examples(
        "ratemesh summary --begin 2026-11-01 --end 2026-11-04 -g scope_id,type",
        "ratemesh summary --begin '3 days ago' --end now -g type --per day",
        "ratemesh summary --begin -7d -g project_id --type instance --order-by price:desc --limit 10",
        "ratemesh summary --begin november -g scope_id --format csv",
        "ratemesh summary --begin november -g scope_id,type --as-of 2026-12-01",
      ),
    )
    .action(action(summary));

  addRangeOptions(program.command("total").description("Exact total quantity and price over a range"))
    .addOption(formatOption())
    .addOption(precisionOption())
    .addOption(asOfOption())
    .addHelpText(
      "after",
      examples(
        "ratemesh total --begin 2026-11-01 --end 2026-11-04 --scope acme-prod",
        "ratemesh total --begin november --scope acme-prod --as-of '2026-12-01T09:00:00Z'",
      ),
    )
    .action(action(total));
}
