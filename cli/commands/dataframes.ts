/**
 * `ratemesh dataframes export`: every stored point of a range, streamed from
 * storage (StreamDataFrames) and written as it arrives, one point per line,
 * as JSON lines or CSV. Quantities and prices are written exactly as stored.
 *
 * `ratemesh dataframes import`: the JSON lines export writes, added to the
 * stored periods as they are (StorageService AddDataFrames: priced points
 * appended, no state moved; the next rating of a period replaces them).
 * Sent in batches, each under an idempotency key made of the file's digest
 * and the batch's lines, so that running the same import again (after a
 * failure half way, say) adds nothing twice.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, type ReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { finished } from "node:stream/promises";
import { status } from "@grpc/grpc-js";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { DataFrame, DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { action, type Context } from "../context.js";
import { iso } from "../dates.js";
import { CliError, ServiceCallError } from "../errors.js";
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

/** Points per AddDataFrames request, at most: a request is one transaction. */
const MAX_BATCH = 10000;

interface ImportOptions {
  batch: number;
  key?: string;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** One line of an export: a point with its scope and period. Values are kept as text: exact decimals stay exact. */
function recordOf(text: string, where: string): { scopeId: string; begin: Date; end: Date; point: DataPoint } {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (err) {
    throw new CliError("invalid_argument", `${where}: not JSON: ${(err as Error).message}`);
  }
  if (r === null || typeof r !== "object" || Array.isArray(r)) throw new CliError("invalid_argument", `${where}: not a JSON object`);
  const o = r as Record<string, unknown>;
  const str = (name: string, fallback?: string): string => {
    const v = o[name] ?? fallback;
    if (typeof v !== "string") {
      throw new CliError(
        "invalid_argument",
        `${where}: ${name} must be a string${name === "qty" || name === "price" ? " (an exact decimal, as the export writes it)" : ""}`,
      );
    }
    return v;
  };
  const time = (name: string): Date => {
    const v = str(name);
    if (!ISO_TIME.test(v)) throw new CliError("invalid_argument", `${where}: ${name} ${JSON.stringify(v)} is not an RFC 3339 timestamp`);
    return new Date(v);
  };
  const strings = (name: string): Record<string, string> => {
    const v = o[name] ?? {};
    if (v === null || typeof v !== "object" || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string")) {
      throw new CliError("invalid_argument", `${where}: ${name} must be an object of strings`);
    }
    return v as Record<string, string>;
  };
  return {
    scopeId: str("scope_id"),
    begin: time("begin"),
    end: time("end"),
    point: {
      type: str("type"),
      unit: str("unit", ""),
      qty: str("qty"),
      price: str("price", ""),
      groupby: strings("groupby"),
      metadata: strings("metadata"),
    },
  };
}

/** The frames of one request: consecutive points of one (scope, period) make a frame; lines[i][j] is the file's line of frame i's point j. */
class Batch {
  readonly frames: DataFrame[] = [];
  readonly lines: number[][] = [];
  points = 0;

  add(r: ReturnType<typeof recordOf>, line: number): void {
    const last = this.frames[this.frames.length - 1];
    if (last?.scopeId === r.scopeId && last.begin?.getTime() === r.begin.getTime() && last.end?.getTime() === r.end.getTime()) {
      last.points.push(r.point);
      this.lines[this.lines.length - 1]?.push(line);
    } else {
      this.frames.push({ scopeId: r.scopeId, begin: r.begin, end: r.end, points: [r.point] });
      this.lines.push([line]);
    }
    this.points++;
  }

  /** Its first and last lines: with the file's digest, they make the request's idempotency key. */
  span(): string {
    return `${this.lines[0]?.[0]}-${this.lines[this.lines.length - 1]?.at(-1)}`;
  }

  /** Storage's refusal ("frames[1].points[0].qty: ...") as the file's line and field. */
  located(file: string, details: string): string {
    const m = /^frames\[(\d+)\](?:\.points\[(\d+)\])?\.?(\w*): /.exec(details);
    const lines = m === null ? undefined : this.lines[Number(m[1])];
    if (m === null || lines === undefined) return `${file}: ${details}`;
    return `${file}:${lines[Number(m[2] ?? 0)]}: ${m[3] === "" ? "" : `${m[3]}: `}${details.slice(m[0].length)}`;
  }
}

/** The file, opened for reading: one line naming it when it cannot be read. */
async function openRead(file: string): Promise<ReadStream> {
  const input = createReadStream(file);
  try {
    await once(input, "open");
  } catch (err) {
    throw new CliError("usage", `cannot read ${file}: ${(err as Error).message}`);
  }
  return input;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of await openRead(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function importFrames(ctx: Context, o: ImportOptions, file: string): Promise<void> {
  const prefix = o.key ?? `import-${(await sha256Of(file)).slice(0, 32)}`;
  const done = { requests: 0, replayed: 0, points: 0, frames: 0 };
  const send = async (b: Batch): Promise<void> => {
    const req = { frames: b.frames, idempotencyKey: `${prefix}:${b.span()}`, scopeKey: "", fetcher: "", collector: "" };
    try {
      const res = await ctx.storage.addDataFrames(req);
      done.requests++;
      if (res.replayed) done.replayed++;
      else {
        done.points += Number(res.pointsAdded);
        done.frames += b.frames.length;
      }
    } catch (err) {
      if (err instanceof ServiceCallError && err.code === status.INVALID_ARGUMENT) {
        throw new CliError("invalid_argument", b.located(file, err.details));
      }
      throw err;
    }
  };
  let batch = new Batch();
  let n = 0;
  for await (const text of createInterface({ input: await openRead(file), crlfDelay: Number.POSITIVE_INFINITY })) {
    n++;
    if (text.trim() === "") continue;
    batch.add(recordOf(text, `${file}:${n}`), n);
    if (batch.points >= o.batch) {
      await send(batch);
      batch = new Batch();
    }
  }
  if (batch.points > 0) await send(batch);
  const requests = (n: number) => `${n} request${n === 1 ? "" : "s"}`;
  const again = done.replayed === 0 ? "" : `; ${requests(done.replayed)} imported already: nothing added again`;
  await ctx.write(`added ${done.points} points in ${done.frames} frames (${requests(done.requests)})${again}\n`);
}

function parseBatch(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > MAX_BATCH) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_BATCH}`);
  return n;
}

export function register(program: Command): void {
  const frames = program
    .command("dataframes")
    .description("Rated data frames: export what is stored, import priced points")
    .addHelpText(
      "after",
      examples("ratemesh dataframes export --begin 2026-11-01 --end 2026-11-02 > points.jsonl", "ratemesh dataframes import credits.jsonl"),
    );
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
  frames
    .command("import")
    .argument("<file>", "JSON lines, one priced point per line, as dataframes export writes them")
    .description(
      "Add priced points to their stored periods as they are (CloudKitty's dataframes add), moving no scope's state; the same import run again adds nothing twice",
    )
    .addOption(
      new Option("--batch <points>", `points per request, each one transaction (at most ${MAX_BATCH})`).argParser(parseBatch).default(5000),
    )
    .option(
      "--key <key>",
      "the import's idempotency key (default: import- and the file's SHA-256); the same file, key and --batch add once",
    )
    .addHelpText(
      "after",
      "\nA scope not known yet is created. Rating a period later (its first rating, after a reset, or a\n" +
        "reprocessing task) replaces every point it holds, the imported ones included: import into periods\n" +
        "already rated, and again after rating them again.\n" +
        examples("ratemesh dataframes import credits.jsonl", "ratemesh --storage 10.0.0.2:9631 dataframes import acme.jsonl --batch 2000"),
    )
    .action(action(importFrames));
}
