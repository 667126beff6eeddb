/**
 * `ratemesh hashmap thresholds`: prices that apply from a level on, of the
 * quantity (service thresholds) or of a numeric field value.
 */
import type { Command } from "commander";
import { CreateThresholdRequest, HashThreshold, UpdateThresholdRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import { action, type Context } from "../context.js";
import { examples, formatOption, parseDecimalArg } from "../options.js";
import { type Format, type Row, renderRows } from "../output.js";
import { listThresholds, loadCatalog, typeOf } from "../pricelist/catalog.js";
import {
  type Filters,
  filterOf,
  filterOptions,
  groupOf,
  parentOf,
  printOne,
  THRESHOLD_COLUMNS,
  thresholdRows,
  typeOption,
} from "./hashmap-rows.js";

interface ThresholdOptions {
  level?: string;
  cost?: string;
  type?: string;
  group?: string;
  format: "table" | "json";
}

export function register(hashmap: Command): void {
  const thresholds = hashmap
    .command("thresholds")
    .description("Hashmap thresholds: a price from a level of the quantity or of a field on")
    .addHelpText("after", examples("ratemesh hashmap thresholds list"));
  const show = async (ctx: Context, format: "table" | "json", t: HashThreshold | undefined) => {
    if (t === undefined) return;
    await printOne(ctx, format, thresholdRows(await loadCatalog(ctx), [t])[0] as Row, HashThreshold.toJSON(t));
  };
  filterOptions(thresholds.command("list").description("List thresholds"))
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh hashmap thresholds list --service volume.size"))
    .action(
      action(async (ctx, o: Filters & { format: Format }) => {
        const [c, list] = await Promise.all([loadCatalog(ctx), filterOf(ctx, o).then((f) => listThresholds(ctx, f))]);
        if (o.format === "json")
          await ctx.write(
            `${JSON.stringify(
              list.map((t) => HashThreshold.toJSON(t)),
              null,
              2,
            )}\n`,
          );
        else await ctx.write(renderRows(o.format, THRESHOLD_COLUMNS, thresholdRows(c, list)));
      }),
    );
  thresholds
    .command("show")
    .argument("<threshold_id>")
    .description("One threshold")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap thresholds show 5e0c3f0e-0d5b-4d8e-8a43-2f1f4e9b7a10"))
    .action(
      action(async (ctx, o: { format: "table" | "json" }, id: string) => {
        await show(ctx, o.format, (await ctx.hashmap.getThreshold({ thresholdId: id })).threshold);
      }),
    );
  thresholds
    .command("create")
    .description("Create a threshold on a service (level of the quantity) or on a field (level of its value)")
    .option("--service <service>", "id or name")
    .option("--field <field>", "id or service/field")
    .requiredOption("--level <decimal>", "applies from this level on", parseDecimalArg)
    .requiredOption("--cost <decimal>", "the added amount (flat) or the multiplier (rate)", parseDecimalArg)
    .addOption(typeOption().default("flat"))
    .option("--group <group>", "its group (id or name)")
    .option("--tenant <project>", "for this project only")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap thresholds create --service volume.size --level 100 --type rate --cost 0.95"))
    .action(
      action(async (ctx, o: ThresholdOptions & { service?: string; field?: string; tenant?: string }) => {
        const { threshold } = await ctx.hashmap.createThreshold(
          CreateThresholdRequest.fromPartial({
            ...(await parentOf(ctx, o)),
            level: o.level ?? "",
            type: typeOf(o.type ?? "flat"),
            cost: o.cost ?? "",
            groupId: (await groupOf(ctx, o.group)) ?? "",
            tenantId: o.tenant ?? "",
          }),
        );
        await show(ctx, o.format, threshold);
      }),
    );
  thresholds
    .command("update")
    .argument("<threshold_id>")
    .description("Change a threshold")
    .option("--level <decimal>", "new level", parseDecimalArg)
    .option("--cost <decimal>", "new cost", parseDecimalArg)
    .addOption(typeOption())
    .option("--group <group>", "new group (id or name; '' for none)")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap thresholds update 5e0c3f0e-0d5b-4d8e-8a43-2f1f4e9b7a10 --cost 0.9"))
    .action(
      action(async (ctx, o: ThresholdOptions, id: string) => {
        const groupId = await groupOf(ctx, o.group);
        const { threshold } = await ctx.hashmap.updateThreshold(
          UpdateThresholdRequest.fromPartial({
            thresholdId: id,
            ...(o.level !== undefined && { level: o.level }),
            ...(o.cost !== undefined && { cost: o.cost }),
            ...(o.type !== undefined && { type: typeOf(o.type) }),
            ...(groupId !== undefined && { groupId }),
          }),
        );
        await show(ctx, o.format, threshold);
      }),
    );
  thresholds
    .command("delete")
    .argument("<threshold_id>")
    .description("Delete a threshold")
    .addHelpText("after", examples("ratemesh hashmap thresholds delete 5e0c3f0e-0d5b-4d8e-8a43-2f1f4e9b7a10"))
    .action(
      action(async (ctx, _o: object, id: string) => {
        await ctx.hashmap.deleteThreshold({ thresholdId: id });
        await ctx.write(`deleted threshold ${id}\n`);
      }),
    );
}
