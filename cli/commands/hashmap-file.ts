/**
 * `ratemesh hashmap export` and `ratemesh hashmap import`: a whole hashmap
 * price list as one YAML file (see pricelist/document.ts for the format and
 * pricelist/plan.ts for how an import is matched against what is stored).
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { action, type Context } from "../context.js";
import { CliError } from "../errors.js";
import { examples } from "../options.js";
import { parsePriceList, renderPriceList } from "../pricelist/document.js";
import { loadStored, planImport } from "../pricelist/plan.js";

async function exportList(ctx: Context, o: { output?: string }): Promise<void> {
  const text = renderPriceList((await loadStored(ctx)).list);
  if (o.output === undefined) await ctx.write(text);
  else writeFileSync(o.output, text);
}

async function importList(ctx: Context, o: { dryRun?: boolean; force?: boolean }, file: string): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError("usage", `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const want = parsePriceList(text, file);
  const stored = await loadStored(ctx);
  const steps = planImport(stored, want, ctx.now());
  const tally = (sign: string) => steps.filter((s) => s.sign === sign).length;
  if (steps.length === 0) {
    await ctx.write("no changes: the price list already equals the file\n");
    return;
  }
  if (o.dryRun) {
    await ctx.write(
      `${steps.map((s) => `${s.sign} ${s.text}\n`).join("")}dry run: ${tally("+")} to create, ${tally("~")} to update, ${tally("-")} to delete; nothing was changed\n`,
    );
    return;
  }
  for (const step of steps) {
    await step.run(ctx, stored.ids, o.force === true);
    await ctx.write(`${step.sign} ${step.text}\n`);
  }
  await ctx.write(`applied: ${tally("+")} created, ${tally("~")} updated, ${tally("-")} deleted\n`);
}

export function register(hashmap: Command): void {
  hashmap
    .command("export")
    .description("Write the whole hashmap price list (services, fields, groups, mappings, thresholds) as one YAML file")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .addHelpText("after", examples("ratemesh hashmap export -o prices.yaml"))
    .action(action(exportList));

  hashmap
    .command("import")
    .argument("<file>", "a YAML price list, as hashmap export writes it")
    .description(
      "Make the hashmap price list equal to a YAML file: create what is missing, update what differs, delete what the file lacks. Importing the same file again changes nothing",
    )
    .option("--dry-run", "print the changes it would make (+ create, ~ update, - delete) and change nothing")
    .option("--force", "allow mappings whose start is in the past (they change the price of periods rated again)")
    .addHelpText("after", examples("ratemesh hashmap import prices.yaml --dry-run", "ratemesh hashmap import prices.yaml --force"))
    .action(action(importList));
}
