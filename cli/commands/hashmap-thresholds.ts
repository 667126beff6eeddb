/**
 * `ratemesh hashmap thresholds`: prices that apply from a level on, of the
 * quantity (service thresholds) or of a numeric field value.
 */
import type { Command } from "commander";
import { CreateThresholdRequest, HashThreshold, UpdateThresholdRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import { action } from "../context.js";
import { deleteCommand, messageKind, type RecordFormat, recordFormatOption, showCommand, subcommand } from "../declare.js";
import { formatOption, parseDecimalArg } from "../options.js";
import { type Format, type Row, renderMessages } from "../output.js";
import { listThresholds, loadCatalog } from "../pricelist/catalog.js";
import {
  type Filters,
  filterOf,
  filterOptions,
  type NewRuleOptions,
  newRuleOf,
  priceChangesOf,
  THRESHOLD_COLUMNS,
  thresholdRows,
  typeOption,
} from "./hashmap-rows.js";

const THRESHOLD = messageKind<HashThreshold>(
  "threshold",
  ["<threshold_id>"],
  async (ctx, t) => thresholdRows(await loadCatalog(ctx), [t])[0] as Row,
  (t) => HashThreshold.toJSON(t),
);

interface ThresholdOptions {
  level?: string;
  cost?: string;
  type?: string;
  group?: string;
  format: RecordFormat;
}

const EXAMPLE_ID = "5e0c3f0e-0d5b-4d8e-8a43-2f1f4e9b7a10";

export function register(hashmap: Command): void {
  const about = "Hashmap thresholds: a price from a level of the quantity or of a field on";
  const thresholds = subcommand(hashmap, "thresholds", about, "ratemesh hashmap thresholds list");
  filterOptions(subcommand(thresholds, "list", "List thresholds", "ratemesh hashmap thresholds list --service volume.size"))
    .addOption(formatOption())
    .action(
      action(async (ctx, o: Filters & { format: Format }) => {
        const [c, list] = await Promise.all([loadCatalog(ctx), filterOf(ctx, o).then((f) => listThresholds(ctx, f))]);
        const rows = (ts: HashThreshold[]) => thresholdRows(c, ts);
        await ctx.write(renderMessages(o.format, list, (t) => HashThreshold.toJSON(t), THRESHOLD_COLUMNS, rows));
      }),
    );
  const show = { description: "One threshold", example: `ratemesh hashmap thresholds show ${EXAMPLE_ID}` };
  showCommand(thresholds, THRESHOLD, show, async (ctx, id) => (await ctx.hashmap.getThreshold({ thresholdId: id })).threshold);
  subcommand(
    thresholds,
    "create",
    "Create a threshold on a service (level of the quantity) or on a field (level of its value)",
    "ratemesh hashmap thresholds create --service volume.size --level 100 --type rate --cost 0.95",
  )
    .option("--service <service>", "id or name")
    .option("--field <field>", "id or service/field")
    .requiredOption("--level <decimal>", "applies from this level on", parseDecimalArg)
    .requiredOption("--cost <decimal>", "the added amount (flat) or the multiplier (rate)", parseDecimalArg)
    .addOption(typeOption().default("flat"))
    .option("--group <group>", "its group (id or name)")
    .option("--tenant <project>", "for this project only")
    .addOption(recordFormatOption())
    .action(
      action(async (ctx, o: ThresholdOptions & NewRuleOptions) => {
        const req = CreateThresholdRequest.fromPartial({ ...(await newRuleOf(ctx, o)), level: o.level ?? "" });
        await THRESHOLD.print(ctx, o.format, (await ctx.hashmap.createThreshold(req)).threshold);
      }),
    );
  subcommand(thresholds, "update", "Change a threshold", `ratemesh hashmap thresholds update ${EXAMPLE_ID} --cost 0.9`)
    .argument(...THRESHOLD.arg)
    .option("--level <decimal>", "new level", parseDecimalArg)
    .option("--cost <decimal>", "new cost", parseDecimalArg)
    .addOption(typeOption())
    .option("--group <group>", "new group (id or name; '' for none)")
    .addOption(recordFormatOption())
    .action(
      action(async (ctx, o: ThresholdOptions, id: string) => {
        const req = UpdateThresholdRequest.fromPartial({
          thresholdId: id,
          ...(o.level !== undefined && { level: o.level }),
          ...(await priceChangesOf(ctx, o)),
        });
        await THRESHOLD.print(ctx, o.format, (await ctx.hashmap.updateThreshold(req)).threshold);
      }),
    );
  const remove = { description: "Delete a threshold", example: `ratemesh hashmap thresholds delete ${EXAMPLE_ID}` };
  deleteCommand(thresholds, THRESHOLD, remove, (ctx, thresholdId) => ctx.hashmap.deleteThreshold({ thresholdId }));
}
