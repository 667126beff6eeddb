/**
 * `ratemesh hashmap thresholds`: prices that apply from a level on, of the
 * quantity (service thresholds) or of a numeric field value.
 */
import type { Command } from "commander";
import { CreateThresholdRequest, HashThreshold, UpdateThresholdRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import { deleteCommand, messageKind, printsRecord, recordFormatOption, showCommand, subcommand } from "../declare.js";
import { given, parseDecimalArg } from "../options.js";
import type { Row } from "../output.js";
import { listThresholds, loadCatalog } from "../pricelist/catalog.js";
import {
  type NewRuleOptions,
  newRuleOf,
  type PriceOptions,
  priceChangesOf,
  priceListCommand,
  priceUpdateOptions,
  THRESHOLD_TABLE,
  thresholdRows,
  typeOption,
} from "./hashmap-rows.js";

const THRESHOLD = messageKind<HashThreshold>(
  "threshold",
  ["<threshold_id>"],
  "5e0c3f0e-0d5b-4d8e-8a43-2f1f4e9b7a10",
  async (ctx, t) => thresholdRows(await loadCatalog(ctx), [t])[0] as Row,
  (t) => HashThreshold.toJSON(t),
);

interface ThresholdOptions extends PriceOptions {
  level?: string;
}

export function register(hashmap: Command): void {
  const about = "Hashmap thresholds: a price from a level of the quantity or of a field on";
  const thresholds = subcommand(hashmap, "thresholds", about, "ratemesh hashmap thresholds list");
  const list = subcommand(thresholds, "list", "List thresholds", "ratemesh hashmap thresholds list --service volume.size");
  priceListCommand(list, [], THRESHOLD_TABLE, (ctx, filter) => listThresholds(ctx, filter));
  showCommand(thresholds, THRESHOLD, async (ctx, thresholdId) => (await ctx.hashmap.getThreshold({ thresholdId })).threshold);
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
      printsRecord(THRESHOLD, async (ctx, o: ThresholdOptions & NewRuleOptions) => {
        const req = CreateThresholdRequest.fromPartial({ ...(await newRuleOf(ctx, o)), level: o.level ?? "" });
        return (await ctx.hashmap.createThreshold(req)).threshold;
      }),
    );
  const update = subcommand(thresholds, "update", "Change a threshold", `ratemesh hashmap thresholds update ${THRESHOLD.sample} --cost 0.9`)
    .argument(...THRESHOLD.arg)
    .option("--level <decimal>", "new level", parseDecimalArg);
  priceUpdateOptions(update)
    .addOption(recordFormatOption())
    .action(
      printsRecord(THRESHOLD, async (ctx, o: ThresholdOptions, thresholdId: string) => {
        const req = UpdateThresholdRequest.fromPartial({ thresholdId, ...given(o, "level"), ...(await priceChangesOf(ctx, o)) });
        return (await ctx.hashmap.updateThreshold(req)).threshold;
      }),
    );
  deleteCommand(thresholds, THRESHOLD, "Delete a threshold", `ratemesh hashmap thresholds delete ${THRESHOLD.sample}`, (ctx, thresholdId) =>
    ctx.hashmap.deleteThreshold({ thresholdId }),
  );
}
