/**
 * `ratemesh quote` and `ratemesh explain`: price usage that was not
 * collected (what would this cost?), and tell, rule by rule and module by
 * module, how a point gets its price.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { ExplainResponse, QuoteResponse } from "../../libs/gen/ratemesh/v1/rating.js";
import { action, type Context } from "../context.js";
import { CliError } from "../errors.js";
import { collectPair, dateOption, examples, formatOption, parseDecimalArg, precisionOption } from "../options.js";
import { displayDecimal, renderRows } from "../output.js";

interface PointOptions {
  type?: string;
  qty?: string;
  unit?: string;
  groupby?: Record<string, string>;
  metadata?: Record<string, string>;
  scope?: string;
  at?: Date;
  monthToDate?: Record<string, string>;
}

function addPointOptions(cmd: Command): Command {
  return cmd
    .option("--type <type>", "rating type of the point (a hashmap service name)")
    .option("--qty <decimal>", "quantity", parseDecimalArg)
    .option("--unit <unit>", "unit, for display")
    .option("--groupby <key=value>", "a groupby attribute; repeatable", collectPair)
    .option("--metadata <key=value>", "a metadata attribute; repeatable", collectPair)
    .option("--scope <project>", "price as this project (its own rules apply)")
    .addOption(dateOption("--at <when>", "with the rules in force at this instant (default: now)"))
    .option(
      "--month-to-date <type=qty>",
      "for tiered prices: the quantity of a type already in the month (default 0); repeatable",
      collectPair,
    );
}

function pointOf(o: PointOptions): DataPoint {
  if (o.type === undefined || o.qty === undefined) throw new CliError("usage", "give --type and --qty (or --points FILE)");
  return DataPoint.fromPartial({ type: o.type, qty: o.qty, unit: o.unit ?? "", groupby: o.groupby ?? {}, metadata: o.metadata ?? {} });
}

/** Points from a JSON lines file: {"type": ..., "qty": "12.5", "groupby": {...}, "metadata": {...}} per line. */
function pointsFromFile(file: string): DataPoint[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError("usage", `--points: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return text
    .split("\n")
    .map((line, i) => ({ line: line.trim(), n: i + 1 }))
    .filter(({ line }) => line !== "")
    .map(({ line, n }) => {
      try {
        const raw = JSON.parse(line) as Record<string, unknown>;
        if (typeof raw.qty === "number") throw new Error(`qty must be a string such as "12.5" (an exact decimal), not a JSON number`);
        return DataPoint.fromJSON(raw);
      } catch (err) {
        throw new CliError("invalid_argument", `${file}:${n}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
}

async function quote(ctx: Context, o: PointOptions & { points?: string; format: "table" | "json"; precision: number }): Promise<void> {
  const points = o.points === undefined ? [pointOf(o)] : pointsFromFile(o.points);
  const res = await ctx.rating.quote({
    points,
    scopeId: o.scope ?? "",
    at: o.at,
    ...(o.monthToDate !== undefined && { monthToDate: { qty: o.monthToDate } }),
  });
  if (o.format === "json") {
    await ctx.write(`${JSON.stringify(QuoteResponse.toJSON(res), null, 2)}\n`);
    return;
  }
  const rows = res.points.map((p) => ({
    type: p.type,
    qty: p.qty,
    unit: p.unit,
    attributes: Object.entries({ ...p.metadata, ...p.groupby })
      .map(([k, v]) => `${k}=${v}`)
      .join(" "),
    price: p.price,
  }));
  const columns = [{ key: "type" }, { key: "qty", right: true }, { key: "unit" }, { key: "attributes" }, { key: "price", decimal: true }];
  await ctx.write(
    `${renderRows("table", columns, rows, o.precision)}\n${versionLine(res.priceListVersion)}\ntotal: ${displayDecimal(res.total, o.precision)} (exactly ${res.total})\n`,
  );
}

/** Which published price-list version was in force at the instant priced (see `ratemesh pricelist history`). */
function versionLine(version: string): string {
  return version === "0" || version === "" ? "price list: no published version in force" : `price list: version ${version}`;
}

function renderExplain(res: ExplainResponse): string {
  const p = res.point;
  const attrs = (m: Record<string, string> | undefined) =>
    Object.entries(m ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
  const lines = [
    `point: ${p?.type} qty ${p?.qty}${p?.unit ? ` ${p.unit}` : ""}`,
    ...(attrs(p?.groupby) ? [`  groupby: ${attrs(p?.groupby)}`] : []),
    ...(attrs(p?.metadata) ? [`  metadata: ${attrs(p?.metadata)}`] : []),
    `price: ${p?.price}`,
    versionLine(res.priceListVersion),
  ];
  if (res.modules.length === 0) lines.push("", "no rating module is enabled (see ratemesh modules list)");
  for (const m of res.modules) {
    lines.push("", `${m.module}: ${m.priceBefore || "0"} -> ${m.priceAfter}`);
    m.steps.forEach((s, i) => {
      const where = [s.group && `[${s.group}]`, s.kind, s.ruleId && `(${s.ruleId})`].filter(Boolean).join(" ");
      const value = s.value === "" || s.detail.endsWith(`= ${s.value}`) ? "" : ` = ${s.value}`;
      lines.push(`  ${i + 1}. ${where}: ${s.detail}${value}`);
    });
    if (m.steps.length === 0) lines.push("  no rule matched");
  }
  return `${lines.join("\n")}\n`;
}

async function explain(ctx: Context, o: PointOptions & { format: "table" | "json" }): Promise<void> {
  const point = pointOf(o);
  const res = await ctx.rating.explain({ point, scopeId: o.scope ?? "", at: o.at, monthToDate: o.monthToDate?.[point.type] });
  await ctx.write(o.format === "json" ? `${JSON.stringify(ExplainResponse.toJSON(res), null, 2)}\n` : renderExplain(res));
}

export function register(program: Command): void {
  addPointOptions(program.command("quote").description("Price usage with the current (or --at) rules, without storing anything"))
    .option("--points <file>", "price many points: a JSON lines file, one {type, qty, unit, groupby, metadata} per line")
    .addOption(formatOption(["table", "json"]))
    .addOption(precisionOption())
    .addHelpText(
      "after",
      examples(
        "ratemesh quote --type instance --qty 720 --metadata flavor_name=m1.small",
        "ratemesh quote --points usage.jsonl --scope acme-prod --format json",
      ),
    )
    .action(action(quote));

  addPointOptions(
    program.command("explain").description("How one point gets its price: the rules that matched, step by step, module by module"),
  )
    .addOption(formatOption(["table", "json"]))
    .addHelpText(
      "after",
      examples("ratemesh explain --scope acme-prod --type volume.size --qty 200 --groupby id=vol-acme-db --metadata volume_type=ssd"),
    )
    .action(action(explain));
}
