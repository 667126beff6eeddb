/**
 * `ratemesh scopes`: the rating state of each scope (tenant) in storage:
 * list, show, register ahead of discovery, turn on and off, and move back to
 * a period boundary so the periods from there on are rated again.
 */
import { type Command, Option } from "commander";
import { ListScopesRequest, Scope } from "../../libs/gen/ratemesh/v1/storage.js";
import { action, type Context } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { CliError } from "../errors.js";
import { dateOption, examples, formatOption, parseIntArg } from "../options.js";
import { type Column, type Format, renderMessages, renderRecord } from "../output.js";
import { allPages } from "../paging.js";

const COLUMNS: Column[] = [
  { key: "scope_id" },
  { key: "active" },
  { key: "state" },
  { key: "fetcher" },
  { key: "collector" },
  { key: "unpriced", right: true },
  { key: "last_error" },
];

function row(s: Scope, table: boolean) {
  return {
    scope_id: s.scopeId,
    active: s.active ? "yes" : "no",
    state: table ? shortTime(s.state) || "never rated" : iso(s.state),
    fetcher: s.fetcher,
    collector: s.collector,
    // Points stored with no price rule in force (price 0): how many, in how many periods, the latest.
    unpriced: !s.unpriced
      ? table
        ? ""
        : "0"
      : table
        ? `${s.unpricedPoints} in ${s.unpricedPeriods} periods, last ${shortTime(s.lastUnpricedPeriod)}`
        : s.unpricedPoints,
    last_error: s.lastError === "" ? "" : `${table ? shortTime(s.lastErrorAt) : iso(s.lastErrorAt)} ${s.lastError}`,
  };
}

async function printScopes(ctx: Context, format: Format, scopes: Scope[]): Promise<void> {
  const rows = (ss: Scope[]) => ss.map((s) => row(s, format === "table"));
  await ctx.write(renderMessages(format, scopes, (s) => Scope.toJSON(s), COLUMNS, rows));
  const unpriced = scopes.filter((s) => s.unpriced).length;
  if (format === "table" && unpriced > 0) {
    ctx.err.write(
      `warning: ${unpriced} scopes have points rated with no price rule in force (stored with price 0): fix the price list, then rate those periods again (ratemesh reprocess create)\n`,
    );
  }
}

interface ListOptions {
  active?: boolean;
  inactive?: boolean;
  scopeKey?: string;
  fetcher?: string;
  collectorName?: string;
  format: Format;
}

async function list(ctx: Context, o: ListOptions, ids: string[]): Promise<void> {
  const scopes = await allPages(async (pageToken) => {
    const res = await ctx.scopes.listScopes(
      ListScopesRequest.fromPartial({
        scopeIds: ids,
        ...((o.active || o.inactive) && { active: o.active === true }),
        scopeKey: o.scopeKey ?? "",
        fetcher: o.fetcher ?? "",
        collector: o.collectorName ?? "",
        pageSize: 1000,
        pageToken,
      }),
    );
    return { items: res.scopes, next: res.nextPageToken };
  });
  await printScopes(ctx, o.format, scopes);
}

async function show(ctx: Context, o: { format: "table" | "json" }, id: string): Promise<void> {
  const { scope } = await ctx.scopes.getScope({ scopeId: id });
  if (scope === undefined) throw new CliError("not_found", `scope ${JSON.stringify(id)} not found`);
  await ctx.write(
    renderRecord(
      o.format,
      o.format === "json"
        ? (Scope.toJSON(scope) as Record<string, unknown>)
        : { ...row(scope, true), scope_key: scope.scopeKey, fencing_token: scope.fencingToken, created_at: iso(scope.createdAt) },
    ),
  );
}

interface CreateOptions {
  inactive?: boolean;
  start?: Date;
  scopeKey?: string;
  fetcher?: string;
  collectorName?: string;
  format: Format;
}

async function create(ctx: Context, o: CreateOptions, id: string): Promise<void> {
  const { scope } = await ctx.scopes.createScope({
    scopeId: id,
    active: !o.inactive,
    state: o.start,
    scopeKey: o.scopeKey ?? "",
    fetcher: o.fetcher ?? "",
    collector: o.collectorName ?? "",
  });
  await printScopes(ctx, o.format, scope === undefined ? [] : [scope]);
}

function toggle(active: boolean) {
  return async (ctx: Context, o: { format: Format }, ids: string[]) => {
    const changed: Scope[] = [];
    for (const scopeId of ids) {
      const { scope } = await ctx.scopes.updateScope({ scopeId, active });
      if (scope !== undefined) changed.push(scope);
    }
    await printScopes(ctx, o.format, changed);
  };
}

async function reset(ctx: Context, o: { to: Date; all?: boolean; reason?: string; format: Format }, ids: string[]): Promise<void> {
  if (o.all === true && ids.length > 0) throw new CliError("usage", "give scope ids or --all, not both");
  if (o.all !== true && ids.length === 0) throw new CliError("usage", "give the scope ids to reset, or --all");
  const { scopes } = await ctx.scopes.resetScope({ scopeIds: ids, allScopes: o.all === true, state: o.to, reason: o.reason });
  await printScopes(ctx, o.format, scopes);
}

interface ReseedOptions {
  all?: boolean;
  reason: string;
  epoch?: number;
  format: Format;
}

/** The operator's path out of a fencing record no owner can pass (PROCESSOR.md, "the life of a fencing token"). */
async function reseed(ctx: Context, o: ReseedOptions, ids: string[]): Promise<void> {
  if (o.all === true && ids.length > 0) throw new CliError("usage", "give scope ids or --all, not both");
  if (o.all !== true && ids.length === 0) throw new CliError("usage", "give the scope ids to re-seed, or --all");
  const { scopes } = await ctx.scopes.reseedFencing({
    scopeIds: ids,
    allScopes: o.all === true,
    reason: o.reason,
    fencingEpoch: String(o.epoch ?? 0),
  });
  await printScopes(ctx, o.format, scopes);
}

function addScopeFields(cmd: Command): Command {
  return cmd
    .option("--scope-key <key>", "the scope key the fetcher uses (e.g. project_id)")
    .option("--fetcher <name>", "the fetcher that lists the scope")
    .option("--collector-name <name>", "the collector backend that collects it (gnocchi, prometheus, file)");
}

export function register(program: Command): void {
  const scopes = program
    .command("scopes")
    .description("The rating state of each scope (tenant)")
    .addHelpText("after", examples("ratemesh scopes list", "ratemesh scopes disable old-project"));

  addScopeFields(
    scopes
      .command("list")
      .argument("[scope_ids...]", "only these scopes")
      .description(
        "List scopes with their state (end of the last rated period), the points stored with no price rule in force (unpriced, priced 0) and last error",
      ),
  )
    .addOption(new Option("--active", "only active scopes"))
    .addOption(new Option("--inactive", "only inactive scopes").conflicts("active"))
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh scopes list", "ratemesh scopes list --inactive --format csv"))
    .action(action(list));

  scopes
    .command("show")
    .argument("<scope_id>")
    .description("One scope in detail")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh scopes show acme-prod"))
    .action(action(show));

  addScopeFields(
    scopes
      .command("create")
      .argument("<scope_id>")
      .description("Register a scope ahead of discovery, possibly inactive or with its own start")
      .option("--inactive", "create it turned off")
      .addOption(dateOption("--start <when>", "where rating starts, a period boundary (default: the collector's configured start)")),
  )
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh scopes create new-project --start 2026-11-01"))
    .action(action(create));

  for (const [name, active] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    scopes
      .command(name)
      .argument("<scope_ids...>")
      .description(active ? "Turn scopes on: the collector rates them again from their state" : "Turn scopes off: the collector skips them")
      .addOption(formatOption())
      .addHelpText("after", examples(`ratemesh scopes ${name} acme-prod globex-dev`))
      .action(action(toggle(active)));
  }

  scopes
    .command("reset")
    .argument("[scope_ids...]", "the scopes to reset")
    .description("Move scopes' state back to a period boundary: the periods from there on are rated again and replace what was stored")
    .addOption(dateOption("--to <when>", "the new state: a period boundary not after the current state").makeOptionMandatory())
    .option("--all", "every scope")
    .option("--reason <text>", "why, kept on the adjustments of the periods rated again")
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh scopes reset acme-prod --to 2026-11-02", "ratemesh scopes reset --all --to yesterday"))
    .action(action(reset));

  scopes
    .command("reseed-fencing")
    .argument("[scope_ids...]", "the scopes whose fencing record is re-seeded")
    .description(
      "Re-seed scopes' fencing record (token 0 in the given epoch) after etcd lost its keys: owners of an older epoch stay refused; the state and the stored periods are untouched. Admin only, audited",
    )
    .requiredOption("--reason <text>", "why: kept on the scope and in the audit trail")
    .addOption(new Option("--epoch <n>", "the epoch of the new record (0: the next owner of any epoch)").argParser(parseIntArg))
    .option("--all", "every scope")
    .addOption(formatOption())
    .addHelpText(
      "after",
      examples(
        'ratemesh scopes reseed-fencing acme-prod --epoch 3 --reason "etcd restored from a backup"',
        'ratemesh scopes reseed-fencing --all --reason "new etcd cluster"',
      ),
    )
    .action(action(reseed));
}
