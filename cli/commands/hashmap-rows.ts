/**
 * What the hashmap mapping and threshold commands share: their table
 * columns and rows (names shown for ids), the filter options of their list
 * commands, and how --service, --field and --group are resolved.
 */
import { type Command, Option } from "commander";
import type { HashMapping, HashThreshold } from "../../libs/gen/ratemesh/v1/rating.js";
import type { Context } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { CliError } from "../errors.js";
import type { Column, Row } from "../output.js";
import { type Catalog, fieldIdOf, groupIdOf, parentName, serviceIdOf, typeName, typeOf } from "../pricelist/catalog.js";

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

export interface Filters {
  service?: string;
  field?: string;
  /** A group id or name, or false for --no-group. */
  group?: string | false;
  tenant?: string;
}

export async function filterOf(ctx: Context, o: Filters) {
  return {
    serviceId: o.service === undefined ? "" : await serviceIdOf(ctx, o.service),
    fieldId: o.field === undefined ? "" : await fieldIdOf(ctx, o.field),
    groupId: typeof o.group === "string" ? await groupIdOf(ctx, o.group) : "",
    noGroup: o.group === false,
    tenantId: o.tenant ?? "",
  };
}

/** service_id or field_id of a new rule, from --service or --field. */
export async function parentOf(ctx: Context, o: { service?: string; field?: string }) {
  if ((o.service === undefined) === (o.field === undefined)) throw new CliError("usage", "give exactly one of --service and --field");
  return {
    serviceId: o.service === undefined ? "" : await serviceIdOf(ctx, o.service),
    fieldId: o.field === undefined ? "" : await fieldIdOf(ctx, o.field),
  };
}

/** The options of a new mapping or threshold that both have. */
export interface NewRuleOptions {
  service?: string;
  field?: string;
  type?: string;
  cost?: string;
  group?: string;
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
export async function priceChangesOf(ctx: Context, o: { cost?: string; type?: string; group?: string }) {
  const groupId = await groupOf(ctx, o.group);
  return {
    ...(o.cost !== undefined && { cost: o.cost }),
    ...(o.type !== undefined && { type: typeOf(o.type) }),
    ...(groupId !== undefined && { groupId }),
  };
}

/** --group: a group id or name; "" (an empty name) moves the rule to the default group. */
export async function groupOf(ctx: Context, ref: string | undefined): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  return ref === "" ? "" : groupIdOf(ctx, ref);
}

export function filterOptions(cmd: Command): Command {
  return cmd
    .option("--service <service>", "only rules of this service (id or name)")
    .option("--field <field>", "only rules of this field (id or service/field)")
    .option("--group <group>", "only rules of this group (id or name)")
    .option("--no-group", "only rules without a group (the default group)")
    .option("--tenant <project>", "only this project's rules");
}

export const typeOption = () =>
  new Option("--type <type>", "flat: a price per unit (or an added amount); rate: a multiplier").choices(["flat", "rate"]);
