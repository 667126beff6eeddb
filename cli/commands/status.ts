/**
 * `ratemesh status`: what a collector process is doing (CollectorService/
 * GetStatus): its coordination group, the scopes it owns, how many periods
 * each is behind, and their last errors. With --watch, the progress of a
 * catch-up until every owned scope is up to date.
 */
import type { Command } from "commander";
import { sleep } from "../../libs/async/limit.js";
import { type GetStatusResponse, GetStatusResponse as StatusMessage } from "../../libs/gen/ratemesh/v1/collector.js";
import { action, type Context } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { examples, formatOption, parsePositiveArg } from "../options.js";
import { renderRecord, renderRows } from "../output.js";
import { interruption, PeriodProgress } from "../progress.js";

interface StatusOptions {
  format: "table" | "json";
  watch?: boolean;
  interval: number;
}

function behindOf(s: GetStatusResponse): number {
  return s.scopes.reduce((sum, x) => sum + Number(x.periodsBehind), 0);
}

function render(ctx: Context, s: GetStatusResponse): string {
  const head = renderRecord("table", {
    collector: ctx.settings.address.collector,
    member: s.memberId,
    coordination: `${s.coordination}, lease ${s.leaseHeld ? "held" : "NOT held"}`,
    source: `collector ${s.collector}, fetcher ${s.fetcher}, ${s.scopesDiscovered} scopes discovered`,
    "periods behind": `${behindOf(s)} over ${s.scopes.length} owned scopes`,
  });
  const members = renderRows(
    "table",
    [{ key: "member" }, { key: "description" }, { key: "joined" }],
    s.members.map((m) => ({ member: m.memberId, description: m.description, joined: iso(m.joinedAt) })),
  );
  const scopes = renderRows(
    "table",
    [{ key: "scope" }, { key: "state" }, { key: "behind", right: true }, { key: "busy" }, { key: "reprocess" }, { key: "last error" }],
    [...s.scopes]
      .sort((a, b) => a.scopeId.localeCompare(b.scopeId))
      .map((x) => ({
        scope: x.scopeId,
        state: shortTime(x.state),
        behind: x.periodsBehind,
        busy: x.busy ? "yes" : "",
        reprocess: x.reprocessTaskId,
        "last error": x.lastError === "" ? "" : `${shortTime(x.lastErrorAt)} ${x.lastError}`,
      })),
  );
  const errors = s.scopes.filter((x) => x.lastError !== "");
  const tail = errors.length === 0 ? "last errors: none\n" : `last errors: ${errors.length} scopes (see the table)\n`;
  return `${head}\nmembers:\n${members}\nowned scopes:\n${scopes}\n${tail}`;
}

/**
 * Periods done are counted per scope from how much its backlog shrank, so
 * periods that fall due during the watch raise the total, not the count done.
 */
async function watch(ctx: Context, intervalSeconds: number): Promise<void> {
  const progress = new PeriodProgress(ctx.out, ctx.interactive, "catch-up", ctx.now);
  const previous = new Map<string, number>();
  let done = 0;
  const interrupt = interruption();
  try {
    for (;;) {
      const s = await ctx.collector.getStatus({});
      let behind = 0;
      for (const x of s.scopes) {
        const b = Number(x.periodsBehind);
        const before = previous.get(x.scopeId);
        if (before !== undefined && b < before) done += before - b;
        previous.set(x.scopeId, b);
        behind += b;
      }
      progress.update(done, done + behind);
      const caughtUp = s.scopes.length > 0 && behind === 0 && s.scopes.every((x) => !x.busy);
      if (caughtUp || interrupt.signal.aborted) break;
      await sleep(intervalSeconds * 1000, interrupt.signal);
      if (interrupt.signal.aborted) break;
    }
  } finally {
    interrupt.dispose();
    progress.stop();
  }
}

async function status(ctx: Context, o: StatusOptions): Promise<void> {
  if (o.watch) return watch(ctx, o.interval);
  const s = await ctx.collector.getStatus({});
  await ctx.write(o.format === "json" ? `${JSON.stringify(StatusMessage.toJSON(s), null, 2)}\n` : render(ctx, s));
}

export function register(program: Command): void {
  program
    .command("status")
    .description("A collector's coordination members, owned scopes, periods behind and last errors")
    .addOption(formatOption(["table", "json"]))
    .option("-w, --watch", "follow a catch-up with a progress bar (periods done, rate, ETA) until every owned scope is up to date")
    .option("--interval <seconds>", "how often --watch asks the collector", parsePositiveArg, 1)
    .addHelpText("after", examples("ratemesh status --collector 127.0.0.1:9633", "ratemesh status --watch"))
    .action(action(status));
}
