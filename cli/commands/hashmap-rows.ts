/**
 * What the hashmap mapping and threshold commands share: their table
 * columns and rows (names shown for ids), their list command with its filter
 * options, the price options of their updates, and how --service, --field
 * and --group are resolved.
 */
import { type Command, Option } from "commander";
import { HashMapping, HashThreshold } from "../../libs/gen/ratemesh/v1/rating.js";
import { action, type Context } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { CliError } from "../errors.js";
import { formatOption, given, parseDecimalArg } from "../options.js";
import { type Column, type Format, type Row, renderMessages } from "../output.js";
import { type Catalog, fieldIdOf, groupIdOf, loadCatalog, parentName, serviceIdOf, typeName, typeOf } from "../pricelist/catalog.js";

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

/** The price options of a mapping or threshold: --cost, --type and --group. */
export interface PriceOptions {
  cost?: string;
  type?: string;
  group?: string;
}

/** The options of a new mapping or threshold that both have. */
export interface NewRuleOptions extends PriceOptions {
  service?: string;
  field?: string;
  tenant?: string;
}

/** The parent, price, group and project of a new mapping or threshold. */
export async function newRuleOf(ctx: Context, o: NewRuleOptions) {
  return {
    ...(await parentOf(ctx, o)),
    type: typeOf(o.type ?? "flat"),
    cost: o.cost ?? "",
    groupId: (await groupOf(ctx, o.group)) ?? "",
    tenantId: o.tenant ?? "",
  };
}

/** The price and group changes an update of a mapping or threshold asks for (only the options given). */
export async function priceChangesOf(ctx: Context, o: PriceOptions) {
  const groupId = await groupOf(ctx, o.group);
  return {
    ...given(o, "cost"),
    ...(o.type !== undefined && { type: typeOf(o.type) }),
    ...(groupId !== undefined && { groupId }),
  };
}

/** The options of an update that changes a price: --cost, --type and --group (see priceChangesOf). */
export function priceUpdateOptions(cmd: Command): Command {
  return cmd
    .option("--cost <decimal>", "new cost", parseDecimalArg)
    .addOption(typeOption())
    .option("--group <group>", "new group (id or name; '' for none)");
}

/** How a list of mappings or thresholds is shown: table columns, rows with names for ids, and each one's JSON. */
export interface PriceTable<T> {
  columns: Column[];
  rows: (c: Catalog, items: T[], table: boolean) => Row[];
  toJSON: (item: T) => unknown;
}

export const MAPPING_TABLE: PriceTable<HashMapping> = { columns: MAPPING_COLUMNS, rows: mappingRows, toJSON: (m) => HashMapping.toJSON(m) };
export const THRESHOLD_TABLE: PriceTable<HashThreshold> = {
  columns: THRESHOLD_COLUMNS,
  rows: (c, ts) => thresholdRows(c, ts),
  toJSON: (t) => HashThreshold.toJSON(t),
};

/** `list` of mappings or thresholds: the filter options, then `extra`, then -f; `list` gets the filter and the options. */
export function priceListCommand<T, O>(
  cmd: Command,
  extra: Option[],
  shown: PriceTable<T>,
  list: (ctx: Context, filter: Awaited<ReturnType<typeof filterOf>>, o: O) => Promise<T[]>,
): Command {
  const withOptions = extra.reduce((c, option) => c.addOption(option), filterOptions(cmd));
  return withOptions.addOption(formatOption()).action(
    action(async (ctx, o: Filters & O & { format: Format }) => {
      const [c, items] = await Promise.all([loadCatalog(ctx), filterOf(ctx, o).then((f) => list(ctx, f, o))]);
      await ctx.write(renderMessages(o.format, items, shown.toJSON, shown.columns, (xs) => shown.rows(c, xs, o.format === "table")));
    }),
  );
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

export const typeOption = () =>
  new Option("--type <type>", "flat: a price per unit (or an added amount); rate: a multiplier").choices(["flat", "rate"]);
