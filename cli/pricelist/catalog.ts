/**
 * The hashmap price list as stored in rating, read through HashmapService:
 * services, fields, groups, and their live (not deleted) mappings and
 * thresholds, with names for ids. Commands take a service, field or group by
 * id or by name (a field as `service/field`).
 */
import {
  type HashField,
  type HashGroup,
  type HashMapping,
  type HashService,
  type HashThreshold,
  ListMappingsRequest,
  ListThresholdsRequest,
  MappingType,
} from "../../libs/gen/ratemesh/v1/rating.js";
import type { Context } from "../context.js";
import { CliError } from "../errors.js";
import { allPages } from "../paging.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE = 1000;

export interface Catalog {
  services: HashService[];
  fields: HashField[];
  groups: HashGroup[];
  serviceName: Map<string, string>;
  /** field id -> "service/field". */
  fieldPath: Map<string, string>;
  groupName: Map<string, string>;
}

export async function loadCatalog(ctx: Context): Promise<Catalog> {
  const h = ctx.hashmap;
  const [services, fields, groups] = await Promise.all([
    allPages(async (pageToken) => {
      const r = await h.listServices({ name: "", pageSize: PAGE, pageToken });
      return { items: r.services, next: r.nextPageToken };
    }),
    allPages(async (pageToken) => {
      const r = await h.listFields({ serviceId: "", pageSize: PAGE, pageToken });
      return { items: r.fields, next: r.nextPageToken };
    }),
    allPages(async (pageToken) => {
      const r = await h.listGroups({ pageSize: PAGE, pageToken });
      return { items: r.groups, next: r.nextPageToken };
    }),
  ]);
  const serviceName = new Map(services.map((s) => [s.serviceId, s.name]));
  return {
    services,
    fields,
    groups,
    serviceName,
    fieldPath: new Map(fields.map((f) => [f.fieldId, `${serviceName.get(f.serviceId) ?? f.serviceId}/${f.name}`])),
    groupName: new Map(groups.map((g) => [g.groupId, g.name])),
  };
}

export function listMappings(ctx: Context, filter: Partial<ListMappingsRequest> = {}): Promise<HashMapping[]> {
  return allPages(async (pageToken) => {
    const r = await ctx.hashmap.listMappings(ListMappingsRequest.fromPartial({ ...filter, pageSize: PAGE, pageToken }));
    return { items: r.mappings, next: r.nextPageToken };
  });
}

export function listThresholds(ctx: Context, filter: Partial<ListThresholdsRequest> = {}): Promise<HashThreshold[]> {
  return allPages(async (pageToken) => {
    const r = await ctx.hashmap.listThresholds(ListThresholdsRequest.fromPartial({ ...filter, pageSize: PAGE, pageToken }));
    return { items: r.thresholds, next: r.nextPageToken };
  });
}

export async function serviceIdOf(ctx: Context, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const { services } = await ctx.hashmap.listServices({ name: ref, pageSize: 1, pageToken: "" });
  const found = services[0];
  if (found === undefined) throw new CliError("not_found", `hashmap service ${JSON.stringify(ref)} not found`);
  return found.serviceId;
}

/** A field by id, or as `service/field`. */
export async function fieldIdOf(ctx: Context, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const slash = ref.lastIndexOf("/");
  if (slash <= 0)
    throw new CliError("invalid_argument", `field ${JSON.stringify(ref)}: give its id or service/field (e.g. instance/flavor_name)`);
  const serviceId = await serviceIdOf(ctx, ref.slice(0, slash));
  const name = ref.slice(slash + 1);
  const fields = await allPages(async (pageToken) => {
    const r = await ctx.hashmap.listFields({ serviceId, pageSize: PAGE, pageToken });
    return { items: r.fields, next: r.nextPageToken };
  });
  const found = fields.find((f) => f.name === name);
  if (found === undefined) throw new CliError("not_found", `field ${JSON.stringify(ref)} not found`);
  return found.fieldId;
}

export async function groupIdOf(ctx: Context, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const groups = await allPages(async (pageToken) => {
    const r = await ctx.hashmap.listGroups({ pageSize: PAGE, pageToken });
    return { items: r.groups, next: r.nextPageToken };
  });
  const found = groups.find((g) => g.name === ref);
  if (found === undefined) throw new CliError("not_found", `group ${JSON.stringify(ref)} not found`);
  return found.groupId;
}

export function typeName(t: MappingType): "flat" | "rate" {
  return t === MappingType.MAPPING_TYPE_RATE ? "rate" : "flat";
}

export function typeOf(name: string): MappingType {
  return name === "rate" ? MappingType.MAPPING_TYPE_RATE : MappingType.MAPPING_TYPE_FLAT;
}

/** The service or field a mapping or threshold belongs to, by name. */
export function parentName(c: Catalog, x: { serviceId: string; fieldId: string }): string {
  return x.fieldId !== "" ? (c.fieldPath.get(x.fieldId) ?? x.fieldId) : (c.serviceName.get(x.serviceId) ?? x.serviceId);
}
