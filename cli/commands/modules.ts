/**
 * `ratemesh modules`: the rating modules (noop, hashmap, rules), whether
 * each is enabled, and the order they run in (higher priority first).
 */
import type { Command } from "commander";
import { RatingModule } from "../../libs/gen/ratemesh/v1/rating.js";
import { action, type Context } from "../context.js";
import { subcommand } from "../declare.js";
import { formatOption, parseIntArg } from "../options.js";
import { type Format, renderMessages } from "../output.js";

const COLUMNS = [{ key: "name" }, { key: "enabled" }, { key: "priority", right: true }, { key: "description" }];

/** Modules in the order they run (json: as rating lists them). */
async function print(ctx: Context, format: Format, modules: RatingModule[]): Promise<void> {
  const rows = (ms: RatingModule[]) =>
    [...ms]
      .sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name))
      .map((m) => ({ name: m.name, enabled: m.enabled ? "yes" : "no", priority: String(m.priority), description: m.description }));
  await ctx.write(renderMessages(format, modules, (m) => RatingModule.toJSON(m), COLUMNS, rows));
}

async function update(ctx: Context, format: Format, change: { name: string; enabled?: boolean; priority?: number }): Promise<void> {
  const { module } = await ctx.rating.updateModule(change);
  await print(ctx, format, module === undefined ? [] : [module]);
}

const MODULE_NAME = ["<name>", "noop, hashmap or rules"] as const;

export function register(program: Command): void {
  const modules = subcommand(
    program,
    "modules",
    "Rating modules: enabled or not, and their priority",
    "ratemesh modules list",
    "ratemesh modules enable hashmap",
  );
  subcommand(modules, "list", "List the rating modules, in the order they run", "ratemesh modules list")
    .addOption(formatOption())
    .action(
      action(async (ctx, o: { format: Format }) => {
        await print(ctx, o.format, (await ctx.rating.listModules({})).modules);
      }),
    );
  for (const [name, enabled, description, example] of [
    ["enable", true, "Enable a module", "ratemesh modules enable hashmap"],
    ["disable", false, "Disable a module", "ratemesh modules disable rules"],
  ] as const) {
    subcommand(modules, name, description, example)
      .argument(...MODULE_NAME)
      .addOption(formatOption())
      .action(action((ctx, o: { format: Format }, module: string) => update(ctx, o.format, { name: module, enabled })));
  }
  subcommand(modules, "priority", "Set a module's priority", "ratemesh modules priority hashmap 10")
    .argument(...MODULE_NAME)
    .argument("<priority>", "higher runs first", parseIntArg)
    .addOption(formatOption())
    .action(action((ctx, o: { format: Format }, name: string, priority: number) => update(ctx, o.format, { name, priority })));
}
