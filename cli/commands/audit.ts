/**
 * `ratemesh audit`: the audit trail of storage or rating (each keeps its
 * own): every change made through it, who made it and when, newest first.
 */
import { type Command, Option } from "commander";
import { AuditEvent } from "../../libs/gen/ratemesh/v1/audit.js";
import { action, type Context } from "../context.js";
import { iso } from "../dates.js";
import { examples, formatOption, parsePositiveArg } from "../options.js";
import { type Column, type Format, renderMessages } from "../output.js";

const COLUMNS: Column[] = [
  { key: "seq", right: true },
  { key: "at" },
  { key: "actor" },
  { key: "project" },
  { key: "method" },
  { key: "target" },
];

interface AuditOptions {
  service: "storage" | "rating";
  method?: string;
  actor?: string;
  limit: number;
  format: Format;
}

async function list(ctx: Context, o: AuditOptions): Promise<void> {
  const client = ctx.audit(o.service);
  const events: AuditEvent[] = [];
  let pageToken = "";
  do {
    const res = await client.listAuditEvents({
      method: o.method ?? "",
      actor: o.actor ?? "",
      pageSize: Math.min(1000, o.limit - events.length),
      pageToken,
    });
    events.push(...res.events);
    pageToken = res.nextPageToken;
  } while (pageToken !== "" && events.length < o.limit);
  const rows = (es: AuditEvent[]) =>
    es.map((e) => ({ seq: e.seq, at: iso(e.at), actor: e.actor, project: e.project, method: e.method, target: e.target }));
  await ctx.write(renderMessages(o.format, events, (e) => AuditEvent.toJSON(e), COLUMNS, rows));
}

export function register(program: Command): void {
  program
    .command("audit")
    .description("The audit trail of storage or rating: every change made through it, who made it and when, newest first")
    .addOption(new Option("--service <name>", "whose trail").choices(["storage", "rating"]).default("storage"))
    .option("--method <Service/Method>", "only this method's events, e.g. HashmapService/CreateMapping")
    .option("--actor <actor>", "only this actor's events, as the trail shows it")
    .addOption(new Option("--limit <n>", "at most this many events").argParser((v) => Math.floor(parsePositiveArg(v))).default(100))
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh audit", "ratemesh audit --service rating --method HashmapService/UpdateMapping --format csv"))
    .action(action(list));
}
