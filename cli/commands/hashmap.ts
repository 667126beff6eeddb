/**
 * `ratemesh hashmap services|fields|groups`: the structure of a hashmap
 * price list (CloudKitty's hashmap module). The prices themselves are in
 * hashmap-mappings.ts and hashmap-thresholds.ts, the whole list as one YAML
 * file in hashmap-file.ts.
 */
import type { Command } from "commander";
import { HashMapping, HashThreshold } from "../../libs/gen/ratemesh/v1/rating.js";
import { action, type Context } from "../context.js";
import { examples, formatOption } from "../options.js";
import { type Format, renderRecord, renderRows } from "../output.js";
import { fieldIdOf, groupIdOf, loadCatalog, serviceIdOf } from "../pricelist/catalog.js";
import { MAPPING_COLUMNS, mappingRows, THRESHOLD_COLUMNS, thresholdRows } from "./hashmap-rows.js";

type RecordFormat = "table" | "json";

async function printRecord(ctx: Context, format: RecordFormat, record: Record<string, unknown>): Promise<void> {
  await ctx.write(renderRecord(format, record));
}

function registerServices(hashmap: Command): void {
  const services = hashmap
    .command("services")
    .description("Hashmap services: one per rating type they price")
    .addHelpText("after", examples("ratemesh hashmap services list"));
  services
    .command("list")
    .description("List hashmap services")
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh hashmap services list"))
    .action(
      action(async (ctx, o: { format: Format }) => {
        const { services: list } = await loadCatalog(ctx);
        await ctx.write(
          renderRows(
            o.format,
            [{ key: "service_id" }, { key: "name" }],
            list.map((s) => ({ service_id: s.serviceId, name: s.name })),
          ),
        );
      }),
    );
  services
    .command("show")
    .argument("<service>", "id or name")
    .description("One service")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap services show volume.size"))
    .action(
      action(async (ctx, o: { format: RecordFormat }, ref: string) => {
        const { service } = await ctx.hashmap.getService({ serviceId: await serviceIdOf(ctx, ref) });
        await printRecord(ctx, o.format, { service_id: service?.serviceId, name: service?.name });
      }),
    );
  services
    .command("create")
    .argument("<name>", "the rating type it prices (a metric's alt_name)")
    .description("Create a service")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap services create volume.size"))
    .action(
      action(async (ctx, o: { format: RecordFormat }, name: string) => {
        const { service } = await ctx.hashmap.createService({ name });
        await printRecord(ctx, o.format, { service_id: service?.serviceId, name: service?.name });
      }),
    );
  services
    .command("update")
    .argument("<service>", "id or name")
    .requiredOption("--name <name>", "new name")
    .description("Rename a service")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap services update image.size --name image.download"))
    .action(
      action(async (ctx, o: { name: string; format: RecordFormat }, ref: string) => {
        const { service } = await ctx.hashmap.updateService({ serviceId: await serviceIdOf(ctx, ref), name: o.name });
        await printRecord(ctx, o.format, { service_id: service?.serviceId, name: service?.name });
      }),
    );
  services
    .command("delete")
    .argument("<service>", "id or name")
    .description("Delete a service with its fields, mappings and thresholds")
    .addHelpText("after", examples("ratemesh hashmap services delete image.size"))
    .action(
      action(async (ctx, _o: object, ref: string) => {
        const serviceId = await serviceIdOf(ctx, ref);
        await ctx.hashmap.deleteService({ serviceId });
        await ctx.write(`deleted service ${serviceId}\n`);
      }),
    );
}

function registerFields(hashmap: Command): void {
  const fields = hashmap
    .command("fields")
    .description("Hashmap fields: the point attributes a service's prices depend on")
    .addHelpText("after", examples("ratemesh hashmap fields list --service instance"));
  const fieldRecord = (f: { fieldId: string; serviceId: string; name: string } | undefined) => ({
    field_id: f?.fieldId,
    service_id: f?.serviceId,
    name: f?.name,
  });
  fields
    .command("list")
    .description("List fields, of one service or of all")
    .option("--service <service>", "only this service's fields (id or name)")
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh hashmap fields list --service instance"))
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
  fields
    .command("show")
    .argument("<field>", "id or service/field")
    .description("One field")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap fields show instance/flavor_name"))
    .action(
      action(async (ctx, o: { format: RecordFormat }, ref: string) => {
        const { field } = await ctx.hashmap.getField({ fieldId: await fieldIdOf(ctx, ref) });
        await printRecord(ctx, o.format, fieldRecord(field));
      }),
    );
  fields
    .command("create")
    .argument("<service>", "id or name")
    .argument("<name>", "the attribute (a groupby or metadata key)")
    .description("Create a field of a service")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap fields create instance flavor_name"))
    .action(
      action(async (ctx, o: { format: RecordFormat }, service: string, name: string) => {
        const { field } = await ctx.hashmap.createField({ serviceId: await serviceIdOf(ctx, service), name });
        await printRecord(ctx, o.format, fieldRecord(field));
      }),
    );
  fields
    .command("update")
    .argument("<field>", "id or service/field")
    .requiredOption("--name <name>", "new name")
    .description("Rename a field")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap fields update instance/flavor --name flavor_name"))
    .action(
      action(async (ctx, o: { name: string; format: RecordFormat }, ref: string) => {
        const { field } = await ctx.hashmap.updateField({ fieldId: await fieldIdOf(ctx, ref), name: o.name });
        await printRecord(ctx, o.format, fieldRecord(field));
      }),
    );
  fields
    .command("delete")
    .argument("<field>", "id or service/field")
    .description("Delete a field with its mappings and thresholds")
    .addHelpText("after", examples("ratemesh hashmap fields delete instance/flavor_name"))
    .action(
      action(async (ctx, _o: object, ref: string) => {
        const fieldId = await fieldIdOf(ctx, ref);
        await ctx.hashmap.deleteField({ fieldId });
        await ctx.write(`deleted field ${fieldId}\n`);
      }),
    );
}

function registerGroups(hashmap: Command): void {
  const groups = hashmap
    .command("groups")
    .description("Hashmap groups: rules in one group are combined, groups are added up")
    .addHelpText("after", examples("ratemesh hashmap groups list"));
  const groupRecord = (g: { groupId: string; name: string } | undefined) => ({ group_id: g?.groupId, name: g?.name });
  groups
    .command("list")
    .description("List groups")
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh hashmap groups list"))
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
  groups
    .command("show")
    .argument("<group>", "id or name")
    .description("One group with its mappings and thresholds")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap groups show instance_uptime"))
    .action(
      action(async (ctx, o: { format: RecordFormat }, ref: string) => {
        const res = await ctx.hashmap.getGroup({ groupId: await groupIdOf(ctx, ref) });
        if (o.format === "json") {
          await printRecord(ctx, "json", {
            ...groupRecord(res.group),
            mappings: res.mappings.map((m) => HashMapping.toJSON(m)),
            thresholds: res.thresholds.map((t) => HashThreshold.toJSON(t)),
          });
          return;
        }
        const c = await loadCatalog(ctx);
        await printRecord(ctx, "table", groupRecord(res.group));
        await ctx.write(`\nmappings:\n${renderRows("table", MAPPING_COLUMNS, mappingRows(c, res.mappings, true), 28)}`);
        await ctx.write(`\nthresholds:\n${renderRows("table", THRESHOLD_COLUMNS, thresholdRows(c, res.thresholds), 28)}`);
      }),
    );
  groups
    .command("create")
    .argument("<name>")
    .description("Create a group")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap groups create instance_uptime"))
    .action(
      action(async (ctx, o: { format: RecordFormat }, name: string) => {
        const { group } = await ctx.hashmap.createGroup({ name });
        await printRecord(ctx, o.format, groupRecord(group));
      }),
    );
  groups
    .command("update")
    .argument("<group>", "id or name")
    .requiredOption("--name <name>", "new name")
    .description("Rename a group")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh hashmap groups update uptime --name instance_uptime"))
    .action(
      action(async (ctx, o: { name: string; format: RecordFormat }, ref: string) => {
        const { group } = await ctx.hashmap.updateGroup({ groupId: await groupIdOf(ctx, ref), name: o.name });
        await printRecord(ctx, o.format, groupRecord(group));
      }),
    );
  groups
    .command("delete")
    .argument("<group>", "id or name")
    .option("--recursive", "delete its mappings and thresholds too (without it they move to the default group)")
    .description("Delete a group")
    .addHelpText("after", examples("ratemesh hashmap groups delete instance_uptime --recursive"))
    .action(
      action(async (ctx, o: { recursive?: boolean }, ref: string) => {
        const groupId = await groupIdOf(ctx, ref);
        await ctx.hashmap.deleteGroup({ groupId, recursive: o.recursive === true });
        await ctx.write(`deleted group ${groupId}\n`);
      }),
    );
}

/** `ratemesh hashmap` and its structural subcommands; returns the group for the other hashmap modules. */
export function register(program: Command): Command {
  const hashmap = program
    .command("hashmap")
    .description("Hashmap price lists: services, fields, groups, mappings, thresholds, and the whole list as YAML")
    .addHelpText("after", examples("ratemesh hashmap export -o prices.yaml", "ratemesh hashmap import prices.yaml --dry-run"));
  registerServices(hashmap);
  registerFields(hashmap);
  registerGroups(hashmap);
  return hashmap;
}
