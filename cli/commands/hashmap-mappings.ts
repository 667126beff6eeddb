/**
 * `ratemesh hashmap mappings`: the prices of a hashmap price list. A mapping
 * prices a service (always) or a field value, from its start to its end;
 * once started only its end may change. Costs are shown exactly as stored.
 */
import type { Command } from "commander";
import { CreateMappingRequest, HashMapping, UpdateMappingRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import { action, type Context } from "../context.js";
import { dateOption, examples, formatOption, parseDecimalArg } from "../options.js";
import { type Format, type Row, renderRows } from "../output.js";
import { listMappings, loadCatalog, typeOf } from "../pricelist/catalog.js";
import { defaultStart } from "../pricelist/start.js";
import {
  type Filters,
  filterOf,
  filterOptions,
  groupOf,
  MAPPING_COLUMNS,
  mappingRows,
  parentOf,
  printOne,
  typeOption,
} from "./hashmap-rows.js";

interface MappingOptions {
  value?: string;
  cost?: string;
  type?: string;
  group?: string;
  start?: Date;
  end?: Date;
  name?: string;
  description?: string;
  format: "table" | "json";
}

export function register(hashmap: Command): void {
  const mappings = hashmap
    .command("mappings")
    .description("Hashmap mappings: a price on a service, or on a field value")
    .addHelpText("after", examples("ratemesh hashmap mappings list --service volume.size"));
  filterOptions(mappings.command("list").description("List mappings (live ones unless --deleted)"))
    .option("--deleted", "include deleted mappings")
    .addOption(dateOption("--active-at <when>", "only mappings in force at this instant"))
    .addOption(formatOption())
    .addHelpText(
      "after",
      examples("ratemesh hashmap mappings list --field instance/flavor_name", "ratemesh hashmap mappings list --active-at now"),
    )
    .action(
      action(async (ctx, o: Filters & { deleted?: boolean; activeAt?: Date; format: Format }) => {
        const [c, list] = await Promise.all([
          loadCatalog(ctx),
          filterOf(ctx, o).then((f) => listMappings(ctx, { ...f, includeDeleted: o.deleted === true, activeAt: o.activeAt })),
        ]);
        if (o.format === "json")
          await ctx.write(
            `${JSON.stringify(
              list.map((m) => HashMapping.toJSON(m)),
              null,
              2,
            )}\n`,
          );
        else await ctx.write(renderRows(o.format, MAPPING_COLUMNS, mappingRows(c, list, o.format === "table")));
      }),
    );
  const show = async (ctx: Context, format: "table" | "json", m: HashMapping | undefined) => {
    if (m === undefined) return;
    const c = await loadCatalog(ctx);
    await printOne(ctx, format, { ...(mappingRows(c, [m], false)[0] as Row), description: m.description }, HashMapping.toJSON(m));
  };
  mappings
    .command("show")
    .argument("<mapping_id>")
    .description("One mapping")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap mappings show 0b8a7a4e-5d1f-4c9a-9a53-6f0b6f1f2c11"))
    .action(
      action(async (ctx, o: { format: "table" | "json" }, id: string) => {
        await show(ctx, o.format, (await ctx.hashmap.getMapping({ mappingId: id })).mapping);
      }),
    );
  mappings
    .command("create")
    .description("Create a mapping on a service (no --value) or on a field value")
    .option("--service <service>", "the service it prices (id or name)")
    .option("--field <field>", "the field whose value it prices (id or service/field)")
    .option("--value <value>", "the field value that matches (field mappings)")
    .requiredOption("--cost <decimal>", "the price per unit (flat) or the multiplier (rate)", parseDecimalArg)
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
    .option("--force", "allow a start in the past (it changes the price of periods already rated, if they are rated again)")
    .addOption(formatOption(["table", "json"]))
    .addHelpText(
      "after",
      examples(
        "ratemesh hashmap mappings create --field instance/flavor_name --value m1.small --cost 0.02",
        "ratemesh hashmap mappings create --service volume.size --cost 0.0002 --start 2027-01-01",
      ),
    )
    .action(
      action(async (ctx, o: MappingOptions & { service?: string; field?: string; tenant?: string; force?: boolean }) => {
        const start = await defaultStart(ctx, o.start);
        if (o.start === undefined) ctx.err.write(`${start.why.replace("mappings without a start begin", "the mapping begins")}\n`);
        const { mapping } = await ctx.hashmap.createMapping(
          CreateMappingRequest.fromPartial({
            ...(await parentOf(ctx, o)),
            value: o.value ?? "",
            type: typeOf(o.type ?? "flat"),
            cost: o.cost ?? "",
            groupId: (await groupOf(ctx, o.group)) ?? "",
            tenantId: o.tenant ?? "",
            start: start.start,
            end: o.end,
            name: o.name ?? "",
            description: o.description ?? "",
            force: o.force === true || (o.start === undefined && start.force),
          }),
        );
        await show(ctx, o.format, mapping);
      }),
    );
  mappings
    .command("update")
    .argument("<mapping_id>")
    .description("Change a mapping; once it has started only its end can be set (end-date it and create a new one)")
    .option("--value <value>")
    .option("--cost <decimal>", "new cost", parseDecimalArg)
    .addOption(typeOption())
    .option("--group <group>", "new group (id or name; '' for none)")
    .addOption(dateOption("--start <when>", "new start (not yet started mappings)"))
    .addOption(dateOption("--end <when>", "end of its validity"))
    .option("--name <name>")
    .option("--description <text>")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap mappings update 0b8a7a4e-5d1f-4c9a-9a53-6f0b6f1f2c11 --end 2027-01-01"))
    .action(
      action(async (ctx, o: MappingOptions, id: string) => {
        const groupId = await groupOf(ctx, o.group);
        const { mapping } = await ctx.hashmap.updateMapping(
          UpdateMappingRequest.fromPartial({
            mappingId: id,
            ...(o.value !== undefined && { value: o.value }),
            ...(o.cost !== undefined && { cost: o.cost }),
            ...(o.type !== undefined && { type: typeOf(o.type) }),
            ...(groupId !== undefined && { groupId }),
            start: o.start,
            end: o.end,
            ...(o.name !== undefined && { name: o.name }),
            ...(o.description !== undefined && { description: o.description }),
          }),
        );
        await show(ctx, o.format, mapping);
      }),
    );
  mappings
    .command("delete")
    .argument("<mapping_id>")
    .description("Delete a mapping: it stays listed with --deleted and never applies again")
    .addHelpText("after", examples("ratemesh hashmap mappings delete 0b8a7a4e-5d1f-4c9a-9a53-6f0b6f1f2c11"))
    .action(
      action(async (ctx, _o: object, id: string) => {
        await ctx.hashmap.deleteMapping({ mappingId: id });
        await ctx.write(`deleted mapping ${id}\n`);
      }),
    );
}
