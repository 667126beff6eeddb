/**
 * `ratemesh hashmap mappings|thresholds`: the prices of a hashmap price
 * list. A mapping prices a service (always) or a field value; a threshold
 * applies from a level of the quantity or of a numeric field on. Costs are
 * shown exactly as stored.
 */
import { type Command, Option } from "commander";
import {
  CreateMappingRequest,
  CreateThresholdRequest,
  HashMapping,
  HashThreshold,
  UpdateMappingRequest,
  UpdateThresholdRequest,
} from "../../libs/gen/ratemesh/v1/rating.js";
import { action, type Context } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { CliError } from "../errors.js";
import { dateOption, examples, formatOption, parseDecimalArg } from "../options.js";
import { type Column, type Format, type Row, renderRecord, renderRows } from "../output.js";
import {
  type Catalog,
  fieldIdOf,
  groupIdOf,
  listMappings,
  listThresholds,
  loadCatalog,
  parentName,
  serviceIdOf,
  typeName,
  typeOf,
} from "../pricelist/catalog.js";

export const MAPPING_COLUMNS: Column[] = [
  { key: "mapping_id" },
  { key: "parent" },
  { key: "value" },
  { key: "type" },
  { key: "cost", right: true },
  { key: "group" },
  { key: "tenant" },
  { key: "start" },
  { key: "end" },
  { key: "name" },
];

export const THRESHOLD_COLUMNS: Column[] = [
  { key: "threshold_id" },
  { key: "parent" },
  { key: "level", right: true },
  { key: "type" },
  { key: "cost", right: true },
  { key: "group" },
  { key: "tenant" },
];

export function mappingRows(c: Catalog, mappings: HashMapping[], table: boolean): Row[] {
  const time = table ? shortTime : iso;
  return mappings.map((m) => ({
    mapping_id: m.mappingId,
    parent: parentName(c, m),
    value: m.value,
    type: typeName(m.type),
    cost: m.cost,
    group: m.groupId === "" ? "" : (c.groupName.get(m.groupId) ?? m.groupId),
    tenant: m.tenantId,
    start: time(m.start),
    end: time(m.end),
    name: m.name,
    ...(m.deletedAt !== undefined && { deleted: time(m.deletedAt) }),
  }));
}

export function thresholdRows(c: Catalog, thresholds: HashThreshold[]): Row[] {
  return thresholds.map((t) => ({
    threshold_id: t.thresholdId,
    parent: parentName(c, t),
    level: t.level,
    type: typeName(t.type),
    cost: t.cost,
    group: t.groupId === "" ? "" : (c.groupName.get(t.groupId) ?? t.groupId),
    tenant: t.tenantId,
  }));
}

interface Filters {
  service?: string;
  field?: string;
  /** A group id or name, or false for --no-group. */
  group?: string | false;
  tenant?: string;
}

async function filterOf(ctx: Context, o: Filters) {
  return {
    serviceId: o.service === undefined ? "" : await serviceIdOf(ctx, o.service),
    fieldId: o.field === undefined ? "" : await fieldIdOf(ctx, o.field),
    groupId: typeof o.group === "string" ? await groupIdOf(ctx, o.group) : "",
    noGroup: o.group === false,
    tenantId: o.tenant ?? "",
  };
}

/** service_id or field_id of a new rule, from --service or --field. */
async function parentOf(ctx: Context, o: { service?: string; field?: string }) {
  if ((o.service === undefined) === (o.field === undefined)) throw new CliError("usage", "give exactly one of --service and --field");
  return {
    serviceId: o.service === undefined ? "" : await serviceIdOf(ctx, o.service),
    fieldId: o.field === undefined ? "" : await fieldIdOf(ctx, o.field),
  };
}

/** --group: a group id or name; "" (an empty name) moves the rule to the default group. */
async function groupOf(ctx: Context, ref: string | undefined): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  return ref === "" ? "" : groupIdOf(ctx, ref);
}

function filterOptions(cmd: Command): Command {
  return cmd
    .option("--service <service>", "only rules of this service (id or name)")
    .option("--field <field>", "only rules of this field (id or service/field)")
    .option("--group <group>", "only rules of this group (id or name)")
    .option("--no-group", "only rules without a group (the default group)")
    .option("--tenant <project>", "only this project's rules");
}

const typeOption = () =>
  new Option("--type <type>", "flat: a price per unit (or an added amount); rate: a multiplier").choices(["flat", "rate"]);

async function printOne(ctx: Context, format: "table" | "json", row: Row, json: unknown): Promise<void> {
  await ctx.write(renderRecord(format, format === "json" ? (json as Record<string, unknown>) : row));
}

function registerMappings(hashmap: Command): void {
  const mappings = hashmap.command("mappings").description("Hashmap mappings: a price on a service, or on a field value");
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
    .addOption(dateOption("--start <when>", "in force from (default: now; a start in the past needs --force)"))
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
        const { mapping } = await ctx.hashmap.createMapping(
          CreateMappingRequest.fromPartial({
            ...(await parentOf(ctx, o)),
            value: o.value ?? "",
            type: typeOf(o.type ?? "flat"),
            cost: o.cost ?? "",
            groupId: (await groupOf(ctx, o.group)) ?? "",
            tenantId: o.tenant ?? "",
            start: o.start,
            end: o.end,
            name: o.name ?? "",
            description: o.description ?? "",
            force: o.force === true,
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

interface ThresholdOptions {
  level?: string;
  cost?: string;
  type?: string;
  group?: string;
  format: "table" | "json";
}

function registerThresholds(hashmap: Command): void {
  const thresholds = hashmap.command("thresholds").description("Hashmap thresholds: a price from a level of the quantity or of a field on");
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

export function register(hashmap: Command): void {
  registerMappings(hashmap);
  registerThresholds(hashmap);
}
