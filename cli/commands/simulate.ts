/**
 * `ratemesh simulate`: what a stored window would have cost under another
 * price list (SimulationService/Simulate on rating): per project and type
 * by default, the price billed (old), the price simulated (new) and the
 * difference, exact. Nothing is written anywhere.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { SimulateRequest, type SimulationRow, SimulationServiceService } from "../../libs/gen/ratemesh/v1/simulation.js";
import { action, type Context } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { collectList, examples, formatOption, precisionOption } from "../options.js";
import { type Column, displayDecimal, type Format, type Row, renderRows } from "../output.js";
import { addRangeOptions, rangeOf } from "./summary.js";

const BUCKETS: Record<string, string> = { period: "time", day: "time-d", week: "time-w", month: "time-m", year: "time-y" };
const TIME_BUCKETS = new Set(Object.values(BUCKETS));

interface SimulateOptions {
  begin?: Date;
  end?: Date;
  filter?: Array<{ key: string; values: string[] }>;
  scope?: string[];
  type?: string[];
  draft?: string;
  priceVersion?: string;
  groupBy?: string[];
  per?: string;
  format: Format;
  precision: number;
}

function parseVersion(v: string): string {
  if (!/^[1-9]\d*$/.test(v)) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a version number (1, 2, ...)`);
  return v;
}

function priceListOf(o: SimulateOptions): SimulateRequest["priceList"] {
  if (o.draft !== undefined) return { $case: "draft", value: o.draft };
  if (o.priceVersion !== undefined) return { $case: "version", value: o.priceVersion };
  return { $case: "inForce", value: {} };
}

async function simulate(ctx: Context, o: SimulateOptions): Promise<void> {
  // Scopes go in scope_ids (what a project-scoped caller is confined by), not in a filter.
  const { scope, ...range } = o;
  const { begin, end, filters } = rangeOf(range, ctx.now());
  const bucket = o.per === undefined ? undefined : BUCKETS[o.per];
  const given = o.groupBy ?? ["scope_id", "type"];
  const groupBy = [...given, ...(bucket === undefined ? [] : [bucket])];
  const keys = groupBy.filter((k) => !TIME_BUCKETS.has(k));
  const bucketed = groupBy.some((k) => TIME_BUCKETS.has(k));
  const req = SimulateRequest.fromPartial({ begin, end, scopeIds: scope ?? [], filters, groupBy, priceList: priceListOf(o) });
  const rows: Row[] = [];
  let totals: Row | undefined;
  let priceList = "";
  const simulation = ctx.connection("rating").client(SimulationServiceService);
  for await (const m of simulation.simulate(req)) {
    for (const r of m.rows) rows.push(rowOf(r, keys));
    if (m.totals !== undefined) {
      priceList = m.totals.priceList;
      totals = { old: m.totals.billed, new: m.totals.simulated, delta: m.totals.delta, points: m.totals.points };
    }
  }
  if (o.format !== "table") {
    const columns: Column[] = [
      { key: "begin" },
      { key: "end" },
      ...keys.map((key) => ({ key })),
      { key: "qty" },
      { key: "old" },
      { key: "new" },
      { key: "delta" },
      { key: "points" },
    ];
    await ctx.write(renderRows(o.format, columns, rows));
    return;
  }
  for (const r of rows) {
    r.begin = shortTime(r.begin);
    r.end = shortTime(r.end);
  }
  const columns: Column[] = [
    ...(bucketed ? [{ key: "begin" }, { key: "end" }] : []),
    ...keys.map((key) => ({ key })),
    { key: "qty", decimal: true },
    { key: "old", decimal: true },
    { key: "new", decimal: true },
    { key: "delta", decimal: true },
  ];
  let text = `simulation from ${iso(begin)} to ${iso(end)} under the price list ${priceList}: old = billed, new = simulated\n\n`;
  text += renderRows("table", columns, rows, o.precision);
  if (totals !== undefined) {
    const d = (v: string | undefined) => displayDecimal(v ?? "0", o.precision);
    text += `\ntotal: old ${d(totals.old)}, new ${d(totals.new)}, delta ${d(totals.delta)} (${totals.points} points repriced, nothing written)\n`;
  }
  await ctx.write(text);
}

function rowOf(r: SimulationRow, keys: string[]): Row {
  return {
    begin: r.begin?.toISOString() ?? "",
    end: r.end?.toISOString() ?? "",
    ...Object.fromEntries(keys.map((k, i) => [k, r.groups[i] ?? ""])),
    qty: r.qty,
    old: r.billed,
    new: r.simulated,
    delta: r.delta,
    points: r.points,
  };
}

export function register(program: Command): void {
  addRangeOptions(
    program
      .command("simulate")
      .description(
        "What a stored window would cost under another price list: old (billed), new (simulated) and delta by project and type; writes nothing",
      ),
  )
    .addOption(new Option("--draft <name>", "simulate under this draft of the price list"))
    .addOption(
      new Option("--price-version <n>", "simulate under this published version of the price list (--version is the CLI's own)")
        .argParser(parseVersion)
        .conflicts("draft"),
    )
    .addOption(
      new Option(
        "-g, --group-by <keys>",
        "group by these keys instead of scope_id,type (comma-separated; repeatable): any groupby key, type, scope_id, or a time bucket time, time-d, time-w, time-m, time-y",
      ).argParser(collectList),
    )
    .addOption(new Option("--per <bucket>", "one row per time bucket").choices(Object.keys(BUCKETS)))
    .addOption(formatOption())
    .addOption(precisionOption())
    .addHelpText(
      "after",
      examples(
        "ratemesh simulate --begin 2026-11-01 --end 2026-12-01",
        "ratemesh simulate --begin 2026-11-01 --end 2026-12-01 --draft spring-prices",
        "ratemesh simulate --begin november --scope acme-prod --price-version 7 -g type --per day",
        "ratemesh simulate --begin -30d --end now -g flavor --type instance --format csv",
      ),
    )
    .action(action(simulate));
}
