/**
 * What `hashmap import` changes to make rating's price list equal to a file,
 * as a list of steps that can be printed (--dry-run) or applied.
 *
 * Things are matched by name: services, `service/field`, groups. A mapping
 * is the same mapping when its parent, value, group, project and start are
 * the same (a mapping without a start in the file matches the one in force
 * now or later); a threshold when its parent, level and project are. What
 * matches with other attributes is updated, what the file lacks is deleted,
 * the rest is created; so importing the same file twice changes nothing the
 * second time.
 *
 * Steps run in an order that keeps every intermediate state valid: new
 * groups, services and fields first; then rule deletions (an old mapping
 * must go before a new one may overlap its window), updates, creations; then
 * the fields, services and groups the file no longer has. HashmapService has
 * no batch call, so an import that a service refuses half-way leaves the
 * steps before it applied; the file imported again after a fix continues.
 */
import type { HashMapping, HashThreshold, UpdateMappingRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import { Decimal } from "../../libs/money/decimal.js";
import type { Context } from "../context.js";
import { iso } from "../dates.js";
import { CliError } from "../errors.js";
import { type Catalog, listMappings, listThresholds, loadCatalog, parentName, typeName, typeOf } from "./catalog.js";
import type { MappingEntry, PriceList, ServiceEntry, ThresholdEntry } from "./document.js";
import { formatTiers, formatTimeOfUse, parseTiers, parseTimeOfUse } from "./shapes.js";
import type { StartChoice } from "./start.js";

/** Ids by name, filled as the import creates things. */
export interface Ids {
  service: Map<string, string>;
  field: Map<string, string>;
  group: Map<string, string>;
}

export interface Step {
  sign: "+" | "~" | "-";
  text: string;
  run: (ctx: Context, ids: Ids, force: boolean) => Promise<void>;
}

export interface Stored {
  catalog: Catalog;
  ids: Ids;
  list: PriceList;
  mappingIds: Map<MappingEntry, string>;
  thresholdIds: Map<ThresholdEntry, string>;
}

function mappingEntry(c: Catalog, m: HashMapping): MappingEntry {
  const e: MappingEntry = { type: typeName(m.type), cost: m.cost, start: iso(m.start) };
  if (m.value !== "") e.value = m.value;
  if (m.groupId !== "") e.group = c.groupName.get(m.groupId) ?? m.groupId;
  if (m.tenantId !== "") e.tenant = m.tenantId;
  if (m.end !== undefined) e.end = iso(m.end);
  if (m.name !== "") e.name = m.name;
  if (m.description !== "") e.description = m.description;
  if (m.tiers !== undefined) e.tiers = formatTiers(m.tiers);
  if (m.timeOfUse !== undefined) e.time_of_use = formatTimeOfUse(m.timeOfUse);
  return e;
}

/** The one-line form (shapes.ts) as a message; the document reader checked it already. */
function shape<T>(text: string | undefined, parse: (t: string) => T | string): T | undefined {
  if (text === undefined) return undefined;
  const x = parse(text);
  return typeof x === "string" ? undefined : x;
}

function thresholdEntry(c: Catalog, t: HashThreshold): ThresholdEntry {
  const e: ThresholdEntry = { level: t.level, type: typeName(t.type), cost: t.cost };
  if (t.groupId !== "") e.group = c.groupName.get(t.groupId) ?? t.groupId;
  if (t.tenantId !== "") e.tenant = t.tenantId;
  return e;
}

/** The live price list as rating has it, in the file's shape, with the ids of its rules. */
export async function loadStored(ctx: Context): Promise<Stored> {
  const [catalog, mappings, thresholds] = await Promise.all([loadCatalog(ctx), listMappings(ctx), listThresholds(ctx)]);
  const mappingIds = new Map<MappingEntry, string>();
  const thresholdIds = new Map<ThresholdEntry, string>();
  const services = catalog.services.map((s) => {
    const own = <T extends { serviceId: string; fieldId: string }>(xs: T[], fieldId: string) =>
      xs.filter((x) => (fieldId === "" ? x.serviceId === s.serviceId : x.fieldId === fieldId));
    const rulesOf = (fieldId: string) => ({
      mappings: own(mappings, fieldId).map((m) => {
        const e = mappingEntry(catalog, m);
        mappingIds.set(e, m.mappingId);
        return e;
      }),
      thresholds: own(thresholds, fieldId).map((t) => {
        const e = thresholdEntry(catalog, t);
        thresholdIds.set(e, t.thresholdId);
        return e;
      }),
    });
    const fields = catalog.fields.filter((f) => f.serviceId === s.serviceId).map((f) => ({ name: f.name, ...rulesOf(f.fieldId) }));
    return { name: s.name, ...rulesOf(""), fields };
  });
  const ids: Ids = {
    service: new Map(catalog.services.map((s) => [s.name, s.serviceId])),
    field: new Map(catalog.fields.map((f) => [parentName(catalog, { serviceId: "", fieldId: f.fieldId }), f.fieldId])),
    group: new Map(catalog.groups.map((g) => [g.name, g.groupId])),
  };
  return { catalog, ids, list: { groups: catalog.groups.map((g) => g.name), services }, mappingIds, thresholdIds };
}

function need(map: Map<string, string>, key: string, what: string): string {
  const id = map.get(key);
  if (id === undefined) throw new CliError("not_found", `${what} ${JSON.stringify(key)} has no id (it was not created)`);
  return id;
}

const sameDecimal = (a: string, b: string) => Decimal.parse(a).eq(Decimal.parse(b));
const identity = (m: MappingEntry) => JSON.stringify([m.value ?? "", m.group ?? "", m.tenant ?? ""]);

function mappingLabel(parent: string, m: MappingEntry, from = "now"): string {
  const tags = [m.group && `group ${m.group}`, m.tenant && `tenant ${m.tenant}`].filter(Boolean).join(", ");
  return `mapping ${parent}${m.value === undefined ? "" : `=${m.value}`}${tags ? ` (${tags})` : ""} from ${m.start ?? from}`;
}

function thresholdLabel(parent: string, t: ThresholdEntry): string {
  return `threshold ${parent} level ${t.level}${t.tenant ? ` (tenant ${t.tenant})` : ""}`;
}

interface Rules {
  mappings: MappingEntry[];
  thresholds: ThresholdEntry[];
}

class Planner {
  readonly adds: Step[] = [];
  readonly ruleDeletes: Step[] = [];
  readonly updates: Step[] = [];
  readonly ruleAdds: Step[] = [];
  readonly removals: Step[] = [];

  constructor(
    private readonly stored: Stored,
    private readonly now: Date,
    /** Where mappings the file gives no start begin. */
    private readonly start: StartChoice,
  ) {}

  rules(parent: string, want: Rules, have: Rules, where: string): void {
    this.mappings(parent, want.mappings, have.mappings, where);
    this.thresholds(parent, want.thresholds, have.thresholds);
  }

  private parentIds(ids: Ids, parent: string) {
    return parent.includes("/")
      ? { serviceId: "", fieldId: need(ids.field, parent, "field") }
      : { serviceId: need(ids.service, parent, "service"), fieldId: "" };
  }

  /** A deletion for each stored rule the file no longer has. */
  private deleteRest<E extends { type: string; cost: string }>(
    rest: Iterable<E>,
    ids: Map<E, string>,
    label: (rule: E) => string,
    remove: (ctx: Context, id: string) => Promise<unknown>,
  ): void {
    for (const h of rest) {
      const id = ids.get(h) as string;
      this.ruleDeletes.push({
        sign: "-",
        text: `${label(h)}: ${h.type} ${h.cost}`,
        run: async (ctx) => {
          await remove(ctx, id);
        },
      });
    }
  }

  private mappings(parent: string, want: MappingEntry[], have: MappingEntry[], where: string): void {
    const left = new Set(have);
    want.forEach((m, i) => {
      const candidates = have.filter((h) => left.has(h) && identity(h) === identity(m));
      const match =
        m.start !== undefined
          ? candidates.find((h) => h.start === m.start)
          : candidates.find((h) => h.end === undefined || new Date(h.end) > this.now);
      if (match === undefined) {
        this.ruleAdds.push({
          sign: "+",
          text: `${mappingLabel(parent, m, this.start.label)}: ${m.type} ${m.cost}${m.end ? ` until ${m.end}` : ""}`,
          run: async (ctx, ids, force) => {
            await ctx.hashmap.createMapping({
              ...this.parentIds(ids, parent),
              value: m.value ?? "",
              type: typeOf(m.type),
              cost: m.cost,
              groupId: m.group === undefined ? "" : need(ids.group, m.group, "group"),
              tenantId: m.tenant ?? "",
              start: m.start === undefined ? this.start.start : new Date(m.start),
              end: m.end === undefined ? undefined : new Date(m.end),
              name: m.name ?? "",
              description: m.description ?? "",
              force: force || (m.start === undefined && this.start.force),
              tiers: shape(m.tiers, parseTiers),
              timeOfUse: shape(m.time_of_use, parseTimeOfUse),
            });
          },
        });
        return;
      }
      left.delete(match);
      if (m.end === undefined && match.end !== undefined) {
        throw new CliError(
          "invalid_argument",
          `${where}.mappings[${i}].end: the stored mapping ends at ${match.end} and an end cannot be removed; give that end, or a new mapping from then on`,
        );
      }
      const changes: string[] = [];
      const req: UpdateMappingRequest = { mappingId: this.stored.mappingIds.get(match) as string };
      const changed = (key: string, from: string | undefined, to: string | undefined) => {
        changes.push(`${key} ${from || "(none)"} -> ${to || "(none)"}`);
        return true;
      };
      if (m.type !== match.type && changed("type", match.type, m.type)) req.type = typeOf(m.type);
      if (!sameDecimal(m.cost, match.cost) && changed("cost", match.cost, m.cost)) req.cost = m.cost;
      if (m.end !== match.end && changed("end", match.end, m.end) && m.end !== undefined) req.end = new Date(m.end);
      if ((m.name ?? "") !== (match.name ?? "") && changed("name", match.name, m.name)) req.name = m.name ?? "";
      if ((m.description ?? "") !== (match.description ?? "") && changed("description", match.description, m.description)) {
        req.description = m.description ?? "";
      }
      if ((m.tiers ?? "") !== (match.tiers ?? "") && changed("tiers", match.tiers, m.tiers)) req.tiers = shape(m.tiers, parseTiers);
      if ((m.time_of_use ?? "") !== (match.time_of_use ?? "") && changed("time_of_use", match.time_of_use, m.time_of_use)) {
        req.timeOfUse = shape(m.time_of_use, parseTimeOfUse);
      }
      if (changes.length === 0) return;
      this.updates.push({
        sign: "~",
        text: `${mappingLabel(parent, match)}: ${changes.join(", ")}`,
        run: async (ctx) => {
          await ctx.hashmap.updateMapping(req);
        },
      });
    });
    this.deleteRest(
      left,
      this.stored.mappingIds,
      (h) => mappingLabel(parent, h),
      (ctx, mappingId) => ctx.hashmap.deleteMapping({ mappingId }),
    );
  }

  private thresholds(parent: string, want: ThresholdEntry[], have: ThresholdEntry[]): void {
    const left = new Set(have);
    for (const t of want) {
      const match = have.find((h) => left.has(h) && sameDecimal(h.level, t.level) && (h.tenant ?? "") === (t.tenant ?? ""));
      if (match === undefined) {
        this.ruleAdds.push({
          sign: "+",
          text: `${thresholdLabel(parent, t)}: ${t.type} ${t.cost}${t.group ? ` (group ${t.group})` : ""}`,
          run: async (ctx, ids) => {
            await ctx.hashmap.createThreshold({
              ...this.parentIds(ids, parent),
              level: t.level,
              type: typeOf(t.type),
              cost: t.cost,
              groupId: t.group === undefined ? "" : need(ids.group, t.group, "group"),
              tenantId: t.tenant ?? "",
            });
          },
        });
        continue;
      }
      left.delete(match);
      const changes: string[] = [];
      if (t.type !== match.type) changes.push(`type ${match.type} -> ${t.type}`);
      if (!sameDecimal(t.cost, match.cost)) changes.push(`cost ${match.cost} -> ${t.cost}`);
      if ((t.group ?? "") !== (match.group ?? "")) changes.push(`group ${match.group ?? "(none)"} -> ${t.group ?? "(none)"}`);
      if (changes.length === 0) continue;
      const id = this.stored.thresholdIds.get(match) as string;
      this.updates.push({
        sign: "~",
        text: `${thresholdLabel(parent, match)}: ${changes.join(", ")}`,
        run: async (ctx, ids) => {
          await ctx.hashmap.updateThreshold({
            thresholdId: id,
            type: typeOf(t.type),
            cost: t.cost,
            groupId: t.group === undefined ? "" : need(ids.group, t.group, "group"),
          });
        },
      });
    }
    const remove = (ctx: Context, thresholdId: string) => ctx.hashmap.deleteThreshold({ thresholdId });
    this.deleteRest(left, this.stored.thresholdIds, (h) => thresholdLabel(parent, h), remove);
  }
}

const NONE: Rules = { mappings: [], thresholds: [] };

function rulesIn(s: ServiceEntry): number {
  return [s, ...s.fields].reduce((n, x) => n + x.mappings.length + x.thresholds.length, 0);
}

export function planImport(stored: Stored, want: PriceList, now: Date, start: StartChoice): Step[] {
  const p = new Planner(stored, now, start);
  const have = stored.list;
  for (const g of want.groups.filter((g) => !have.groups.includes(g))) {
    p.adds.push({
      sign: "+",
      text: `group ${g}`,
      run: async (ctx, ids) => {
        ids.group.set(g, (await ctx.hashmap.createGroup({ name: g })).group?.groupId ?? "");
      },
    });
  }
  want.services.forEach((s, i) => {
    const hs = have.services.find((x) => x.name === s.name);
    if (hs === undefined) {
      p.adds.push({
        sign: "+",
        text: `service ${s.name}`,
        run: async (ctx, ids) => {
          ids.service.set(s.name, (await ctx.hashmap.createService({ name: s.name })).service?.serviceId ?? "");
        },
      });
    }
    p.rules(s.name, s, hs ?? NONE, `services[${i}]`);
    s.fields.forEach((f, j) => {
      const path = `${s.name}/${f.name}`;
      const hf = hs?.fields.find((x) => x.name === f.name);
      if (hf === undefined) {
        p.adds.push({
          sign: "+",
          text: `field ${path}`,
          run: async (ctx, ids) => {
            const { field } = await ctx.hashmap.createField({ serviceId: need(ids.service, s.name, "service"), name: f.name });
            ids.field.set(path, field?.fieldId ?? "");
          },
        });
      }
      p.rules(path, f, hf ?? NONE, `services[${i}].fields[${j}]`);
    });
    for (const hf of hs?.fields.filter((x) => !s.fields.some((f) => f.name === x.name)) ?? []) {
      const path = `${s.name}/${hf.name}`;
      p.removals.push({
        sign: "-",
        text: `field ${path} (with its ${hf.mappings.length} mappings and ${hf.thresholds.length} thresholds)`,
        run: async (ctx, ids) => {
          await ctx.hashmap.deleteField({ fieldId: need(ids.field, path, "field") });
        },
      });
    }
  });
  for (const hs of have.services.filter((x) => !want.services.some((s) => s.name === x.name))) {
    p.removals.push({
      sign: "-",
      text: `service ${hs.name} (with its ${hs.fields.length} fields and ${rulesIn(hs)} mappings and thresholds)`,
      run: async (ctx, ids) => {
        await ctx.hashmap.deleteService({ serviceId: need(ids.service, hs.name, "service") });
      },
    });
  }
  for (const g of have.groups.filter((g) => !want.groups.includes(g))) {
    p.removals.push({
      sign: "-",
      text: `group ${g}`,
      run: async (ctx, ids) => {
        await ctx.hashmap.deleteGroup({ groupId: need(ids.group, g, "group"), recursive: false });
      },
    });
  }
  return [...p.adds, ...p.ruleDeletes, ...p.updates, ...p.ruleAdds, ...p.removals];
}
