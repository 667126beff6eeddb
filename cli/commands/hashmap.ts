/**
 * `ratemesh hashmap services|fields|groups`: the structure of a hashmap
 * price list (CloudKitty's hashmap module). The prices themselves are in
 * hashmap-mappings.ts and hashmap-thresholds.ts, the whole list as one YAML
 * file in hashmap-file.ts.
 */
import type { Command } from "commander";
import { type HashField, type HashGroup, HashMapping, type HashService, HashThreshold } from "../../libs/gen/ratemesh/v1/rating.js";
import { action, type Context } from "../context.js";
import {
  deleteCommand,
  printsRecord,
  type RecordFormat,
  type RecordKind,
  recordFormatOption,
  renameCommand,
  showCommand,
  subcommand,
} from "../declare.js";
import { formatOption } from "../options.js";
import { type Format, renderRecord, renderRows } from "../output.js";
import { fieldIdOf, groupIdOf, loadCatalog, serviceIdOf } from "../pricelist/catalog.js";
import { MAPPING_COLUMNS, mappingRows, THRESHOLD_COLUMNS, thresholdRows } from "./hashmap-rows.js";

/** A kind whose records print as the record `fields` makes of them. */
function kind<T>(
  noun: string,
  arg: readonly [string, string],
  sample: string,
  idOf: (ctx: Context, ref: string) => Promise<string>,
  fields: (r: T | undefined) => Record<string, unknown>,
): RecordKind<T> {
  return { noun, arg, sample, idOf, print: (ctx, format, r) => ctx.write(renderRecord(format, fields(r))) };
}

const SERVICE = kind<HashService>("service", ["<service>", "id or name"], "volume.size", serviceIdOf, (s) => ({
  service_id: s?.serviceId,
  name: s?.name,
}));
const FIELD = kind<HashField>("field", ["<field>", "id or service/field"], "instance/flavor_name", fieldIdOf, (f) => ({
  field_id: f?.fieldId,
  service_id: f?.serviceId,
  name: f?.name,
}));
const GROUP = kind<HashGroup>("group", ["<group>", "id or name"], "instance_uptime", groupIdOf, (g) => ({
  group_id: g?.groupId,
  name: g?.name,
}));

function registerServices(hashmap: Command): void {
  const services = subcommand(hashmap, "services", "Hashmap services: one per rating type they price", "ratemesh hashmap services list");
  subcommand(services, "list", "List hashmap services", "ratemesh hashmap services list")
    .addOption(formatOption())
    .action(
      action(async (ctx, o: { format: Format }) => {
        const { services: list } = await loadCatalog(ctx);
        const rows = list.map((s) => ({ service_id: s.serviceId, name: s.name }));
        await ctx.write(renderRows(o.format, [{ key: "service_id" }, { key: "name" }], rows));
      }),
    );
  showCommand(services, SERVICE, async (ctx, serviceId) => (await ctx.hashmap.getService({ serviceId })).service);
  subcommand(services, "create", "Create a service", "ratemesh hashmap services create volume.size")
    .argument("<name>", "the rating type it prices (a metric's alt_name)")
    .addOption(recordFormatOption())
    .action(printsRecord(SERVICE, async (ctx, _o: object, name: string) => (await ctx.hashmap.createService({ name })).service));
  renameCommand(services, SERVICE, "ratemesh hashmap services update image.size --name image.download", async (ctx, serviceId, name) => {
    return (await ctx.hashmap.updateService({ serviceId, name })).service;
  });
  const remove = "Delete a service with its fields, mappings and thresholds";
  deleteCommand(services, SERVICE, remove, "ratemesh hashmap services delete image.size", (ctx, serviceId) =>
    ctx.hashmap.deleteService({ serviceId }),
  );
}

function registerFields(hashmap: Command): void {
  const about = "Hashmap fields: the point attributes a service's prices depend on";
  const fields = subcommand(hashmap, "fields", about, "ratemesh hashmap fields list --service instance");
  subcommand(fields, "list", "List fields, of one service or of all", "ratemesh hashmap fields list --service instance")
    .option("--service <service>", "only this service's fields (id or name)")
    .addOption(formatOption())
    .action(
      action(async (ctx, o: { service?: string; format: Format }) => {
        const c = await loadCatalog(ctx);
        const only = o.service === undefined ? undefined : await serviceIdOf(ctx, o.service);
        const rows = c.fields
          .filter((f) => only === undefined || f.serviceId === only)
          .map((f) => ({ field_id: f.fieldId, service: c.serviceName.get(f.serviceId) ?? f.serviceId, name: f.name }));
        await ctx.write(renderRows(o.format, [{ key: "field_id" }, { key: "service" }, { key: "name" }], rows));
      }),
    );
  showCommand(fields, FIELD, async (ctx, fieldId) => (await ctx.hashmap.getField({ fieldId })).field);
  subcommand(fields, "create", "Create a field of a service", "ratemesh hashmap fields create instance flavor_name")
    .argument("<service>", "id or name")
    .argument("<name>", "the attribute (a groupby or metadata key)")
    .addOption(recordFormatOption())
    .action(
      printsRecord(FIELD, async (ctx, _o: object, service: string, name: string) => {
        const { field } = await ctx.hashmap.createField({ serviceId: await serviceIdOf(ctx, service), name });
        return field;
      }),
    );
  renameCommand(fields, FIELD, "ratemesh hashmap fields update instance/flavor --name flavor_name", async (ctx, fieldId, name) => {
    return (await ctx.hashmap.updateField({ fieldId, name })).field;
  });
  const remove = "Delete a field with its mappings and thresholds";
  deleteCommand(fields, FIELD, remove, "ratemesh hashmap fields delete instance/flavor_name", (ctx, fieldId) =>
    ctx.hashmap.deleteField({ fieldId }),
  );
}

function registerGroups(hashmap: Command): void {
  const about = "Hashmap groups: rules in one group are combined, groups are added up";
  const groups = subcommand(hashmap, "groups", about, "ratemesh hashmap groups list");
  subcommand(groups, "list", "List groups", "ratemesh hashmap groups list")
    .addOption(formatOption())
    .action(
      action(async (ctx, o: { format: Format }) => {
        const { groups: list } = await loadCatalog(ctx);
        await ctx.write(
          renderRows(
            o.format,
            [{ key: "group_id" }, { key: "name" }],
            list.map((g) => ({ group_id: g.groupId, name: g.name })),
          ),
        );
      }),
    );
  subcommand(groups, "show", "One group with its mappings and thresholds", "ratemesh hashmap groups show instance_uptime")
    .argument(...GROUP.arg)
    .addOption(recordFormatOption())
    .action(
      action(async (ctx, o: { format: RecordFormat }, ref: string) => {
        const res = await ctx.hashmap.getGroup({ groupId: await groupIdOf(ctx, ref) });
        if (o.format === "json") {
          const record = { group_id: res.group?.groupId, name: res.group?.name };
          const mappings = res.mappings.map((m) => HashMapping.toJSON(m));
          await ctx.write(renderRecord("json", { ...record, mappings, thresholds: res.thresholds.map((t) => HashThreshold.toJSON(t)) }));
          return;
        }
        const c = await loadCatalog(ctx);
        await GROUP.print(ctx, "table", res.group);
        await ctx.write(`\nmappings:\n${renderRows("table", MAPPING_COLUMNS, mappingRows(c, res.mappings, true), 28)}`);
        await ctx.write(`\nthresholds:\n${renderRows("table", THRESHOLD_COLUMNS, thresholdRows(c, res.thresholds), 28)}`);
      }),
    );
  subcommand(groups, "create", "Create a group", "ratemesh hashmap groups create instance_uptime")
    .argument("<name>")
    .addOption(recordFormatOption())
    .action(printsRecord(GROUP, async (ctx, _o: object, name: string) => (await ctx.hashmap.createGroup({ name })).group));
  renameCommand(groups, GROUP, "ratemesh hashmap groups update uptime --name instance_uptime", async (ctx, groupId, name) => {
    return (await ctx.hashmap.updateGroup({ groupId, name })).group;
  });
  deleteCommand(
    groups,
    GROUP,
    "Delete a group",
    "ratemesh hashmap groups delete instance_uptime --recursive",
    (ctx, groupId, o: { recursive?: boolean }) => ctx.hashmap.deleteGroup({ groupId, recursive: o.recursive === true }),
  ).option("--recursive", "delete its mappings and thresholds too (without it they move to the default group)");
}

/** `ratemesh hashmap` and its structural subcommands; returns the group for the other hashmap modules. */
export function register(program: Command): Command {
  const hashmap = subcommand(
    program,
    "hashmap",
    "Hashmap price lists: services, fields, groups, mappings, thresholds, and the whole list as YAML",
    "ratemesh hashmap export -o prices.yaml",
    "ratemesh hashmap import prices.yaml --dry-run",
  );
  registerServices(hashmap);
  registerFields(hashmap);
  registerGroups(hashmap);
  return hashmap;
}
