/**
 * `ratemesh reprocess`: rate stored periods again (after a price list fix),
 * replacing what was stored. The collector works the tasks; `create --wait`
 * follows them with a progress bar until they are finished.
 */
import { type Command, Option } from "commander";
import { sleep } from "../../libs/async/limit.js";
import { ListTasksRequest, ReprocessTask } from "../../libs/gen/ratemesh/v1/storage.js";
import { action, type Context } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { CliError } from "../errors.js";
import { collectList, dateOption, examples, formatOption, parsePositiveArg } from "../options.js";
import { type Column, type Format, renderMessages } from "../output.js";
import { allPages } from "../paging.js";
import { interruption, PeriodProgress } from "../progress.js";

const COLUMNS: Column[] = [
  { key: "task_id" },
  { key: "scope_id" },
  { key: "begin" },
  { key: "end" },
  { key: "done", right: true },
  { key: "total", right: true },
  { key: "finished" },
  { key: "reason" },
  { key: "actor" },
];

async function printTasks(ctx: Context, format: Format, tasks: ReprocessTask[]): Promise<void> {
  const time = format === "table" ? shortTime : iso;
  const rows = (ts: ReprocessTask[]) =>
    ts.map((t) => ({
      task_id: t.taskId,
      scope_id: t.scopeId,
      begin: time(t.begin),
      end: time(t.end),
      done: t.periodsDone,
      total: t.periodsTotal,
      finished: time(t.finishedAt),
      reason: t.reason,
      actor: t.actor ?? "",
    }));
  await ctx.write(renderMessages(format, tasks, (t) => ReprocessTask.toJSON(t), COLUMNS, rows));
}

function listTasks(ctx: Context, scopeIds: string[], unfinishedOnly: boolean, ascending: boolean): Promise<ReprocessTask[]> {
  return allPages(async (pageToken) => {
    const res = await ctx.reprocess.listTasks(
      ListTasksRequest.fromPartial({ scopeIds, unfinishedOnly, ascending, pageSize: 1000, pageToken }),
    );
    return { items: res.tasks, next: res.nextPageToken };
  });
}

async function waitFor(ctx: Context, created: ReprocessTask[], intervalSeconds: number): Promise<ReprocessTask[]> {
  const ids = new Set(created.map((t) => t.taskId));
  const scopes = [...new Set(created.map((t) => t.scopeId))];
  const progress = new PeriodProgress(ctx.out, ctx.interactive, "reprocessing", ctx.now);
  const interrupt = interruption();
  try {
    for (;;) {
      const tasks = (await listTasks(ctx, scopes, false, true)).filter((t) => ids.has(t.taskId));
      const done = tasks.reduce((n, t) => n + Number(t.periodsDone), 0);
      const total = tasks.reduce((n, t) => n + Number(t.periodsTotal), 0);
      progress.update(done, total);
      if (tasks.every((t) => t.finishedAt !== undefined) || interrupt.signal.aborted) return tasks;
      await sleep(intervalSeconds * 1000, interrupt.signal);
    }
  } finally {
    interrupt.dispose();
    progress.stop();
  }
}

interface CreateOptions {
  begin: Date;
  end: Date;
  all?: boolean;
  reason: string;
  wait?: boolean;
  interval: number;
  format: Format;
}

async function create(ctx: Context, o: CreateOptions, ids: string[]): Promise<void> {
  if (o.all === true && ids.length > 0) throw new CliError("usage", "give scope ids or --all, not both");
  if (o.all !== true && ids.length === 0) throw new CliError("usage", "give the scope ids to reprocess, or --all");
  const { tasks } = await ctx.reprocess.createTask({
    scopeIds: ids,
    allScopes: o.all === true,
    begin: o.begin,
    end: o.end,
    reason: o.reason,
  });
  await printTasks(ctx, o.format, o.wait ? await waitFor(ctx, tasks, o.interval) : tasks);
}

async function list(ctx: Context, o: { scope?: string[]; unfinished?: boolean; ascending?: boolean; format: Format }): Promise<void> {
  await printTasks(ctx, o.format, await listTasks(ctx, o.scope ?? [], o.unfinished === true, o.ascending === true));
}

export function register(program: Command): void {
  const reprocess = program
    .command("reprocess")
    .description("Rate stored periods again, replacing what was stored")
    .addHelpText("after", examples("ratemesh reprocess list --unfinished"));

  reprocess
    .command("create")
    .argument("[scope_ids...]", "the scopes to reprocess")
    .description("Create one reprocessing task per scope over a window aligned to the collect period")
    .addOption(dateOption("-b, --begin <when>", "start of the window, a period boundary").makeOptionMandatory())
    .addOption(dateOption("-e, --end <when>", "end of the window, a period boundary").makeOptionMandatory())
    .option("--all", "every active scope")
    .requiredOption("--reason <text>", "why, kept with the task")
    .option("--wait", "follow the tasks with a progress bar until they are finished")
    .addOption(new Option("--interval <seconds>", "how often --wait asks storage").argParser(parsePositiveArg).default(1))
    .addOption(formatOption())
    .addHelpText(
      "after",
      examples(
        "ratemesh reprocess create acme-prod --begin 2026-11-01 --end 2026-11-04 --reason 'ssd price fixed' --wait",
        "ratemesh reprocess create --all --begin 'last month' --end 'this month' --reason 'new prices'",
      ),
    )
    .action(action(create));

  reprocess
    .command("list")
    .description("Reprocessing tasks with their progress, newest first")
    .addOption(new Option("--scope <ids>", "only these scopes (comma-separated); repeatable").argParser(collectList))
    .option("--unfinished", "only tasks not finished yet")
    .option("--ascending", "oldest first")
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh reprocess list --unfinished"))
    .action(action(list));
}
