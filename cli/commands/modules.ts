/**
 * `ratemesh modules`: the rating modules (noop, hashmap, rules), whether
 * each is enabled, and the order they run in (higher priority first).
 */
import type { Command } from "commander";
import { RatingModule } from "../../libs/gen/ratemesh/v1/rating.js";
import { action, type Context } from "../context.js";
import { examples, formatOption, parseIntArg } from "../options.js";
import { type Format, renderRows } from "../output.js";

const COLUMNS = [{ key: "name" }, { key: "enabled" }, { key: "priority", right: true }, { key: "description" }];

async function print(ctx: Context, format: Format, modules: RatingModule[]): Promise<void> {
  if (format === "json") {
    await ctx.write(
      `${JSON.stringify(
        modules.map((m) => RatingModule.toJSON(m)),
        null,
        2,
      )}\n`,
    );
    return;
  }
  const rows = [...modules]
    .sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name))
    .map((m) => ({ name: m.name, enabled: m.enabled ? "yes" : "no", priority: String(m.priority), description: m.description }));
  await ctx.write(renderRows(format, COLUMNS, rows));
}

function toggle(enabled: boolean) {
  return async (ctx: Context, o: { format: Format }, name: string) => {
    const { module } = await ctx.rating.updateModule({ name, enabled });
    await print(ctx, o.format, module === undefined ? [] : [module]);
  };
}

export function register(program: Command): void {
  const modules = program
    .command("modules")
    .description("Rating modules: enabled or not, and their priority")
    .addHelpText("after", examples("ratemesh modules list", "ratemesh modules enable hashmap"));
  modules
    .command("list")
    .description("List the rating modules, in the order they run")
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh modules list"))
    .action(
      action(async (ctx, o: { format: Format }) => {
        await print(ctx, o.format, (await ctx.rating.listModules({})).modules);
      }),
    );
  modules
    .command("enable")
    .argument("<name>", "noop, hashmap or rules")
    .description("Enable a module")
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh modules enable hashmap"))
    .action(action(toggle(true)));
  modules
    .command("disable")
    .argument("<name>", "noop, hashmap or rules")
    .description("Disable a module")
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh modules disable rules"))
    .action(action(toggle(false)));
  modules
    .command("priority")
    .argument("<name>", "noop, hashmap or rules")
    .argument("<priority>", "higher runs first", parseIntArg)
    .description("Set a module's priority")
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh modules priority hashmap 10"))
    .action(
      action(async (ctx, o: { format: Format }, name: string, priority: number) => {
        const { module } = await ctx.rating.updateModule({ name, priority });
        await print(ctx, o.format, module === undefined ? [] : [module]);
      }),
    );
}
