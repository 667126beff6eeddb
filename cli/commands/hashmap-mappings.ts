/**
 * `ratemesh hashmap mappings`: the prices of a hashmap price list. A mapping
 * prices a service (always) or a field value, from its start to its end;
 * once started only its end may change. Costs are shown exactly as stored.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  CreateMappingRequest,
  HashMapping,
  type MappingTiers,
  type TimeOfUse,
  UpdateMappingRequest,
} from "../../libs/gen/ratemesh/v1/rating.js";
import { deleteCommand, messageKind, printsRecord, recordFormatOption, showCommand, subcommand } from "../declare.js";
import { CliError } from "../errors.js";
import { dateOption, given, parseDecimalArg } from "../options.js";
import type { Row } from "../output.js";
import { listMappings, loadCatalog } from "../pricelist/catalog.js";
import { formatTiers, formatTimeOfUse, parseTiers, parseTimeOfUse } from "../pricelist/shapes.js";
import { defaultStart } from "../pricelist/start.js";
import {
  MAPPING_TABLE,
  mappingRows,
  type NewRuleOptions,
  newRuleOf,
  type PriceOptions,
  priceChangesOf,
  priceListCommand,
  priceUpdateOptions,
  typeOption,
} from "./hashmap-rows.js";

const MAPPING = messageKind<HashMapping>(
  "mapping",
  ["<mapping_id>"],
  "0b8a7a4e-5d1f-4c9a-9a53-6f0b6f1f2c11",
  async (ctx, m) => ({
    ...(mappingRows(await loadCatalog(ctx), [m], false)[0] as Row),
    description: m.description,
    ...(m.tiers !== undefined && { tiers: formatTiers(m.tiers) }),
    ...(m.timeOfUse !== undefined && { time_of_use: formatTimeOfUse(m.timeOfUse) }),
  }),
  (m) => HashMapping.toJSON(m),
);

interface MappingOptions extends PriceOptions {
  value?: string;
  start?: Date;
  end?: Date;
  name?: string;
  description?: string;
  tiers?: MappingTiers;
  timeOfUse?: TimeOfUse;
}

/** --tiers and --time-of-use, the one-line forms of cli/pricelist/shapes.ts. */
function shapeOptions(cmd: Command): Command {
  return cmd
    .option(
      "--tiers <tiers>",
      'a tiered price over the billing month of the scope\'s quantity: "[graduated|volume] FROM:PRICE, ..." (service mappings; no --cost needed)',
      (v: string) => shaped(parseTiers(v)),
    )
    .option(
      "--time-of-use <windows>",
      'costs by the period\'s local hour and day: "[ZONE;] [DAYS] [HH:MM-HH:MM]=COST; ..." (--cost applies outside them)',
      (v: string) => shaped(parseTimeOfUse(v)),
    );
}

function shaped<T>(v: T | string): T {
  if (typeof v === "string") throw new InvalidArgumentError(v);
  return v;
}

export function register(hashmap: Command): void {
  const about = "Hashmap mappings: a price on a service, or on a field value";
  const mappings = subcommand(hashmap, "mappings", about, "ratemesh hashmap mappings list --service volume.size");
  const list = subcommand(
    mappings,
    "list",
    "List mappings (live ones unless --deleted)",
    "ratemesh hashmap mappings list --field instance/flavor_name",
    "ratemesh hashmap mappings list --active-at now",
  );
  const live = [
    new Option("--deleted", "include deleted mappings"),
    dateOption("--active-at <when>", "only mappings in force at this instant"),
  ];
  priceListCommand(list, live, MAPPING_TABLE, (ctx, filter, o: { deleted?: boolean; activeAt?: Date }) =>
    listMappings(ctx, { ...filter, includeDeleted: o.deleted === true, activeAt: o.activeAt }),
  );
  showCommand(mappings, MAPPING, async (ctx, mappingId) => (await ctx.hashmap.getMapping({ mappingId })).mapping);
  const create = subcommand(
    mappings,
    "create",
    "Create a mapping on a service (no --value) or on a field value",
    "ratemesh hashmap mappings create --field instance/flavor_name --value m1.small --cost 0.02",
    "ratemesh hashmap mappings create --service volume.size --cost 0.0002 --start 2027-01-01",
    'ratemesh hashmap mappings create --service volume.size --tiers "graduated 0:0.10, 1000:0.08"',
    'ratemesh hashmap mappings create --service instance --cost 0.10 --time-of-use "UTC; 22:00-06:00=0.05; sat,sun=0.05"',
  )
    .option("--service <service>", "the service it prices (id or name)")
    .option("--field <field>", "the field whose value it prices (id or service/field)")
    .option("--value <value>", "the field value that matches (field mappings)")
    .option("--cost <decimal>", "the price per unit (flat) or the multiplier (rate); required unless --tiers", parseDecimalArg)
    .addOption(typeOption().default("flat"))
    .option("--group <group>", "its group (id or name)")
    .option("--tenant <project>", "a price for this project only")
    .addOption(
      dateOption(
        "--start <when>",
        "in force from (default: the beginning of time for the first mapping of a price list, as CloudKitty 17; else now; a start in the past needs --force)",
      ),
    )
    .addOption(dateOption("--end <when>", "in force until, excluded"))
    .option("--name <name>", "a unique name")
    .option("--description <text>")
    .option("--force", "allow a start in the past (it changes the price of periods already rated, if they are rated again)");
  shapeOptions(create)
    .addOption(recordFormatOption())
    .action(
      printsRecord(MAPPING, async (ctx, o: MappingOptions & NewRuleOptions & { force?: boolean }) => {
        if (o.cost === undefined && o.tiers === undefined) throw new CliError("invalid_argument", "--cost is required (unless --tiers)");
        const start = await defaultStart(ctx, o.start);
        if (o.start === undefined) ctx.err.write(`${start.why.replace("mappings without a start begin", "the mapping begins")}\n`);
        const req = CreateMappingRequest.fromPartial({
          ...(await newRuleOf(ctx, o)),
          value: o.value ?? "",
          start: start.start,
          end: o.end,
          name: o.name ?? "",
          description: o.description ?? "",
          force: o.force === true || (o.start === undefined && start.force),
          tiers: o.tiers,
          timeOfUse: o.timeOfUse,
        });
        return (await ctx.hashmap.createMapping(req)).mapping;
      }),
    );
  const update = subcommand(
    mappings,
    "update",
    "Change a mapping; once it has started only its end can be set (end-date it and create a new one)",
    `ratemesh hashmap mappings update ${MAPPING.sample} --end 2027-01-01`,
  )
    .argument(...MAPPING.arg)
    .option("--value <value>");
  priceUpdateOptions(update)
    .addOption(dateOption("--start <when>", "new start (not yet started mappings)"))
    .addOption(dateOption("--end <when>", "end of its validity"))
    .option("--name <name>")
    .option("--description <text>");
  shapeOptions(update)
    .addOption(recordFormatOption())
    .action(
      printsRecord(MAPPING, async (ctx, o: MappingOptions, mappingId: string) => {
        const changes = {
          ...given(o, "value", "name", "description"),
          ...(await priceChangesOf(ctx, o)),
          start: o.start,
          end: o.end,
          tiers: o.tiers,
          timeOfUse: o.timeOfUse,
        };
        return (await ctx.hashmap.updateMapping(UpdateMappingRequest.fromPartial({ mappingId, ...changes }))).mapping;
      }),
    );
  const remove = "Delete a mapping: it stays listed with --deleted and never applies again";
  deleteCommand(mappings, MAPPING, remove, `ratemesh hashmap mappings delete ${MAPPING.sample}`, (ctx, mappingId) =>
    ctx.hashmap.deleteMapping({ mappingId }),
  );
}
