/**
 * `ratemesh hashmap mappings`: the prices of a hashmap price list. A mapping
 * prices a service (always) or a field value, from its start to its end;
 * once started only its end may change. Costs are shown exactly as stored.
 */
import type { Command } from "commander";
import { CreateMappingRequest, HashMapping, UpdateMappingRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import { action } from "../context.js";
import { deleteCommand, messageKind, type RecordFormat, recordFormatOption, showCommand, subcommand } from "../declare.js";
import { dateOption, formatOption, parseDecimalArg } from "../options.js";
import { type Format, type Row, renderMessages } from "../output.js";
import { listMappings, loadCatalog } from "../pricelist/catalog.js";
import {
  type Filters,
  filterOf,
  filterOptions,
  MAPPING_COLUMNS,
  mappingRows,
  type NewRuleOptions,
  newRuleOf,
  priceChangesOf,
  typeOption,
} from "./hashmap-rows.js";

const MAPPING = messageKind<HashMapping>(
  "mapping",
  ["<mapping_id>"],
  async (ctx, m) => ({ ...(mappingRows(await loadCatalog(ctx), [m], false)[0] as Row), description: m.description }),
  (m) => HashMapping.toJSON(m),
);

interface MappingOptions {
  value?: string;
  cost?: string;
  type?: string;
  group?: string;
  start?: Date;
  end?: Date;
  name?: string;
  description?: string;
  format: RecordFormat;
}

const EXAMPLE_ID = "0b8a7a4e-5d1f-4c9a-9a53-6f0b6f1f2c11";

export function register(hashmap: Command): void {
  const about = "Hashmap mappings: a price on a service, or on a field value";
  const mappings = subcommand(hashmap, "mappings", about, "ratemesh hashmap mappings list --service volume.size");
  filterOptions(
    subcommand(
      mappings,
      "list",
      "List mappings (live ones unless --deleted)",
      "ratemesh hashmap mappings list --field instance/flavor_name",
      "ratemesh hashmap mappings list --active-at now",
    ),
  )
    .option("--deleted", "include deleted mappings")
    .addOption(dateOption("--active-at <when>", "only mappings in force at this instant"))
    .addOption(formatOption())
    .action(
      action(async (ctx, o: Filters & { deleted?: boolean; activeAt?: Date; format: Format }) => {
        const [c, list] = await Promise.all([
          loadCatalog(ctx),
          filterOf(ctx, o).then((f) => listMappings(ctx, { ...f, includeDeleted: o.deleted === true, activeAt: o.activeAt })),
        ]);
        const rows = (ms: HashMapping[]) => mappingRows(c, ms, o.format === "table");
        await ctx.write(renderMessages(o.format, list, (m) => HashMapping.toJSON(m), MAPPING_COLUMNS, rows));
      }),
    );
  showCommand(
    mappings,
    MAPPING,
    { description: "One mapping", example: `ratemesh hashmap mappings show ${EXAMPLE_ID}` },
    async (ctx, id) => {
      return (await ctx.hashmap.getMapping({ mappingId: id })).mapping;
    },
  );
  subcommand(
    mappings,
    "create",
    "Create a mapping on a service (no --value) or on a field value",
    "ratemesh hashmap mappings create --field instance/flavor_name --value m1.small --cost 0.02",
    "ratemesh hashmap mappings create --service volume.size --cost 0.0002 --start 2027-01-01",
  )
    .option("--service <service>", "the service it prices (id or name)")
    .option("--field <field>", "the field whose value it prices (id or service/field)")
    .option("--value <value>", "the field value that matches (field mappings)")
    .requiredOption("--cost <decimal>", "the price per unit (flat) or the multiplier (rate)", parseDecimalArg)
    .addOption(typeOption().default("flat"))
    .option("--group <group>", "its group (id or name)")
    .option("--tenant <project>", "a price for this project only")
    .addOption(dateOption("--start <when>", "in force from (default: now; a start in the past needs --force)"))
    .addOption(dateOption("--end <when>", "in force until, excluded"))
    .option("--name <name>", "a unique name")
    .option("--description <text>")
    .option("--force", "allow a start in the past (it changes the price of periods already rated, if they are rated again)")
    .addOption(recordFormatOption())
    .action(
      action(async (ctx, o: MappingOptions & NewRuleOptions & { force?: boolean }) => {
        const req = CreateMappingRequest.fromPartial({
          ...(await newRuleOf(ctx, o)),
          value: o.value ?? "",
          start: o.start,
          end: o.end,
          name: o.name ?? "",
          description: o.description ?? "",
          force: o.force === true,
        });
        await MAPPING.print(ctx, o.format, (await ctx.hashmap.createMapping(req)).mapping);
      }),
    );
  subcommand(
    mappings,
    "update",
    "Change a mapping; once it has started only its end can be set (end-date it and create a new one)",
    `ratemesh hashmap mappings update ${EXAMPLE_ID} --end 2027-01-01`,
  )
    .argument(...MAPPING.arg)
    .option("--value <value>")
    .option("--cost <decimal>", "new cost", parseDecimalArg)
    .addOption(typeOption())
    .option("--group <group>", "new group (id or name; '' for none)")
    .addOption(dateOption("--start <when>", "new start (not yet started mappings)"))
    .addOption(dateOption("--end <when>", "end of its validity"))
    .option("--name <name>")
    .option("--description <text>")
    .addOption(recordFormatOption())
    .action(
      action(async (ctx, o: MappingOptions, id: string) => {
        const req = UpdateMappingRequest.fromPartial({
          mappingId: id,
          ...(o.value !== undefined && { value: o.value }),
          ...(await priceChangesOf(ctx, o)),
          start: o.start,
          end: o.end,
          ...(o.name !== undefined && { name: o.name }),
          ...(o.description !== undefined && { description: o.description }),
        });
        await MAPPING.print(ctx, o.format, (await ctx.hashmap.updateMapping(req)).mapping);
      }),
    );
  const remove = {
    description: "Delete a mapping: it stays listed with --deleted and never applies again",
    example: `ratemesh hashmap mappings delete ${EXAMPLE_ID}`,
  };
  deleteCommand(mappings, MAPPING, remove, (ctx, mappingId) => ctx.hashmap.deleteMapping({ mappingId }));
}
