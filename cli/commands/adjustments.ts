/**
 * `ratemesh adjustments`: the signed adjustment lines storage recorded when
 * billed periods were rated again (a reprocessing task, or rating after a
 * reset): the amounts billed negated and the new ones, with who and why.
 */
import { type Command, Option } from "commander";
import { type AdjustmentLine, ListAdjustmentsRequest } from "../../libs/gen/ratemesh/v1/storage.js";
import { Decimal } from "../../libs/money/decimal.js";
import { monthStart, nextMonthStart } from "../../libs/time/period.js";
import { action, type Context } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { collectList, dateOption, examples, formatOption, precisionOption } from "../options.js";
import { type Column, displayDecimal, type Format, renderMessages } from "../output.js";
import { allPages } from "../paging.js";

interface AdjustmentOptions {
  begin?: Date;
  end?: Date;
  scope?: string[];
  type?: string[];
  task?: string;
  format: Format;
  precision: number;
}

const COLUMNS: Column[] = [
  { key: "adjustment", right: true },
  { key: "recorded" },
  { key: "scope_id" },
  { key: "period" },
  { key: "type" },
  { key: "groupby" },
  { key: "kind" },
  { key: "qty", decimal: true },
  { key: "price", decimal: true },
  { key: "by" },
  { key: "actor" },
  { key: "reason" },
];

async function adjustments(ctx: Context, o: AdjustmentOptions): Promise<void> {
  const now = ctx.now();
  const begin = o.begin ?? monthStart(now);
  const end = o.end ?? nextMonthStart(o.begin !== undefined && o.begin > now ? o.begin : now);
  const lines = await allPages(async (pageToken) => {
    const res = await ctx.storage.listAdjustments(
      ListAdjustmentsRequest.fromPartial({
        begin,
        end,
        scopeIds: o.scope ?? [],
        types: o.type ?? [],
        taskId: o.task ?? "",
        pageSize: 1000,
        pageToken,
      }),
    );
    return { items: res.lines, next: res.nextPageToken };
  });
  const time = o.format === "table" ? shortTime : iso;
  const rows = (ls: AdjustmentLine[]) =>
    ls.map((l) => ({
      adjustment: l.adjustmentId,
      recorded: time(l.recordedAt),
      scope_id: l.scopeId,
      period: time(l.begin),
      type: l.type,
      groupby: Object.entries(l.groupby)
        .map(([k, v]) => `${k}=${v}`)
        .join(" "),
      kind: l.kind,
      qty: l.qty,
      price: l.price,
      by: l.taskId !== "" ? `task ${l.taskId}` : `reset ${l.resetId}`,
      actor: l.actor,
      reason: l.reason,
    }));
  let text = renderMessages(o.format, lines, (l) => lineJSON(l), COLUMNS, rows);
  if (o.format === "table") {
    const net = lines.reduce((sum, l) => sum.add(Decimal.parse(l.price)), Decimal.ZERO);
    const adjusted = new Set(lines.map((l) => l.adjustmentId)).size;
    text =
      `adjustments of the periods from ${iso(begin)} to ${iso(end)}\n\n${text}` +
      `\n${adjusted} adjustment(s), net price change: ${displayDecimal(net.toString(), o.precision)} (exactly ${net})\n`;
  }
  await ctx.write(text);
}

function lineJSON(l: AdjustmentLine): unknown {
  return {
    adjustment_id: l.adjustmentId,
    scope_id: l.scopeId,
    begin: iso(l.begin),
    end: iso(l.end),
    type: l.type,
    groupby: l.groupby,
    kind: l.kind,
    qty: l.qty,
    price: l.price,
    points: Number(l.points),
    task_id: l.taskId,
    reset_id: l.resetId,
    actor: l.actor,
    reason: l.reason,
    recorded_at: iso(l.recordedAt),
  };
}

export function register(program: Command): void {
  program
    .command("adjustments")
    .description("Adjustment lines of re-rated periods: the amounts billed negated and the new ones, with the task or reset, who and why")
    .addOption(dateOption("-b, --begin <when>", "periods from here, included (default: start of this month, UTC)"))
    .addOption(dateOption("-e, --end <when>", "periods up to here, excluded (default: start of next month)"))
    .addOption(new Option("--scope <ids>", "only these scopes (comma-separated); repeatable").argParser(collectList))
    .addOption(new Option("--type <types>", "only these rating types (comma-separated); repeatable").argParser(collectList))
    .option("--task <task_id>", "only the adjustments of this reprocessing task")
    .addOption(formatOption())
    .addOption(precisionOption())
    .addHelpText(
      "after",
      examples(
        "ratemesh adjustments --begin 2026-11-01 --end 2026-12-01 --scope acme-prod",
        "ratemesh adjustments --begin november --task 5d0c7a3e-1f2b-4c9d-8e7f-0a1b2c3d4e5f --format csv",
      ),
    )
    .action(action(adjustments));
}
