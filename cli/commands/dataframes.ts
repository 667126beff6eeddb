/**
 * `ratemesh dataframes export`: every stored point of a range, streamed from
 * storage (StreamDataFrames) and written as it arrives, one point per line,
 * as JSON lines or CSV. Quantities and prices are written exactly as stored.
 */
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { type Command, Option } from "commander";
import type { DataFrame, DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { action, type Context } from "../context.js";
import { iso } from "../dates.js";
import { examples } from "../options.js";
import { csvLine, writeOut } from "../output.js";
import { addRangeOptions, rangeOf } from "./summary.js";

const CSV_COLUMNS = ["scope_id", "begin", "end", "type", "unit", "qty", "price", "groupby", "metadata"];

interface ExportOptions {
  begin?: Date;
  end?: Date;
  filter?: Array<{ key: string; values: string[] }>;
  scope?: string[];
  type?: string[];
  format: "jsonl" | "csv";
  output?: string;
}

function record(frame: DataFrame, p: DataPoint) {
  return {
    scope_id: frame.scopeId,
    begin: iso(frame.begin),
    end: iso(frame.end),
    type: p.type,
    unit: p.unit,
    qty: p.qty,
    price: p.price,
    groupby: p.groupby,
    metadata: p.metadata,
  };
}

async function exportFrames(ctx: Context, o: ExportOptions): Promise<void> {
  const { begin, end, filters } = rangeOf(o, ctx.now());
  const file = o.output === undefined ? undefined : createWriteStream(o.output);
  const out = file ?? ctx.out;
  if (o.format === "csv") await writeOut(out, csvLine(CSV_COLUMNS));
  for await (const { frame } of ctx.storage.streamDataFrames({ begin, end, filters })) {
    if (frame === undefined) continue;
    let chunk = "";
    for (const p of frame.points) {
      const r = record(frame, p);
      if (o.format === "jsonl") chunk += `${JSON.stringify(r)}\n`;
      else
        chunk += csvLine([
          r.scope_id,
          r.begin,
          r.end,
          r.type,
          r.unit,
          r.qty,
          r.price,
          JSON.stringify(r.groupby),
          JSON.stringify(r.metadata),
        ]);
    }
    await writeOut(out, chunk);
  }
  if (file !== undefined) {
    file.end();
    await finished(file);
  }
}

export function register(program: Command): void {
  const frames = program
    .command("dataframes")
    .description("Rated data frames as stored")
    .addHelpText("after", examples("ratemesh dataframes export --begin 2026-11-01 --end 2026-11-02 > points.jsonl"));
  addRangeOptions(frames.command("export").description("Stream every stored point of a range, one per line, as JSON lines or CSV"))
    .addOption(new Option("-f, --format <format>", "output format").choices(["jsonl", "csv"]).default("jsonl"))
    .option("-o, --output <file>", "write to this file instead of stdout")
    .addHelpText(
      "after",
      examples(
        "ratemesh dataframes export --begin 2026-11-01 --end 2026-11-02 --scope acme-prod > acme.jsonl",
        "ratemesh dataframes export --begin 'last month' --end 'this month' --format csv -o usage.csv",
      ),
    )
    .action(action(exportFrames));
}
